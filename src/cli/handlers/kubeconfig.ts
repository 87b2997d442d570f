/**
 * `kboot kubeconfig --cluster NAME`: fetches the cluster's admin kubeconfig from Secrets Manager
 * (`kboot/<cluster>/admin.conf`) and merges it, renamed for the cluster, into the kubeconfig
 * kubectl uses — or, with --print, writes it to stdout (the one place a secret goes to stdout, at
 * the user's explicit request). Logs say which file and context; never the content.
 *
 * Which version: the one the cluster record (table --table / KBOOT_TABLE, else "kboot") names,
 * recorded by the fenced write that marked the cluster initialized; AWSCURRENT only for a record
 * that names none (initialized by an earlier kboot). Two calls: GetItem, then GetSecretValue.
 * A record that cannot be read fails the command: reading AWSCURRENT instead would take what a
 * master that lost its lease may have written.
 */

import { existsSync } from 'node:fs';
import { z } from 'zod';
import { AwsClients } from '../../adapters/aws/clients.js';
import { DynamoDbClusterStore } from '../../adapters/aws/dynamodb-cluster-store.js';
import { awsErrorName } from '../../adapters/aws/errors.js';
import { SecretsJoinMaterialStore } from '../../adapters/aws/secrets-join-material.js';
import { AwsDeniedError, UsageError } from '../../core/errors.js';
import { DEFAULT_TABLE } from '../../domain/iam/scope.js';
import { validateClusterName } from '../../domain/identity/tags.js';
import { adminConfSecretId } from '../../domain/join/secret-ids.js';
import { entryNames, type KubeconfigEntries, parseAdminKubeconfig } from '../../domain/kubeconfig/admin.js';
import { mergeIntoKubeconfigFile } from '../../domain/kubeconfig/file.js';
import { renderKubeconfig } from '../../domain/kubeconfig/merge.js';
import { resolveKubeconfigPath } from '../../domain/kubeconfig/path.js';
import { adminConfVersion } from '../../domain/kubeconfig/version.js';
import type { ClusterRecord } from '../../domain/state/cluster-record.js';
import type { CommandContext } from '../context.js';

const optionsSchema = z.object({
  cluster: z.string(),
  context: z
    .string()
    .regex(/^[^\s\p{Cc}][^\p{Cc}]*$/u, {
      error: '--context must be a non-empty name without control characters',
    })
    .optional(),
  setCurrent: z.boolean().optional(),
  file: z.string().min(1, { error: '--file must not be empty' }).optional(),
  print: z.boolean().optional(),
});

export type KubeconfigOptions = z.input<typeof optionsSchema>;

function parseOptions(options: unknown): z.output<typeof optionsSchema> {
  const result = optionsSchema.safeParse(options);
  if (!result.success) {
    throw new UsageError(result.error.issues.map((issue) => issue.message).join('; '), {
      hint: "run 'kboot kubeconfig --help'",
    });
  }
  validateClusterName(result.data.cluster, '--cluster');
  if (result.data.print === true && (result.data.file !== undefined || result.data.setCurrent === true)) {
    throw new UsageError('--print writes to stdout, so it cannot be combined with --file or --set-current', {
      hint: 'drop --print to merge into a file, or drop --file and --set-current',
    });
  }
  return result.data;
}

