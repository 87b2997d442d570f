/**
 * A simulated cluster of EC2 instances for end-to-end tests and `npm run demo`: one moto for
 * the cluster's AWS, one IMDS server and one filesystem root per instance, the fake kubeadm
 * (sharing one cluster directory, as the instances of a real cluster share an API server), and
 * the built kboot binary run as each instance's user-data would run it. Instances sit in a VPC
 * of their own (10.0.0.0/16), so EC2's private DNS names are the node names; the masters'
 * kboot-approve-csrs.timer is simulated (csr-timer.ts) while kboot runs anywhere.
 */

import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import {
  CreateSubnetCommand,
  CreateTagsCommand,
  CreateVpcCommand,
  type EC2Client,
  RunInstancesCommand,
} from '@aws-sdk/client-ec2';
import { ensureTable } from '../../src/adapters/aws/dynamodb-table.js';
import { testDynamo, testEc2 } from './aws.js';
import { type RunningKboot, type RunOptions, type RunResult, runKboot, spawnKboot } from './cli.js';
import { CsrTimer } from './csr-timer.js';
import { type ImdsServer, startImdsServer } from './imds-server.js';
import type { Moto } from './moto.js';
import { repoRoot, tempDir } from './paths.js';

export type SimRole = 'control-plane' | 'worker';

export interface SimInstance {
  name: string;
  role: SimRole;
  instanceId: string;
  privateIp: string;
  privateDns: string;
  imds: ImdsServer;
  root: string;
  env: Record<string, string>;
}

export interface SimClusterOptions {
  name?: string;
  table?: string;
  apiEndpoint?: string;
  kubeadmVersion?: string;
  /** Environment every instance gets (e.g. FAKE_KUBEADM_SLEEP_MS). */
  env?: Record<string, string>;
  /** Node config YAML written to each instance's /etc/kboot/config.yaml. */
  nodeConfig?: string;
  /** The masters' kboot-approve-csrs.timer (default: every 250 ms); false: none (nothing approves). */
  csrTimer?: false | { periodMs?: number };
}

export interface KubeadmInvocation {
  pid: number;
  argv: string[];
  env: Record<string, string>;
  /** The names of every variable kubeadm was given (not their values). */
  envNames: string[];
  command: string | null;
  /** The config file kubeadm was given, as it read it. */
  config: { path: string; resolvedPath: string; text: string } | null;
  startedAt: string;
  startedAtMs: number;
  endedAtMs: number;
  exitCode: number | null;
  [field: string]: unknown;
}

export class SimCluster {
  readonly name: string;
  readonly table: string;
  readonly dir: string;
  readonly clusterDir: string;
  readonly kubeadmLog: string;
  /** Every kubectl invocation of every instance (the recording kubectl, test/support/kubectl-log.ts). */
  readonly kubectlLog: string;
  readonly instances: SimInstance[] = [];
  /** The masters' kboot-approve-csrs.timer, started by the first run or spawn. */
  readonly csrTimer: CsrTimer | undefined;
  readonly #moto: Moto;
  #vpcId: string | undefined;
  readonly #subnets = new Map<number, string>();
  readonly #options: SimClusterOptions;
  readonly #ec2: EC2Client;

  constructor(moto: Moto, options: SimClusterOptions = {}) {
    this.#moto = moto;
    this.#options = options;
    this.name = options.name ?? 'sim';
    this.table = options.table ?? 'kboot';
    this.dir = tempDir(`kboot-sim-${this.name}-`);
    this.clusterDir = path.join(this.dir, 'cluster');
    mkdirSync(this.clusterDir, { recursive: true });
    this.kubeadmLog = path.join(this.dir, 'kubeadm.jsonl');
    this.kubectlLog = path.join(this.dir, 'kubectl.jsonl');
    this.#ec2 = testEc2(moto);
    this.csrTimer =
      options.csrTimer === false
        ? undefined
        : new CsrTimer(
            {
              clusterDir: this.clusterDir,
              instances: this.instances,
              runOn: (name, args) => {
                const instance = this.instances.find((candidate) => candidate.name === name) as SimInstance;
                return runKboot(args, { timeoutMs: 60_000, env: instance.env });
              },
            },
            options.csrTimer ?? {},
          );
  }

  /** The subnet 10.0.<octet>.0/24 of the cluster's VPC. */
  async #subnet(octet: number): Promise<string> {
    if (this.#vpcId === undefined) {
      const vpc = await this.#ec2.send(new CreateVpcCommand({ CidrBlock: '10.0.0.0/16' }));
      this.#vpcId = vpc.Vpc?.VpcId as string;
    }
    let subnetId = this.#subnets.get(octet);
    if (subnetId === undefined) {
      const subnet = await this.#ec2.send(
        new CreateSubnetCommand({ VpcId: this.#vpcId, CidrBlock: `10.0.${octet}.0/24` }),
      );
      subnetId = subnet.Subnet?.SubnetId as string;
      this.#subnets.set(octet, subnetId);
    }
    return subnetId;
  }

