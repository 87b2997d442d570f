/**
 * `kboot kubeconfig` end to end: the built binary against moto holding a published admin.conf
 * and a cluster record marked initialized under the bootstrap lease (naming that admin.conf
 * version), with HOME pointing at a temp dir whose kubeconfig already has two other clusters.
 */

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { after, afterEach, before, beforeEach, describe, it } from 'node:test';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import YAML from 'yaml';
import { AwsClients } from '../../src/adapters/aws/clients.js';
import { DynamoDbClusterStore } from '../../src/adapters/aws/dynamodb-cluster-store.js';
import { ensureTable } from '../../src/adapters/aws/dynamodb-table.js';
import { SecretsJoinMaterialStore } from '../../src/adapters/aws/secrets-join-material.js';
import { ExitCode } from '../../src/core/errors.js';
import { Secret } from '../../src/core/secrets.js';
import { publishedVersions } from '../../src/domain/join/store.js';
import { type JoinMaterialStamp, newClusterRecord } from '../../src/domain/state/cluster-record.js';
import { testDynamo } from '../support/aws.js';
import { callNames, readAwsCalls } from '../support/aws-calls.js';
import { startAwsErrorStub } from '../support/aws-stub.js';
import { type RunResult, runKboot } from '../support/cli.js';
import { type Moto, startMoto } from '../support/moto.js';
import { tempDir } from '../support/paths.js';
import { silentLogger } from '../support/silent-logger.js';
import {
  type AdminConfFixture,
  adminConf,
  OTHER_CLUSTERS_KUBECONFIG,
} from '../unit/domain/kubeconfig/fixtures.js';

const KUBECTL = '/usr/bin/kubectl';
const hasKubectl = existsSync(KUBECTL);

interface Kubeconfig {
  clusters: { name: string; cluster: Record<string, unknown> }[];
  users: { name: string; user: Record<string, unknown> }[];
  contexts: { name: string; context: Record<string, unknown> }[];
  'current-context'?: string;
}

function kubectl(...args: string[]): string {
  const result = spawnSync(KUBECTL, args, { encoding: 'utf8', env: { PATH: process.env.PATH ?? '' } });
  assert.equal(result.status, 0, `kubectl ${args.join(' ')} failed: ${result.stderr}`);
  return result.stdout;
}

const mode = (file: string) => statSync(file).mode & 0o777;

const TABLE = 'kboot';
const CLUSTER = 'prod';

