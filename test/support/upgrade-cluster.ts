/**
 * A cluster for `kboot cluster upgrade` tests: made by the built binary's `kboot cluster create`
 * in moto (3 control-plane and 2 worker instances launched by their Auto Scaling groups), marked
 * initialized with its admin.conf published as a first master would, and a FleetPlayer that plays
 * the instances: an instance that appears in a group boots and joins (its member record; `kubeadm
 * init` or `join` in the fake kubeadm's simulated cluster, its Node and static Pods in that
 * cluster's API: ./kubeadm-fleet.ts), one that leaves its group has left (`kboot leave`: its
 * member record removed, `kubeadm reset`). moto terminates at once and runs no lifecycle hook, so
 * the player is what `kboot leave` would do on the instance.
 */

import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { AutoScalingClient, DescribeAutoScalingGroupsCommand } from '@aws-sdk/client-auto-scaling';
import { UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import {
  CopyImageCommand,
  CreateSubnetCommand,
  CreateVpcCommand,
  DescribeInstancesCommand,
} from '@aws-sdk/client-ec2';
import { marshall } from '@aws-sdk/util-dynamodb';
import { AwsClients } from '../../src/adapters/aws/clients.js';
import { DynamoDbClusterStore } from '../../src/adapters/aws/dynamodb-cluster-store.js';
import { SecretsJoinMaterialStore } from '../../src/adapters/aws/secrets-join-material.js';
import { Secret } from '../../src/core/secrets.js';
import { adminConf } from '../unit/domain/kubeconfig/fixtures.js';
import { clientConfig, testDynamo, testEc2 } from './aws.js';
import { type RunResult, runKboot } from './cli.js';
import { KubeadmFleet } from './kubeadm-fleet.js';
import { fakeKubectlPath } from './kubectl-log.js';
import type { Moto } from './moto.js';
import { silentLogger } from './silent-logger.js';

export const UPGRADE_CLUSTER = 'roll';
export const OLD_AMI = 'ami-12c6146b';
const REGION = 'us-east-1';

/** How many control-plane instances and workers the spec asks for (the default: 3 and 2). */
export interface ClusterSize {
  controlPlane: number;
  workers: number;
}

export function upgradeSpec(
  network: { vpcId: string; subnetId: string },
  ami: string,
  version = '1.31.2',
  size: ClusterSize = { controlPlane: 3, workers: 2 },
): string {
  return `kubernetesVersion: ${version}
network:
  vpcId: ${network.vpcId}
  vpcCidr: 10.0.0.0/16
  subnets:
    - { id: ${network.subnetId}, az: us-east-1a, cidr: 10.0.0.0/20 }
controlPlane: { count: ${size.controlPlane}, instanceType: m6i.large, ami: ${ami} }
workers:
  groups:
    - { name: apps, instanceType: m6i.large, min: ${size.workers}, max: ${size.workers + 1} }
apiEndpoint: { scheme: internal }
`;
}

export interface ArrangedCluster {
  network: { vpcId: string; subnetId: string };
  /** A second AMI (a copy of the first): the target of an AMI roll. */
  newAmi: string;
  specFile: (name: string, text: string) => string;
}

/** Network, `kboot cluster create`, initialized record, admin.conf: a cluster ready to upgrade. */
export async function arrangeCluster(moto: Moto, dir: string, size?: ClusterSize): Promise<ArrangedCluster> {
  const ec2 = testEc2(moto);
  let network: ArrangedCluster['network'];
  let newAmi: string;
  try {
    const vpc = await ec2.send(new CreateVpcCommand({ CidrBlock: '10.0.0.0/16' }));
    const vpcId = vpc.Vpc?.VpcId as string;
    const subnet = await ec2.send(
      new CreateSubnetCommand({ VpcId: vpcId, CidrBlock: '10.0.0.0/20', AvailabilityZone: 'us-east-1a' }),
    );
    network = { vpcId, subnetId: subnet.Subnet?.SubnetId as string };
    const copy = await ec2.send(
      new CopyImageCommand({ SourceImageId: OLD_AMI, SourceRegion: REGION, Name: 'kboot-1.31.2-patched' }),
    );
    newAmi = copy.ImageId as string;
  } finally {
    ec2.destroy();
  }
  const specFile = (name: string, text: string) => {
    const file = path.join(dir, name);
    writeFileSync(file, text);
    return file;
  };
  const created = await runKboot(
    [
      'cluster',
      'create',
      '--name',
      UPGRADE_CLUSTER,
      '-f',
      specFile('spec.yaml', upgradeSpec(network, OLD_AMI, '1.31.2', size)),
    ],
    { env: moto.awsEnv(), cwd: dir, timeoutMs: 120_000 },
  );
  if (created.exitCode !== 0) throw new Error(`cluster create failed: ${created.stderr.slice(-2000)}`);
  const clients = new AwsClients({ region: REGION, logger: silentLogger(), env: moto.awsEnv() });
  const dynamodb = testDynamo(moto);
  try {
    const saved = { ...process.env };
    Object.assign(process.env, moto.awsEnv());
    const published = await new SecretsJoinMaterialStore({ clients, logger: silentLogger() }).publish(
      UPGRADE_CLUSTER,
      {
        adminConf: new Secret(adminConf().text),
      },
    );
    process.env = saved;
    const nowIso = new Date().toISOString();
    await dynamodb.send(
      new UpdateItemCommand({
        TableName: 'kboot',
        Key: { pk: { S: `cluster#${UPGRADE_CLUSTER}` }, sk: { S: 'meta' } },
        UpdateExpression: 'SET #initialized = :initialized, #joinMaterial = :joinMaterial',
        ExpressionAttributeNames: { '#initialized': 'initialized', '#joinMaterial': 'joinMaterial' },
        ExpressionAttributeValues: marshall({
          ':initialized': { by: 'i-0123456789abcdef0', at: nowIso, fence: 1 },
          ':joinMaterial': {
            updatedAt: nowIso,
            tokenExpiresAt: nowIso,
            versions: { adminConf: published[0]?.versionId },
          },
        }),
      }),
    );
  } finally {
    clients.destroy();
    dynamodb.destroy();
  }
  return { network, newAmi, specFile };
}

export interface PlayedInstance {
  instanceId: string;
  group: string;
  imageId: string;
  nodeName: string;
  privateIp: string;
}

/** Plays the cluster's instances (see the top of this file); `start` then `stop`. */
export class FleetPlayer {
  readonly #moto: Moto;
  /** The simulated cluster the instances join (made at the first tick, from the record's apiEndpoint). */
  #fleet: KubeadmFleet | undefined;
  /** The Kubernetes version of each AMI (the rest: v1.31.2). */
  readonly versions = new Map<string, string>();
  readonly #cluster: string;
  readonly #table: string;
  readonly #known = new Map<string, PlayedInstance>();
  /** Every instance seen, in the order it appeared; and every one that left. */
  readonly appeared: PlayedInstance[] = [];
  readonly left: string[] = [];
  /** Fewest control-plane instances seen in service at once (after the first look). */
  minControlPlane = Number.POSITIVE_INFINITY;
  /** A new instance whose Node this says is not Ready. */
  notReady: (instance: PlayedInstance) => boolean = () => false;
  /** Called once a new instance has joined the simulated cluster (a test's fault after a join). */
  joined: (instance: PlayedInstance, clusterDir: string) => void = () => {};
  #timer: NodeJS.Timeout | undefined;
  #busy: Promise<void> = Promise.resolve();

  constructor(moto: Moto, cluster = UPGRADE_CLUSTER, table = 'kboot') {
    this.#moto = moto;
    this.#cluster = cluster;
    this.#table = table;
  }

  /** The simulated cluster (after the first tick). */
  get fleet(): KubeadmFleet {
    if (this.#fleet === undefined) throw new Error('the fleet has not ticked yet');
    return this.#fleet;
  }

  async tick(): Promise<void> {
    const config = clientConfig(this.#moto);
    const autoScaling = new AutoScalingClient(config);
    const ec2 = testEc2(this.#moto);
    const dynamodb = testDynamo(this.#moto);
    const store = new DynamoDbClusterStore({ dynamodb, tableName: this.#table });
    try {
      const groups =
        (await autoScaling.send(new DescribeAutoScalingGroupsCommand({}))).AutoScalingGroups ?? [];
      const now = new Map<string, string>();
      for (const group of groups)
        for (const instance of group.Instances ?? [])
          now.set(instance.InstanceId as string, group.AutoScalingGroupName as string);
      const fresh = [...now.keys()].filter((id) => !this.#known.has(id));
      if (fresh.length > 0 && this.#fleet === undefined) {
        const record = await store.readRecord(this.#cluster);
        if (record === undefined) throw new Error(`no cluster record ${this.#cluster}`);
        this.#fleet = new KubeadmFleet(record.apiEndpoint);
      }
      const fleet = this.#fleet as KubeadmFleet;
      for (const [image, version] of this.versions) fleet.versions.set(image, version);
      if (fresh.length > 0) {
        const out = await ec2.send(
          new DescribeInstancesCommand({ Filters: [{ Name: 'instance-id', Values: fresh }] }),
        );
        const isControlPlane = (id: string | undefined) =>
          (now.get(id ?? '') ?? '').includes('control-plane');
        const instances = (out.Reservations ?? [])
          .flatMap((r) => r.Instances ?? [])
          .sort((a, b) => Number(isControlPlane(b.InstanceId)) - Number(isControlPlane(a.InstanceId)));
        for (const instance of instances) {
          const played: PlayedInstance = {
            instanceId: instance.InstanceId as string,
            group: now.get(instance.InstanceId as string) as string,
            imageId: instance.ImageId as string,
            nodeName: instance.PrivateDnsName as string,
            privateIp: instance.PrivateIpAddress as string,
          };
          const role = played.group.includes('control-plane') ? 'control-plane' : 'worker';
          await fleet.join({ ...played, role }, !this.notReady(played));
          this.joined(played, fleet.clusterDir);
          await store.recordMember(this.#cluster, {
            instanceId: played.instanceId,
            role,
            joinedAt: new Date().toISOString(),
            nodeName: played.nodeName,
          });
          this.#known.set(played.instanceId, played);
          this.appeared.push(played);
        }
      }
      for (const [id] of [...this.#known]) {
        if (now.has(id)) continue;
        await fleet.leave(id);
        await store.removeMember(this.#cluster, id);
        this.#known.delete(id);
        this.left.push(id);
      }
      const controlPlane = [...this.#known.values()].filter((p) => p.group.includes('control-plane')).length;
      this.minControlPlane = Math.min(this.minControlPlane, controlPlane);
    } finally {
      autoScaling.destroy();
      ec2.destroy();
      dynamodb.destroy();
    }
  }

  start(everyMs = 50): void {
    this.#timer = setInterval(() => {
      this.#busy = this.#busy.then(() => this.tick()).catch(() => {});
    }, everyMs);
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer);
    await this.#busy;
    this.#fleet?.dispose();
  }

  /** The instances in the groups now. */
  current(): PlayedInstance[] {
    return [...this.#known.values()];
  }
}

export function upgradeEnv(
  moto: Moto,
  clusterDir: string,
  extra: Record<string, string> = {},
): Record<string, string | undefined> {
  return {
    ...moto.awsEnv(),
    KBOOT_TABLE: undefined,
    KBOOT_KUBECTL: fakeKubectlPath(),
    FAKE_KUBEADM_CLUSTER_DIR: clusterDir,
    KBOOT_CHILD_ENV: 'FAKE_KUBEADM_CLUSTER_DIR',
    KBOOT_POLL_MS: '20',
    KBOOT_UPGRADE_LEASE_MS: '3000',
    KBOOT_UPGRADE_JOIN_TIMEOUT_MS: '10000',
    KBOOT_UPGRADE_GATE_TIMEOUT_MS: '1500',
    KBOOT_UPGRADE_LEAVE_TIMEOUT_MS: '10000',
    ...extra,
  };
}

export function upgrade(
  args: string[],
  env: Record<string, string | undefined>,
  cwd: string,
): Promise<RunResult> {
  return runKboot(['cluster', 'upgrade', '--name', UPGRADE_CLUSTER, ...args], {
    env,
    cwd,
    timeoutMs: 90_000,
  });
}