export async function kubeconfig(options: KubeconfigOptions, ctx: CommandContext): Promise<void> {
  const opts = parseOptions(options);
  const logger = ctx.logger.child({ command: 'kubeconfig', cluster: opts.cluster });
  // --region, else AWS_REGION; else the SDK's own resolution (the AWS profile's region), whose
  // failure is a UsageError with a hint (src/adapters/aws/errors.ts).
  const region = ctx.region;
  if (region === '') {
    throw new UsageError('the AWS region is empty (--region or AWS_REGION)', {
      hint: 'pass --region REGION or set AWS_REGION to the region the cluster runs in',
    });
  }
  // Where to write is settled before any AWS call, so a bad environment fails fast.
  const target =
    opts.print === true
      ? undefined
      : resolveKubeconfigPath({ file: opts.file, env: ctx.env, cwd: process.cwd(), exists: existsSync });

  const secretId = adminConfSecretId(opts.cluster);
  const table = ctx.table ?? DEFAULT_TABLE;
  const clients = new AwsClients({ region, logger, env: ctx.env, traceFile: ctx.env.KBOOT_TRACE_AWS_CALLS });
  let entries: KubeconfigEntries;
  try {
    const dynamodb = await clients.dynamodb();
    const records = new DynamoDbClusterStore({ dynamodb, tableName: table });
    const record = await readRecord(records, opts.cluster, ctx.signal);
    const { versionId } = adminConfVersion(record, {
      cluster: opts.cluster,
      table,
      // The read succeeded, so the SDK has a region (from the profile, when not given).
      region: region ?? (await dynamodb.config.region()),
    });
    if (versionId === undefined)
      logger.info(
        { secretId, table },
        'the cluster record names no admin.conf version (initialized by an earlier kboot): reading AWSCURRENT',
      );
    const store = new SecretsJoinMaterialStore({ clients, logger, signal: ctx.signal });
    const adminConf = await store.readAdminConf(opts.cluster, versionId);
    logger.debug({ secretId, versionId }, 'fetched the admin kubeconfig');
    entries = {
      names: entryNames(opts.cluster, opts.context),
      admin: parseAdminKubeconfig(adminConf, `secret ${secretId}`),
    };
  } finally {
    clients.destroy();
  }

  if (target === undefined) {
    ctx.output.text(renderKubeconfig(entries).reveal());
    logger.info({ context: entries.names.context }, 'printed the kubeconfig to stdout');
    return;
  }
  const outcome = await mergeIntoKubeconfigFile(target.file, entries, {
    setCurrent: opts.setCurrent === true,
    clock: ctx.clock,
  });
  const facts = {
    file: outcome.file,
    fileFrom: target.from,
    context: entries.names.context,
    currentContext: outcome.currentContext,
  };
  if (outcome.modeTightened)
    logger.warn(
      { file: outcome.file },
      'restricted the kubeconfig to its owner (removed group and other access)',
    );
  if (!outcome.changed) {
    logger.info(facts, `kubeconfig already up to date: context ${entries.names.context} in ${outcome.file}`);
    return;
  }
  logger.info(
    { ...facts, changes: outcome.changes, backup: outcome.backup, created: outcome.created },
    `${outcome.created ? 'wrote' : 'merged'} context ${entries.names.context} into ${outcome.file}` +
      (outcome.currentContext === entries.names.context ? ' (current context)' : ''),
  );
}

/**
 * The cluster record; a denied read names what kubeconfig needs it for. kboot does not fall back
 * to AWSCURRENT: without the record it cannot tell the cluster's admin.conf from a late version a
 * master that lost its lease put there.
 */
async function readRecord(
  records: DynamoDbClusterStore,
  cluster: string,
  signal: AbortSignal,
): Promise<ClusterRecord | undefined> {
  try {
    return await records.readRecord(cluster, signal);
  } catch (error) {
    if (error instanceof AwsDeniedError && /^AccessDenied/.test(awsErrorName(error.cause) ?? '')) {
      throw new AwsDeniedError(
        `kboot kubeconfig needs dynamodb:GetItem on the cluster record of "${cluster}" in DynamoDB table ${records.tableName}, to read the admin.conf version the cluster recorded (${error.message})`,
        {
          cause: error.cause,
          hint: `grant it to the credentials in use: 'kboot iam-policy --role operator --cluster ${cluster}' prints a policy that has it`,
          details: { cluster, table: records.tableName, permission: 'dynamodb:GetItem' },
        },
      );
    }
    throw error;
  }
}