  /** Creates the state table through the same code `kboot cluster create` uses. */
  async createTable(): Promise<void> {
    const dynamodb = testDynamo(this.#moto);
    try {
      await ensureTable(dynamodb, this.table);
    } finally {
      dynamodb.destroy();
    }
  }

  /**
   * An instance in moto with the cluster's tags, its own IMDS server and filesystem root. Its IP
   * is the simulation's own (10.0.1.10, ...), given to EC2 at launch, so its private DNS name
   * (the node name) is EC2's: what the leave controller and the CSR approver check against.
   */
  async addInstance(role: SimRole, extraEnv: Record<string, string> = {}): Promise<SimInstance> {
    const index = this.instances.length;
    const octet = Math.floor(index / 200) + 1;
    const requestedIp = `10.0.${octet}.${(index % 200) + 10}`;
    const run = await this.#ec2.send(
      new RunInstancesCommand({
        ImageId: 'ami-12c6146b',
        MinCount: 1,
        MaxCount: 1,
        SubnetId: await this.#subnet(octet),
        PrivateIpAddress: requestedIp,
      }),
    );
    const launched = run.Instances?.[0];
    const instanceId = launched?.InstanceId as string;
    // IMDS-safe tag keys: instance metadata tags are enabled, as `kboot cluster create` sets them.
    const tags = {
      KubernetesCluster: this.name,
      'kboot.io:role': role,
      Name: `${this.name}-${role}-${index}`,
    };
    await this.#ec2.send(
      new CreateTagsCommand({
        Resources: [instanceId],
        Tags: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })),
      }),
    );
    const privateIp = launched?.PrivateIpAddress ?? requestedIp;
    const privateDns = launched?.PrivateDnsName ?? `ip-${privateIp.replaceAll('.', '-')}.ec2.internal`;
    const imds = await startImdsServer({
      instanceId,
      region: 'us-east-1',
      privateIp,
      privateDns,
      tags,
      tagsEnabled: true,
    });
    const root = path.join(this.dir, `${role}-${index}`);
    mkdirSync(path.join(root, 'etc', 'kboot'), { recursive: true });
    const nodeConfig =
      this.#options.nodeConfig ??
      `apiEndpoint: ${this.#options.apiEndpoint ?? `${this.name}-api.elb.us-east-1.amazonaws.com`}\n`;
    writeFileSync(path.join(root, 'etc', 'kboot', 'config.yaml'), nodeConfig);
    const env: Record<string, string> = {
      ...this.#moto.awsEnv(),
      ...imds.imdsEnv(),
      KBOOT_ROOT: root,
      KBOOT_TABLE: this.table,
      KBOOT_KUBEADM: path.join(repoRoot(), 'test', 'fixtures', 'bin', 'kubeadm'),
      KBOOT_POLL_MS: '200',
      // Tests take over leases of a few seconds (the minimum on an instance is 30 s).
      KBOOT_MIN_LEASE_MS: '1000',
      KBOOT_LOG_FORMAT: 'json',
      FAKE_KUBEADM_CLUSTER_DIR: this.clusterDir,
      FAKE_KUBEADM_LOG: this.kubeadmLog,
      FAKE_KUBEADM_VERSION: this.#options.kubeadmVersion ?? 'v1.31.2',
      FAKE_KUBEADM_STRICT: '1',
      // The recording kubectl; its API server is the fake kubeadm's simulated cluster.
      KBOOT_KUBECTL: path.join(repoRoot(), 'test', 'fixtures', 'bin', 'kubectl'),
      FAKE_KUBECTL_LOG: this.kubectlLog,
      ...this.#options.env,
      ...extraEnv,
    };
    const instance: SimInstance = {
      name: `${role}-${index}`,
      role,
      instanceId,
      privateIp,
      privateDns,
      imds,
      root,
      env,
    };
    this.instances.push(instance);
    return instance;
  }

  /** Runs kboot on an instance, as its user-data would (`kboot boot` by default). */
  run(
    instance: SimInstance,
    args: readonly string[] = ['boot', '--output', 'json'],
    options: RunOptions = {},
  ): Promise<RunResult> {
    this.csrTimer?.start();
    return runKboot(args, { timeoutMs: 120_000, ...options, env: { ...instance.env, ...options.env } });
  }

  /** Starts kboot on an instance and returns at once (to kill it mid-work). */
  spawn(
    instance: SimInstance,
    args: readonly string[] = ['boot', '--output', 'json'],
    options: RunOptions = {},
  ): RunningKboot {
    this.csrTimer?.start();
    return spawnKboot(args, { timeoutMs: 120_000, ...options, env: { ...instance.env, ...options.env } });
  }

  /** Every kubeadm invocation so far, in the order they started. */
  invocations(): KubeadmInvocation[] {
    let text = '';
    try {
      text = readFileSync(this.kubeadmLog, 'utf8');
    } catch {
      return [];
    }
    return text
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as KubeadmInvocation)
      .sort((a, b) => a.startedAt.localeCompare(b.startedAt));
  }

  async stop(): Promise<void> {
    await this.csrTimer?.stop();
    this.#ec2.destroy();
    await Promise.all(this.instances.map((instance) => instance.imds.stop()));
  }
}
