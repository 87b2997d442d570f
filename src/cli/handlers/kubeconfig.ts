/**
 * `kboot kubeconfig --cluster NAME`: fetches the cluster's admin kubeconfig from Secrets Manager
 * (`kboot/<cluster>/admin.conf`) and merges it, renamed for the cluster, into the kubeconfig
 * kubectl uses — or, with --print, writes it to stdout (the one place a secret goes to stdout, at
 * the user's explicit request). Logs say which file and context; never the content.
 */

import { existsSync } from 'node:fs';
import { z } from 'zod';
import { AwsClients } from '../../adapters/aws/clients.js';
import { SecretsJoinMaterialStore } from '../../adapters/aws/secrets-join-material.js';
import { UsageError } from '../../core/errors.js';
import { validateClusterName } from '../../domain/identity/tags.js';
import { adminConfSecretId } from '../../domain/join/secret-ids.js';
import { entryNames, type KubeconfigEntries, parseAdminKubeconfig } from '../../domain/kubeconfig/admin.js';
import { mergeIntoKubeconfigFile } from '../../domain/kubeconfig/file.js';
import { renderKubeconfig } from '../../domain/kubeconfig/merge.js';
import { resolveKubeconfigPath } from '../../domain/kubeconfig/path.js';
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
  const clients = new AwsClients({ region, logger, env: ctx.env, traceFile: ctx.env.KBOOT_TRACE_AWS_CALLS });
  let entries: KubeconfigEntries;
  try {
    const store = new SecretsJoinMaterialStore({ clients, logger, signal: ctx.signal });
    const adminConf = await store.readAdminConf(opts.cluster);
    logger.debug({ secretId }, 'fetched the admin kubeconfig');
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