describe('kboot kubeconfig (moto)', () => {
  let moto: Moto;
  let dynamodb: DynamoDBClient;
  let records: DynamoDbClusterStore;
  let admin: AdminConfFixture;
  let home: string;
  let kubeconfigFile: string;
  const homes: string[] = [];

  function run(args: string[], env: Record<string, string | undefined> = {}): Promise<RunResult> {
    return runKboot(['kubeconfig', ...args], {
      env: { ...moto.awsEnv(), HOME: home, KUBECONFIG: undefined, ...env },
      cwd: home,
    });
  }

  /** Nothing secret on stderr: no credential of admin.conf in any log or error line. */
  function assertNoSecretsOn(stderr: string): void {
    for (const value of [admin.keyData, admin.certData])
      assert.ok(!stderr.includes(value), 'stderr leaks a credential');
    assert.ok(!stderr.includes('dev-user-token-value-1234'), "stderr leaks the existing file's token");
  }

  /** A new AWSCURRENT version of admin.conf; its VersionId. */
  async function publishAdminConf(text: string): Promise<string | undefined> {
    const clients = new AwsClients({ region: 'us-east-1', logger: silentLogger() });
    try {
      const published = await new SecretsJoinMaterialStore({ clients, logger: silentLogger() }).publish(
        CLUSTER,
        { adminConf: new Secret(text) },
      );
      return publishedVersions(CLUSTER, published).adminConf;
    } finally {
      clients.destroy();
    }
  }

  /** admin.conf at AWSCURRENT now, as a reader without the record would see it. */
  async function currentAdminConf(): Promise<string> {
    const clients = new AwsClients({ region: 'us-east-1', logger: silentLogger() });
    try {
      const store = new SecretsJoinMaterialStore({ clients, logger: silentLogger() });
      return (await store.readAdminConf(CLUSTER)).reveal();
    } finally {
      clients.destroy();
    }
  }

  /**
   * A fresh table with the cluster's record, admin.conf published and the cluster marked
   * initialized under the bootstrap lease, the stamp naming the admin.conf version (or, with
   * `versions: false`, as kboot did before it recorded versions: no versions in the stamp).
   */
  async function initializedCluster(options: { versions: boolean }): Promise<void> {
    await moto.reset();
    await ensureTable(dynamodb, TABLE, { pollMs: 50 });
    await records.putRecordIfAbsent(
      newClusterRecord(
        {
          clusterName: CLUSTER,
          region: 'us-east-1',
          apiEndpoint: 'prod-api-123.elb.us-east-1.amazonaws.com:6443',
          podCidr: '10.244.0.0/16',
          serviceCidr: '10.96.0.0/12',
          kubernetesVersion: '1.31.2',
          createdBy: 'test',
          createdAt: new Date().toISOString(),
        },
        TABLE,
      ),
    );
    const versionId = await publishAdminConf(admin.text);
    assert.ok(versionId !== undefined);
    const taken = await records
      .leaseLock(CLUSTER, 'bootstrap')
      .tryAcquire({ owner: 'i-0123456789abcdef0', nowMs: Date.now(), leaseMs: 30_000 });
    assert.ok(taken.acquired);
    const nowMs = Date.now();
    const stamp: JoinMaterialStamp = {
      updatedAt: new Date(nowMs).toISOString(),
      tokenExpiresAt: new Date(nowMs + 86_400_000).toISOString(),
      ...(options.versions ? { versions: { adminConf: versionId } } : {}),
    };
    await records.markInitialized(taken.lease, nowMs, undefined, stamp);
  }

  before(async () => {
    moto = await startMoto();
    dynamodb = testDynamo(moto);
    records = new DynamoDbClusterStore({ dynamodb, tableName: TABLE });
  });
  beforeEach(async () => {
    admin = adminConf();
    Object.assign(process.env, moto.awsEnv());
    await initializedCluster({ versions: true });
    home = tempDir('kboot-home-');
    homes.push(home);
    kubeconfigFile = path.join(home, '.kube', 'config');
    mkdirSync(path.dirname(kubeconfigFile));
    writeFileSync(kubeconfigFile, OTHER_CLUSTERS_KUBECONFIG, { mode: 0o644 });
  });
  afterEach(async () => {
    for (const made of homes.splice(0)) await rm(made, { recursive: true, force: true });
  });
  after(async () => {
    dynamodb?.destroy();
    await moto?.stop();
  });

  it('merges the cluster into ~/.kube/config, keeping the other clusters, with two AWS calls', async () => {
    const traceFile = path.join(home, 'aws-calls.jsonl');
    const result = await run(['--cluster', 'prod'], { KBOOT_TRACE_AWS_CALLS: traceFile });
    assert.equal(result.exitCode, 0, result.stderr);
    assert.equal(result.stdout, '', 'nothing on stdout when merging');
    assertNoSecretsOn(result.stderr);

    const before = YAML.parse(OTHER_CLUSTERS_KUBECONFIG) as Kubeconfig;
    const after = YAML.parse(readFileSync(kubeconfigFile, 'utf8')) as Kubeconfig;
    for (const list of ['clusters', 'users', 'contexts'] as const) {
      for (const entry of before[list]) {
        assert.deepEqual(
          (after[list] as { name: string }[]).find((e) => e.name === entry.name),
          entry,
          `${list} ${entry.name}`,
        );
      }
    }
    assert.deepEqual(after.clusters.find((c) => c.name === 'prod')?.cluster, {
      'certificate-authority-data': admin.caData,
      server: admin.server,
    });
    assert.deepEqual(after.users.find((u) => u.name === 'prod-admin')?.user, {
      'client-certificate-data': admin.certData,
      'client-key-data': admin.keyData,
    });
    assert.deepEqual(after.contexts.find((c) => c.name === 'prod')?.context, {
      cluster: 'prod',
      user: 'prod-admin',
    });
    assert.equal(after['current-context'], 'dev', 'current context unchanged without --set-current');
    assert.ok(readFileSync(kubeconfigFile, 'utf8').startsWith('# my clusters — managed by hand\n'));

    assert.equal(mode(kubeconfigFile), 0o600);
    const backup = `${kubeconfigFile}.kboot-backup`;
    assert.equal(readFileSync(backup, 'utf8'), OTHER_CLUSTERS_KUBECONFIG);
    assert.equal(mode(backup), 0o600);

    // The record (which admin.conf version), then that version.
    assert.deepEqual(callNames(readAwsCalls(traceFile)), [
      'dynamodb:GetItem',
      'secretsmanager:GetSecretValue',
    ]);
    const info = result.logs.find(
      (line) => line.level === 'info' && typeof line.msg === 'string' && /merged context prod/.test(line.msg),
    );
    assert.ok(info, `expected a log line saying what happened, got: ${result.stderr}`);
    assert.equal(info.file, kubeconfigFile);
    assert.equal(info.context, 'prod');
    assert.equal(info.backup, backup);

    if (hasKubectl) {
      assert.deepEqual(
        kubectl('config', 'get-contexts', '-o', 'name', '--kubeconfig', kubeconfigFile)
          .trim()
          .split('\n')
          .sort(),
        ['dev', 'prod', 'staging'],
      );
    }
  });

  it('gives the same file on a second run, without a new backup', async () => {
    assert.equal((await run(['--cluster', 'prod'])).exitCode, 0);
    const first = readFileSync(kubeconfigFile, 'utf8');
    const backup = `${kubeconfigFile}.kboot-backup`;
    writeFileSync(backup, 'marker from the test', { mode: 0o600 });

    const second = await run(['--cluster', 'prod']);
    assert.equal(second.exitCode, 0, second.stderr);
    assert.equal(readFileSync(kubeconfigFile, 'utf8'), first);
    assert.equal(readFileSync(backup, 'utf8'), 'marker from the test');
    assert.ok(
      second.logs.some((line) => typeof line.msg === 'string' && /already up to date/.test(line.msg)),
    );
    assertNoSecretsOn(second.stderr);
  });

  it('writes the context under --context and makes it current with --set-current', async () => {
    const result = await run(['--cluster', 'prod', '--context', 'prod-admin@us', '--set-current']);
    assert.equal(result.exitCode, 0, result.stderr);
    const after = YAML.parse(readFileSync(kubeconfigFile, 'utf8')) as Kubeconfig;
    assert.equal(after['current-context'], 'prod-admin@us');
    if (hasKubectl) {
      assert.equal(
        kubectl('config', 'current-context', '--kubeconfig', kubeconfigFile).trim(),
        'prod-admin@us',
      );
      const view = YAML.parse(
        kubectl('config', 'view', '--minify', '--raw', '--kubeconfig', kubeconfigFile),
      ) as Kubeconfig;
      assert.equal(view.clusters[0]?.cluster.server, admin.server);
      assert.equal(view.users[0]?.user['client-key-data'], admin.keyData);
    }
  });

  it('prints the renamed kubeconfig with --print and writes no file', async () => {
    const empty = tempDir('kboot-home-');
    homes.push(empty);
    const result = await run(['--cluster', 'prod', '--print'], { HOME: empty });
    assert.equal(result.exitCode, 0, result.stderr);
    const printed = YAML.parse(result.stdout) as Kubeconfig;
    assert.equal(printed['current-context'], 'prod');
    assert.deepEqual(printed.contexts, [{ context: { cluster: 'prod', user: 'prod-admin' }, name: 'prod' }]);
    assert.equal(printed.users[0]?.user['client-key-data'], admin.keyData, 'the credentials, as asked');
    assert.ok(!existsSync(path.join(empty, '.kube')));
    assertNoSecretsOn(result.stderr);
    if (hasKubectl) {
      const file = path.join(empty, 'printed');
      writeFileSync(file, result.stdout, { mode: 0o600 });
      assert.equal(kubectl('config', 'get-contexts', '-o', 'name', '--kubeconfig', file).trim(), 'prod');
    }
  });

  it('writes to the file KUBECONFIG names, and to --file', async () => {
    const viaEnv = path.join(home, 'from-env.yaml');
    const result = await run(['--cluster', 'prod'], { KUBECONFIG: `${viaEnv}:${kubeconfigFile}` });
    assert.equal(result.exitCode, 0, result.stderr);
    // The first listed file does not exist and the second does: kubectl (and kboot) write to the second.
    assert.ok(!existsSync(viaEnv));
    assert.ok(readFileSync(kubeconfigFile, 'utf8').includes('prod-admin'));

    const viaFlag = path.join(home, 'nested', 'dir', 'flag.yaml');
    const flagged = await run(['--cluster', 'prod', '--file', viaFlag], { KUBECONFIG: viaEnv });
    assert.equal(flagged.exitCode, 0, flagged.stderr);
    assert.equal(mode(viaFlag), 0o600);
    assert.equal((YAML.parse(readFileSync(viaFlag, 'utf8')) as Kubeconfig)['current-context'], 'prod');
    assert.ok(!existsSync(viaEnv));
  });

  it('takes the region from --region', async () => {
    const result = await run(['--cluster', 'prod', '--region', 'us-east-1'], {
      AWS_REGION: undefined,
      AWS_DEFAULT_REGION: undefined,
      AWS_CONFIG_FILE: path.join(home, 'no-aws-config'),
    });
    assert.equal(result.exitCode, 0, result.stderr);
  });

  it('writes the admin.conf version the record names, not a later AWSCURRENT a lease loser put there', async () => {
    // A master that lost its bootstrap lease publishes its own admin.conf after the holder marked
    // the cluster initialized: AWSCURRENT moves to it, the record still names the holder's.
    const loser = adminConf('https://loser.example.com:6443');
    await publishAdminConf(loser.text);
    assert.equal(await currentAdminConf(), loser.text, "AWSCURRENT is the loser's version");

    const traceFile = path.join(home, 'aws-calls.jsonl');
    const result = await run(['--cluster', CLUSTER], { KBOOT_TRACE_AWS_CALLS: traceFile });
    assert.equal(result.exitCode, 0, result.stderr);
    const after = YAML.parse(readFileSync(kubeconfigFile, 'utf8')) as Kubeconfig;
    assert.deepEqual(after.clusters.find((c) => c.name === CLUSTER)?.cluster, {
      'certificate-authority-data': admin.caData,
      server: admin.server,
    });
    assert.equal(after.users.find((u) => u.name === 'prod-admin')?.user['client-key-data'], admin.keyData);
    assert.deepEqual(callNames(readAwsCalls(traceFile)), [
      'dynamodb:GetItem',
      'secretsmanager:GetSecretValue',
    ]);
    assertNoSecretsOn(result.stderr);
    for (const value of [loser.keyData, loser.certData])
      assert.ok(!result.stderr.includes(value), "stderr leaks the loser's credential");
  });

  it('reads AWSCURRENT for a record initialized before versions were recorded, and says so', async () => {
    await initializedCluster({ versions: false });
    const newer = adminConf('https://newer.example.com:6443');
    await publishAdminConf(newer.text);

    const result = await run(['--cluster', CLUSTER, '--print']);
    assert.equal(result.exitCode, 0, result.stderr);
    const printed = YAML.parse(result.stdout) as Kubeconfig;
    assert.equal(printed.clusters[0]?.cluster.server, newer.server);
    assert.equal(printed.users[0]?.user['client-key-data'], newer.keyData);
    assert.ok(
      result.logs.some(
        (line) =>
          line.level === 'info' &&
          typeof line.msg === 'string' &&
          /names no admin\.conf version .*reading AWSCURRENT/.test(line.msg),
      ),
      `expected a line saying AWSCURRENT is read, got: ${result.stderr}`,
    );
  });

  it('refuses a cluster whose record is not initialized, though its admin.conf exists', async () => {
    await moto.reset();
    await ensureTable(dynamodb, TABLE, { pollMs: 50 });
    await records.putRecordIfAbsent(
      newClusterRecord(
        {
          clusterName: CLUSTER,
          region: 'us-east-1',
          apiEndpoint: 'prod-api-123.elb.us-east-1.amazonaws.com:6443',
          podCidr: '10.244.0.0/16',
          serviceCidr: '10.96.0.0/12',
          kubernetesVersion: '1.31.2',
          createdBy: 'test',
          createdAt: new Date().toISOString(),
        },
        TABLE,
      ),
    );
    // Published by a first master that then failed (or lost its lease) before marking the cluster.
    await publishAdminConf(admin.text);
    const traceFile = path.join(home, 'aws-calls.jsonl');
    const result = await run(['--cluster', CLUSTER, '--print'], { KBOOT_TRACE_AWS_CALLS: traceFile });
    assert.equal(result.exitCode, ExitCode.usage, result.stderr);
    assert.equal(result.stdout, '');
    const errors = result.logs.filter((line) => line.level === 'error');
    assert.equal(errors.length, 1, result.stderr);
    assert.match(
      String(errors[0]?.msg),
      /^cluster "prod" is not initialized yet \(DynamoDB table kboot, region us-east-1\)/,
    );
    assert.match(String(errors[0]?.hint), /kboot status --cluster prod/);
    assert.deepEqual(callNames(readAwsCalls(traceFile)), ['dynamodb:GetItem'], 'admin.conf never read');
    assertNoSecretsOn(result.stderr);
  });

  it('fails closed when reading the record is denied: names dynamodb:GetItem and the operator policy, reads no admin.conf', async () => {
    // moto does not evaluate IAM; this stub answers DynamoDB as AWS does to a policy without GetItem.
    const denying = await startAwsErrorStub(
      400,
      'AccessDeniedException',
      'User: arn:aws:iam::123456789012:user/ops is not authorized to perform: dynamodb:GetItem on resource: arn:aws:dynamodb:us-east-1:123456789012:table/kboot',
      'json',
    );
    try {
      const traceFile = path.join(home, 'aws-calls.jsonl');
      const result = await run(['--cluster', CLUSTER], {
        AWS_ENDPOINT_URL_DYNAMODB: denying.endpoint,
        AWS_MAX_ATTEMPTS: '1',
        KBOOT_TRACE_AWS_CALLS: traceFile,
      });
      assert.equal(result.exitCode, ExitCode.awsDenied, result.stderr);
      assert.equal(result.stdout, '');
      const errors = result.logs.filter((line) => line.level === 'error');
      assert.equal(errors.length, 1, result.stderr);
      assert.match(
        String(errors[0]?.msg),
        /^kboot kubeconfig needs dynamodb:GetItem on the cluster record of "prod" in DynamoDB table kboot/,
      );
      assert.match(String(errors[0]?.msg), /not authorized to perform: dynamodb:GetItem/);
      assert.match(String(errors[0]?.hint), /kboot iam-policy --role operator --cluster prod/);
      assert.equal(denying.requests, 1);
      assert.deepEqual(callNames(readAwsCalls(traceFile)), ['dynamodb:GetItem'], 'no fallback to AWSCURRENT');
      assert.equal(
        readFileSync(kubeconfigFile, 'utf8'),
        OTHER_CLUSTERS_KUBECONFIG,
        'the kubeconfig is untouched',
      );
      assert.ok(!existsSync(`${kubeconfigFile}.kboot-backup`));
      assertNoSecretsOn(result.stderr);
    } finally {
      await denying.stop();
    }
  });

  const failures: {
    name: string;
    args: string[];
    env?: Record<string, string | undefined>;
    exitCode: number;
    message: RegExp;
    hint: RegExp;
  }[] = [
    {
      name: 'a cluster that does not exist',
      args: ['--cluster', 'ghost'],
      exitCode: ExitCode.usage,
      message:
        /^cluster "ghost" is not initialized: no cluster record in DynamoDB table kboot \(region us-east-1\)$/,
      hint: /--cluster, --region and --table/,
    },
    {
      name: 'a table that does not exist',
      args: ['--cluster', 'prod', '--table', 'elsewhere'],
      exitCode: ExitCode.usage,
      message: /^DynamoDB table elsewhere does not exist/,
      hint: /--table/,
    },
    {
      name: 'no region at all',
      args: ['--cluster', 'prod'],
      env: {
        AWS_REGION: undefined,
        AWS_DEFAULT_REGION: undefined,
        AWS_CONFIG_FILE: '/nonexistent/aws-config',
      },
      exitCode: ExitCode.usage,
      message: /no AWS region is set/,
      hint: /--region/,
    },
    {
      name: 'an invalid cluster name',
      args: ['--cluster', 'bad name!'],
      exitCode: ExitCode.usage,
      message: /invalid cluster name "bad name!" \(from --cluster\)/,
      hint: /letters, digits/,
    },
    {
      name: '--print with --file',
      args: ['--cluster', 'prod', '--print', '--file', 'x'],
      exitCode: ExitCode.usage,
      message: /--print writes to stdout/,
      hint: /drop --print/,
    },
    {
      name: 'AWS unreachable',
      args: ['--cluster', 'prod'],
      env: { AWS_ENDPOINT_URL: 'http://127.0.0.1:9', AWS_MAX_ATTEMPTS: '1' },
      exitCode: ExitCode.awsUnavailable,
      message: /AWS was unavailable while reading the cluster record of "prod" in DynamoDB table kboot/,
      hint: /network access/,
    },
  ];
  for (const { name, args, env, exitCode, message, hint } of failures) {
    it(`fails with one clear line for ${name}`, async () => {
      const result = await run(args, env);
      assert.equal(result.exitCode, exitCode, result.stderr);
      assert.equal(result.stdout, '');
      const errors = result.logs.filter((line) => line.level === 'error');
      assert.equal(errors.length, 1, `one error line, got: ${result.stderr}`);
      assert.match(String(errors[0]?.msg), message);
      assert.match(String(errors[0]?.hint), hint);
      assert.equal(
        readFileSync(kubeconfigFile, 'utf8'),
        OTHER_CLUSTERS_KUBECONFIG,
        'the kubeconfig is untouched',
      );
      assert.ok(!existsSync(`${kubeconfigFile}.kboot-backup`));
      assertNoSecretsOn(result.stderr);
    });
  }
});
