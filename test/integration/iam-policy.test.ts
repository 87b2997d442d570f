/**
 * `kboot iam-policy` kept honest by what kboot really calls. The built binary runs each role's
 * commands through the real flows against moto with KBOOT_TRACE_AWS_CALLS set — a control-plane
 * bootstrap (with IRSA, so it publishes the OIDC documents to S3), a control-plane join (instance metadata tags off, so identity needs
 * ec2:DescribeTags), rotate, status and identity on masters; worker joins with tags on and off;
 * kubeconfig, status and ami from an operator's laptop — and the traced SDK calls, mapped to IAM
 * actions (test/support/aws-calls.ts), must be exactly what the role's printed policy allows:
 * nothing missing, nothing extra. Also: the document's shape, and that a worker can never read
 * the control-plane or admin.conf secrets.
 *
 * moto cannot evaluate these policies: it has no iam:SimulateCustomPolicy, and its optional
 * request authorization (INITIAL_NO_AUTH_ACTION_COUNT) does not support the Resource and
 * Condition elements ("TODO" in moto/iam/access_control.py), so scoping is checked structurally
 * here and in test/unit/domain/iam.
 */

import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  AutoScalingClient,
  DescribeAutoScalingGroupsCommand,
  DetachLoadBalancerTargetGroupsCommand,
} from '@aws-sdk/client-auto-scaling';
import { DeleteItemCommand, QueryCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import {
  CreateImageCommand,
  CreateSubnetCommand,
  CreateTagsCommand,
  CreateVpcCommand,
  RunInstancesCommand,
} from '@aws-sdk/client-ec2';
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { marshall } from '@aws-sdk/util-dynamodb';
import { CLOUD_CONTROLLER_ACTIONS, CLOUD_CONTROLLER_SID } from '../../src/domain/iam/cloud-controller.js';
import { commandActions, type KbootCommand } from '../../src/domain/iam/permissions.js';
import type { IamRole } from '../../src/domain/iam/roles.js';
import { clientConfig, createLoadBalancer, testDynamo, testEc2 } from '../support/aws.js';
import { callNames, iamActionsOf, readAwsCalls, type TracedAwsCall } from '../support/aws-calls.js';
import { type RunResult, runKboot } from '../support/cli.js';
import { SimCluster, type SimInstance } from '../support/cluster-sim.js';
import { fakeKubectlPath, nodeObject, seedObjects } from '../support/kubectl-log.js';
import { createLeaveGroup } from '../support/leave-group.js';
import { type LifecycleStub, startLifecycleStub } from '../support/lifecycle-stub.js';
import { type Moto, startMoto } from '../support/moto.js';
import { tempDir } from '../support/paths.js';
import { arrangeCluster, FleetPlayer, upgrade, upgradeEnv, upgradeSpec } from '../support/upgrade-cluster.js';

const CLUSTER = 'iam';
const REGION = 'us-east-1';
const ACCOUNT = '123456789012';
const IRSA_BUCKET = 'iam-oidc';
const BACKUP_BUCKET = 'iam-etcd-backups';
/** The operator's policy names the etcd snapshots' bucket the traced cluster creates make. */
const backup = (role: IamRole): string[] => (role === 'operator' ? ['--backup-bucket', BACKUP_BUCKET] : []);
const KMS_KEY_ARN = `arn:aws:kms:${REGION}:${ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab`;

/** One traced kboot invocation: who ran it, which command, what it called. */
interface TracedRun {
  role: IamRole;
  command: KbootCommand;
  label: string;
  /** Only in a policy for every cluster of the table (status without --cluster scans them all). */
  everyCluster: boolean;
  calls: TracedAwsCall[];
}

interface Statement {
  Sid: string;
  Effect: string;
  Action: string[];
  Resource: string[];
  Condition?: Record<string, Record<string, string | string[]>>;
}

interface Document {
  Version: string;
  Statement: Statement[];
}

async function printedPolicy(role: IamRole, extra: string[] = [], env: Record<string, string> = {}) {
  const result = await runKboot(['iam-policy', '--role', role, ...extra], {
    env: { KBOOT_TABLE: undefined, AWS_REGION: undefined, ...env },
  });
  assert.equal(result.exitCode, 0, result.stderr);
  return { document: JSON.parse(result.stdout) as Document, result };
}

const scoped = ['--cluster', CLUSTER, '--region', REGION, '--account', ACCOUNT];

function actionsOf(document: Document): string[] {
  return [...new Set(document.Statement.flatMap((statement) => statement.Action))].sort();
}

/** Every string a statement's Resource and Condition hold. */
function statementStrings(statement: Statement): string[] {
  const values = [...statement.Resource];
  for (const block of Object.values(statement.Condition ?? {})) {
    for (const value of Object.values(block)) values.push(...(Array.isArray(value) ? value : [value]));
  }
  return values;
}

function assertPolicyShape(document: Document, what: string): void {
  assert.deepEqual(Object.keys(document).sort(), ['Statement', 'Version'], what);
  assert.equal(document.Version, '2012-10-17', what);
  assert.ok(Array.isArray(document.Statement) && document.Statement.length > 0, `${what}: statements`);
  const sids = new Set<string>();
  for (const statement of document.Statement) {
    const where = `${what}: statement ${JSON.stringify(statement.Sid)}`;
    assert.match(statement.Sid, /^[A-Za-z0-9]+$/, where);
    assert.ok(!sids.has(statement.Sid), `${where}: duplicate Sid`);
    sids.add(statement.Sid);
    assert.equal(statement.Effect, 'Allow', where);
    for (const key of Object.keys(statement)) {
      assert.ok(['Sid', 'Effect', 'Action', 'Resource', 'Condition'].includes(key), `${where}: key ${key}`);
    }
    assert.ok(Array.isArray(statement.Action) && statement.Action.length > 0, `${where}: Action`);
    for (const action of statement.Action) assert.match(action, /^[a-z0-9]+:[A-Za-z]+$/, where);
    assert.ok(Array.isArray(statement.Resource) && statement.Resource.length > 0, `${where}: Resource`);
    for (const resource of statement.Resource) assert.match(resource, /^(\*|arn:aws[a-z-]*:.+)$/, where);
  }
}

const UPGRADE_FOR_TRACE = {
  from: { kubernetesVersion: '1.31.2', images: { x86_64: 'ami-0aaaaaaaaaaaaaaa1' } },
  to: { kubernetesVersion: '1.32.0', images: { x86_64: 'ami-0bbbbbbbbbbbbbbb2' } },
  phase: 'control-plane',
  startedAt: '2026-12-08T01:00:00.000Z',
  startedBy: 'operator@laptop',
  done: [],
};

/** Writes (or, undefined, removes) the record's upgrade, as the roll does. */
async function setUpgrade(moto: Moto, table: string, upgrade: object | undefined): Promise<void> {
  const dynamodb = testDynamo(moto);
  try {
    await dynamodb.send(
      new UpdateItemCommand({
        TableName: table,
        Key: marshall({ pk: `cluster#${CLUSTER}`, sk: 'meta' }),
        ...(upgrade === undefined
          ? { UpdateExpression: 'REMOVE #upgrade' }
          : {
              UpdateExpression: 'SET #upgrade = :upgrade',
              ExpressionAttributeValues: marshall({ ':upgrade': upgrade }),
            }),
        ExpressionAttributeNames: { '#upgrade': 'upgrade' },
      }),
    );
  } finally {
    dynamodb.destroy();
  }
}

describe('kboot iam-policy against the AWS calls kboot makes', () => {
  let moto: Moto;
  let sim: SimCluster;
  let traceDir: string;
  const runs: TracedRun[] = [];
  let rotateAvailable = true;
  let stub: LifecycleStub | undefined;

  /** Runs kboot with its own trace file and records the run; the command must succeed. */
  async function traced(
    role: IamRole,
    command: KbootCommand,
    label: string,
    run: (trace: string) => Promise<RunResult>,
    everyCluster = false,
  ): Promise<RunResult> {
    const trace = path.join(traceDir, `${role}-${label}.jsonl`);
    const result = await run(trace);
    assert.equal(result.exitCode, 0, `${role} ${label}: ${result.stderr.slice(-2000)}`);
    runs.push({ role, command, label, everyCluster, calls: readAwsCalls(trace) });
    return result;
  }

  function onInstance(instance: SimInstance, args: string[], env: Record<string, string | undefined> = {}) {
    return (trace: string) => sim.run(instance, args, { env: { KBOOT_TRACE_AWS_CALLS: trace, ...env } });
  }

  function fromLaptop(args: string[], env: Record<string, string | undefined> = {}) {
    return (trace: string) =>
      runKboot(args, {
        env: {
          ...moto.awsEnv(),
          HOME: traceDir,
          KBOOT_TABLE: undefined,
          KBOOT_TRACE_AWS_CALLS: trace,
          ...env,
        },
      });
  }

  /** Instance metadata tags off: kboot reads the instance's tags with ec2:DescribeTags. */
  function withoutMetadataTags(instance: SimInstance): SimInstance {
    instance.imds.setTags({}, false);
    return instance;
  }

  /**
   * A cluster's plan, a create killed after its second create call (one at a time) and resumed
   * (found by alias), a create after its resource records were lost (every resource found by
   * name, alias or tags), a plan with drift checks, and a destroy.
   */
  async function clusterCommands(name: string, table: string | undefined, everyCluster: boolean) {
    const ec2 = testEc2(moto);
    let subnet: string;
    let vpc: string;
    try {
      vpc = (await ec2.send(new CreateVpcCommand({ CidrBlock: '10.0.0.0/16' }))).Vpc?.VpcId as string;
      subnet = (
        await ec2.send(
          new CreateSubnetCommand({ VpcId: vpc, CidrBlock: '10.0.0.0/20', AvailabilityZone: 'us-east-1a' }),
        )
      ).Subnet?.SubnetId as string;
    } finally {
      ec2.destroy();
    }
    const spec = path.join(traceDir, `${name}.yaml`);
    writeFileSync(
      spec,
      `kubernetesVersion: 1.31.2
network: { vpcId: ${vpc}, vpcCidr: 10.0.0.0/16, subnets: [ { id: ${subnet}, az: us-east-1a } ] }
controlPlane: { count: 1, instanceType: m6i.large, ami: ami-12c6146b }
workers: { groups: [ { name: general, instanceType: m6i.large, min: 0, max: 2 } ] }
addons: { irsa: { bucket: ${name}-oidc-issuer } }
backup: { bucket: ${name}-etcd-backups }
`,
    );
    const env = table === undefined ? {} : { KBOOT_TABLE: table };
    const args = (command: string, ...extra: string[]) =>
      fromLaptop(['cluster', command, '--name', name, '-f', spec, ...extra], env);
    await traced('operator', 'cluster-plan', `${name}-plan`, args('plan'), everyCluster);
    const killedTrace = path.join(traceDir, `operator-${name}-killed.jsonl`);
    const killed = await fromLaptop(['cluster', 'create', '--name', name, '-f', spec, '--parallelism', '1'], {
      ...env,
      KBOOT_TEST_KILL_AFTER_CREATES: '2',
    })(killedTrace);
    assert.equal(killed.signal, 'SIGKILL', killed.stderr.slice(-2000));
    runs.push({
      role: 'operator',
      command: 'cluster-create',
      label: `${name}-killed`,
      everyCluster,
      calls: readAwsCalls(killedTrace),
    });
    await traced('operator', 'cluster-create', `${name}-create`, args('create'), everyCluster);
    const dynamodb = testDynamo(moto);
    try {
      const pk = { S: `cluster#${name}` };
      const items = await dynamodb.send(
        new QueryCommand({
          TableName: table ?? 'kboot',
          KeyConditionExpression: 'pk = :pk AND begins_with(sk, :r)',
          ExpressionAttributeValues: { ':pk': pk, ':r': { S: 'resource#' } },
        }),
      );
      for (const item of items.Items ?? []) {
        await dynamodb.send(
          new DeleteItemCommand({ TableName: table ?? 'kboot', Key: { pk, sk: item.sk as { S: string } } }),
        );
      }
    } finally {
      dynamodb.destroy();
    }
    await traced('operator', 'cluster-create', `${name}-find`, args('create'), everyCluster);
    await traced('operator', 'cluster-plan', `${name}-plan-again`, args('plan'), everyCluster);
    // A changed spec (the workers' instance type and size) and the API target group detached from
    // the control-plane group by hand: create updates the template and both groups in place.
    writeFileSync(
      spec,
      readFileSync(spec, 'utf8').replace(
        'instanceType: m6i.large, min: 0, max: 2',
        'instanceType: m6i.xlarge, min: 0, max: 3',
      ),
    );
    const autoScaling = new AutoScalingClient(clientConfig(moto));
    try {
      const groupName = `kboot-${name}-control-plane`;
      const group = await autoScaling.send(
        new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: [groupName] }),
      );
      await autoScaling.send(
        new DetachLoadBalancerTargetGroupsCommand({
          AutoScalingGroupName: groupName,
          TargetGroupARNs: group.AutoScalingGroups?.[0]?.TargetGroupARNs ?? [],
        }),
      );
    } finally {
      autoScaling.destroy();
    }
    await traced('operator', 'cluster-create', `${name}-update`, args('create'), everyCluster);
    // A snapshot in the bucket: destroy deletes its versions before the bucket.
    const s3 = new S3Client({ ...clientConfig(moto), forcePathStyle: true });
    try {
      await s3.send(
        new PutObjectCommand({ Bucket: `${name}-etcd-backups`, Key: `${name}/etcd/snap.db`, Body: 'x' }),
      );
    } finally {
      s3.destroy();
    }
    await traced('operator', 'cluster-destroy', `${name}-destroy`, args('destroy', '--yes'), everyCluster);
  }

  /**
   * kboot cluster upgrade: an AMI roll of a cluster `kboot cluster create` made with one
   * control-plane instance and one worker, the instances played by FleetPlayer (a surge, the
   * health gate through admin.conf, a termination through the group, for each).
   */
  async function upgradeRoll(): Promise<void> {
    const dir = tempDir('kboot-iam-upgrade-');
    const size = { controlPlane: 1, workers: 1 };
    const cluster = await arrangeCluster(moto, dir, size);
    const player = new FleetPlayer(moto);
    try {
      await player.tick();
      player.start();
      const spec = cluster.specFile('ami.yaml', upgradeSpec(cluster.network, cluster.newAmi, '1.31.2', size));
      await traced('operator', 'cluster-upgrade', 'upgrade', (trace) =>
        upgrade(
          ['-f', spec, '--yes'],
          upgradeEnv(moto, player.fleet.clusterDir, { KBOOT_TRACE_AWS_CALLS: trace }),
          dir,
        ),
      );
      await player.tick();
      assert.equal(player.left.length, 2, 'both instances replaced');
    } finally {
      await player.stop();
    }
  }

  function tracesOf(role: IamRole, options: { everyCluster: boolean }): TracedAwsCall[] {
    return runs
      .filter((run) => run.role === role && (options.everyCluster || !run.everyCluster))
      .flatMap((run) => run.calls);
  }

  before(async () => {
    moto = await startMoto();
    traceDir = tempDir('kboot-iam-');
    // No apiEndpoint in the node config: the first master discovers the API load balancer (ELBv2).
    // IRSA on: the first master publishes the OIDC documents to the bucket (S3).
    sim = new SimCluster(moto, {
      name: CLUSTER,
      nodeConfig: `addons: { irsa: { bucket: ${IRSA_BUCKET} } }\n`,
    });
    await sim.createTable();
    const s3 = new S3Client({ ...clientConfig(moto), forcePathStyle: true });
    try {
      await s3.send(new CreateBucketCommand({ Bucket: IRSA_BUCKET }));
    } finally {
      s3.destroy();
    }
    await createLoadBalancer(moto, `${CLUSTER}-api`, { [`kubernetes.io/cluster/${CLUSTER}`]: 'owned' });

    // control-plane: bootstrap, a join (tags off), identity and status on masters (rotate: last)
    const first = await sim.addInstance('control-plane');
    await traced('control-plane', 'boot', 'boot-bootstrap', onInstance(first, ['boot', '--output', 'json']));
    const second = withoutMetadataTags(await sim.addInstance('control-plane'));
    await traced('control-plane', 'join-master', 'join-master', onInstance(second, ['join-master']));
    await traced('control-plane', 'identity', 'identity', onInstance(second, ['identity']));
    await traced('control-plane', 'approve-csrs', 'approve-csrs', onInstance(second, ['approve-csrs']));
    await traced(
      'control-plane',
      'status',
      'status',
      onInstance(first, ['status'], { AWS_REGION: undefined }),
    );

    // worker: a join through boot (tags on), a join-node and identity (tags off)
    const worker = await sim.addInstance('worker');
    await traced('worker', 'boot', 'boot', onInstance(worker, ['boot']));
    const untagged = withoutMetadataTags(await sim.addInstance('worker'));
    await traced('worker', 'join-node', 'join-node', onInstance(untagged, ['join-node']));
    await traced('worker', 'identity', 'identity', onInstance(untagged, ['identity']));

    // A worker at an upgrade's target reads the members' versions (a dry run: it reads, then
    // reports the wait instead of waiting); the upgrade is taken out again for what follows.
    await setUpgrade(moto, sim.table, UPGRADE_FOR_TRACE);
    const target = await sim.addInstance('worker', { FAKE_KUBEADM_VERSION: 'v1.32.0' });
    await traced('worker', 'join-node', 'join-node-upgrade', onInstance(target, ['join-node', '--dry-run']));
    await setUpgrade(moto, sim.table, undefined);

    // operator: kubeconfig, status of the cluster and of every cluster, ami
    await traced(
      'operator',
      'kubeconfig',
      'kubeconfig',
      fromLaptop(['kubeconfig', '--cluster', CLUSTER, '--print']),
    );
    await traced('operator', 'status', 'status-cluster', fromLaptop(['status', '--cluster', CLUSTER]));
    await traced('operator', 'status', 'status-all', fromLaptop(['status']), true);
    const ec2 = testEc2(moto);
    try {
      const run = await ec2.send(
        new RunInstancesCommand({ ImageId: 'ami-12c6146b', MinCount: 1, MaxCount: 1 }),
      );
      const image = await ec2.send(
        new CreateImageCommand({ InstanceId: run.Instances?.[0]?.InstanceId as string, Name: 'kboot-1.31' }),
      );
      await ec2.send(
        new CreateTagsCommand({
          Resources: [image.ImageId as string],
          Tags: [{ Key: 'kboot.io/version', Value: '0.1.0' }],
        }),
      );
    } finally {
      ec2.destroy();
    }
    await traced(
      'operator',
      'ami',
      'ami',
      fromLaptop(['ami', '--tag', 'kboot.io/version=0.1.0', '--owner', 'self']),
    );

    // operator: kboot cluster plan / create / destroy, in the shared table (scoped to one
    // cluster) and with a table of its own (every cluster: the table is created and deleted)
    await clusterCommands('ops', undefined, false);
    await clusterCommands('solo', 'solo-state', true);
    await upgradeRoll();

    // control-plane, last (it moves the clock): rotate 17 h after init renews the token (7 h
    // left, under the 8 h default margin) and the certificate key (lapsed after 2 h)
    // The recording kubectl: a leaving master drains with it.
    const kubectlEnv = {
      KBOOT_KUBECTL: fakeKubectlPath(),
      FAKE_KUBECTL_STATE_DIR: path.join(sim.clusterDir, 'api'),
    };
    const help = await sim.run(first, ['rotate', '--help']);
    rotateAvailable = help.exitCode === 0 && help.stdout.includes('--renew-before');
    if (rotateAvailable) {
      const rotated = await traced(
        'control-plane',
        'rotate',
        'rotate',
        onInstance(first, ['rotate', '--output', 'json'], {
          KBOOT_CLOCK_OFFSET_MS: String(17 * 3_600_000),
          ...kubectlEnv,
        }),
      );
      const result = JSON.parse(rotated.stdout) as {
        token: { action: string };
        certificateKey: { action: string };
      };
      assert.deepEqual([result.token.action, result.certificateKey.action], ['renewed', 'renewed']);
    }

    // kboot leave, last (instances leave): a worker and a master in a group with the hook, through
    // the lifecycle stub (the two Auto Scaling actions moto lacks; the rest goes to moto).
    stub = await startLifecycleStub(moto.endpoint);
    await createLeaveGroup(moto, 'iam-leave', [worker.instanceId, second.instanceId]);
    seedObjects(kubectlEnv.FAKE_KUBECTL_STATE_DIR, [
      nodeObject(worker.privateDns),
      nodeObject(second.privateDns),
    ]);
    const leaveEnv = {
      ...kubectlEnv,
      AWS_ENDPOINT_URL_AUTO_SCALING: stub.endpoint,
      FAKE_KUBECTL_DRAIN_MS: '2500',
      KBOOT_CLOCK_OFFSET_MS: String(17 * 3_600_000),
    };
    // kboot boot-failed (kboot-boot-failed.service, a boot that spent its retries): finds the
    // instance's group and marks it unhealthy; a master also records lastFailure.
    const spent = { MONITOR_SERVICE_RESULT: 'start-limit-hit', MONITOR_EXIT_STATUS: '4' };
    await traced('worker', 'boot', 'boot-failed-worker', onInstance(worker, ['boot-failed'], spent));
    await traced('control-plane', 'boot', 'boot-failed-master', onInstance(second, ['boot-failed'], spent));

    // The worker asks the control plane to drain it and waits; the first master's leave
    // controller (as its timer runs it) checks the request with Auto Scaling and EC2 (the
    // simulation's node names are EC2's), drains the worker and deletes its Node, and, 11 minutes
    // on, forgets the finished request.
    stub.openAction('iam-leave', 'kboot-leave', worker.instanceId);
    const workerTrace = path.join(traceDir, 'worker-leave-worker.jsonl');
    const leaving = sim.spawn(worker, ['leave', '--heartbeat-interval', '1s'], {
      env: { ...leaveEnv, KBOOT_TRACE_AWS_CALLS: workerTrace },
    });
    const dynamo = testDynamo(moto);
    try {
      for (let tries = 0; ; tries += 1) {
        const out = await dynamo.send(
          new QueryCommand({
            TableName: sim.table,
            KeyConditionExpression: 'pk = :pk',
            ExpressionAttributeValues: { ':pk': { S: `leave#${CLUSTER}` } },
          }),
        );
        if ((out.Items ?? []).length > 0) break;
        assert.ok(tries < 100, 'the worker wrote its leave request');
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    } finally {
      dynamo.destroy();
    }
    const controllerTrace = path.join(traceDir, 'control-plane-leave-controller.jsonl');
    for (const offsetMs of [17 * 3_600_000, 17 * 3_600_000 + 11 * 60_000]) {
      const controller = await sim.run(first, ['leave-controller'], {
        env: { ...leaveEnv, KBOOT_TRACE_AWS_CALLS: controllerTrace, KBOOT_CLOCK_OFFSET_MS: String(offsetMs) },
      });
      assert.equal(controller.exitCode, 0, controller.stderr.slice(-2000));
    }
    const workerLeave = await leaving.result;
    assert.equal(workerLeave.exitCode, 0, `drained: ${workerLeave.stderr.slice(-2000)}`);
    runs.push({
      role: 'worker',
      command: 'leave',
      label: 'leave-worker',
      everyCluster: false,
      calls: readAwsCalls(workerTrace),
    });
    runs.push({
      role: 'control-plane',
      command: 'leave-controller',
      label: 'leave-controller',
      everyCluster: false,
      calls: readAwsCalls(controllerTrace),
    });
    // The master (tags off): this test has no etcd, so its etcd step fails (exit 6) after the
    // AWS calls; the lifecycle action is completed all the same, and every call was traced.
    stub.openAction('iam-leave', 'kboot-leave', second.instanceId);
    const masterTrace = path.join(traceDir, 'control-plane-leave-master.jsonl');
    const masterLeave = await sim.run(second, ['leave', '--heartbeat-interval', '1s'], {
      env: { ...leaveEnv, KBOOT_TRACE_AWS_CALLS: masterTrace, KBOOT_ETCD_ENDPOINTS: 'https://127.0.0.1:9' },
    });
    assert.equal(masterLeave.exitCode, 6, masterLeave.stderr.slice(-2000));
    assert.deepEqual(stub.openActions(), [], 'both lifecycle actions completed');
    runs.push({
      role: 'control-plane',
      command: 'leave',
      label: 'leave-master',
      everyCluster: false,
      calls: readAwsCalls(masterTrace),
    });
  });

  after(async () => {
    await stub?.stop();
    await sim?.stop();
    await moto?.stop();
  });

  it('traced the flows it meant to', (t) => {
    const names = (label: string) => callNames(runs.find((run) => run.label === label)?.calls ?? []);
    assert.deepEqual(
      names('join-node-upgrade'),
      ['dynamodb:GetItem', 'secretsmanager:GetSecretValue', 'dynamodb:Query'],
      "a worker at an upgrade's target reads the members",
    );
    assert.ok(names('boot-bootstrap').includes('dynamodb:TransactWriteItems'), 'the init transaction');
    assert.ok(names('boot-bootstrap').includes('secretsmanager:CreateSecret'), 'secrets created');
    assert.deepEqual(
      names('boot-bootstrap').filter((name) => name.startsWith('s3:')),
      ['s3:PutObject', 's3:PutObject'],
      'the two OIDC documents',
    );
    assert.ok(names('join-master').includes('ec2:DescribeTags'), 'tags from EC2');
    assert.deepEqual(names('status'), ['dynamodb:Query'], "a master's status reads its own cluster");
    assert.deepEqual(names('status-all'), ['dynamodb:Scan']);
    assert.deepEqual(names('kubeconfig'), ['dynamodb:GetItem', 'secretsmanager:GetSecretValue']);
    assert.deepEqual(names('ami'), ['ec2:DescribeImages']);
    for (const call of [
      'autoscaling:TerminateInstanceInAutoScalingGroup',
      'autoscaling:UpdateAutoScalingGroup',
      'dynamodb:TransactWriteItems',
      'ec2:DescribeInstances',
      'ec2:CreateLaunchTemplateVersion',
      'secretsmanager:GetSecretValue',
    ]) {
      assert.ok(names('upgrade').includes(call), `upgrade: ${call}`);
    }
    for (const label of ['leave-worker', 'leave-master']) {
      for (const call of [
        'autoscaling:RecordLifecycleActionHeartbeat',
        'autoscaling:CompleteLifecycleAction',
      ]) {
        assert.ok(names(label).includes(call), `${label}: ${call}`);
      }
    }
    assert.ok(names('leave-master').includes('dynamodb:DeleteItem'), "the master's member record removed");
    assert.deepEqual(
      [...new Set(names('leave-worker').filter((name) => name.startsWith('dynamodb:')))].sort(),
      ['dynamodb:GetItem', 'dynamodb:PutItem'],
      'the worker writes and reads its leave request',
    );
    for (const call of [
      'dynamodb:Query',
      'dynamodb:UpdateItem',
      'dynamodb:DeleteItem',
      'ec2:DescribeInstances',
    ]) {
      assert.ok(names('leave-controller').includes(call), `leave-controller: ${call}`);
    }
    if (!rotateAvailable) t.diagnostic('kboot rotate is not in this build: its calls were not traced');
    for (const role of ['control-plane', 'worker', 'operator'] as const) {
      t.diagnostic(`${role}: ${iamActionsOf(tracesOf(role, { everyCluster: true })).join(', ')}`);
    }
  });

  for (const role of ['control-plane', 'worker', 'operator'] as const) {
    it(`the ${role} policy for one cluster allows exactly the actions its commands called`, async () => {
      // The traced runs use IRSA (the first master publishes, cluster create makes the bucket),
      // and cluster create makes the etcd snapshots' bucket.
      const { document } = await printedPolicy(role, [
        ...scoped,
        '--irsa-bucket',
        IRSA_BUCKET,
        ...backup(role),
      ]);
      assertPolicyShape(document, role);
      assert.deepEqual(actionsOf(document), iamActionsOf(tracesOf(role, { everyCluster: false })));
    });

    if (role === 'operator') {
      it(`the ${role} policy for every cluster allows exactly the actions its commands called`, async () => {
        const { document } = await printedPolicy(role, ['--irsa-bucket', IRSA_BUCKET, ...backup(role)]);
        assertPolicyShape(document, `${role} (every cluster)`);
        assert.deepEqual(actionsOf(document), iamActionsOf(tracesOf(role, { everyCluster: true })));
      });
    } else {
      it(`refuses a ${role} policy for every cluster (exit 2): its writes need --cluster`, async () => {
        const result = await runKboot(['iam-policy', '--role', role]);
        assert.equal(result.exitCode, 2, result.stderr);
        assert.equal(result.stdout, '');
        assert.match(result.stderr, new RegExp(`--role ${role} needs --cluster`));
      });
    }

    it(`the ${role} policy with a KMS key adds exactly what Secrets Manager asks of the key`, async () => {
      const { document } = await printedPolicy(role, [
        ...scoped,
        '--kms-key-arn',
        KMS_KEY_ARN,
        '--irsa-bucket',
        IRSA_BUCKET,
        ...backup(role),
      ]);
      assertPolicyShape(document, `${role} (KMS)`);
      assert.deepEqual(
        actionsOf(document),
        iamActionsOf(tracesOf(role, { everyCluster: false }), { kmsKey: true }),
      );
      // The statements for Secrets Manager's use of the key (cluster create manages keys by ARN too).
      const onBehalf = (a: string) => a === 'kms:Decrypt' || a === 'kms:GenerateDataKey';
      for (const statement of document.Statement.filter((s) => s.Action.some(onBehalf))) {
        assert.deepEqual(statement.Resource, [KMS_KEY_ARN], statement.Sid);
        assert.equal(
          statement.Condition?.StringEquals?.['kms:ViaService'],
          `secretsmanager.${REGION}.amazonaws.com`,
          statement.Sid,
        );
      }
    });
  }

  it("each command's traced calls are within what the catalogue says that command needs", () => {
    for (const run of runs) {
      const needed = commandActions(run.role, run.command);
      for (const action of iamActionsOf(run.calls, { kmsKey: true })) {
        assert.ok(
          needed.includes(action as never),
          `${run.role} ${run.label} called ${action}, not granted to it`,
        );
      }
    }
  });

  it('never lets a worker read the control-plane or admin.conf secrets, nor write any (it reads join only)', async () => {
    for (const extra of [scoped, [...scoped, '--kms-key-arn', KMS_KEY_ARN, '--irsa-bucket', IRSA_BUCKET]]) {
      const { document } = await printedPolicy('worker', extra);
      for (const statement of document.Statement) {
        for (const value of statementStrings(statement)) {
          assert.doesNotMatch(value, /control-plane|admin\.conf/, `${statement.Sid}: ${value}`);
          if (value.includes(':secretsmanager:')) {
            assert.match(value, /:secret:kboot\/[^/]+\/join-\?{6}$/);
          }
        }
        for (const action of statement.Action.filter((a) => a.startsWith('secretsmanager:'))) {
          assert.equal(action, 'secretsmanager:GetSecretValue', statement.Sid);
        }
      }
    }
  });

  it('scopes DynamoDB to the cluster by leading key, and Scan only to a policy for every cluster', async () => {
    for (const role of ['control-plane', 'worker', 'operator'] as const) {
      const { document } = await printedPolicy(role, scoped);
      for (const statement of document.Statement.filter((s) =>
        s.Action.some((a) => a.startsWith('dynamodb:')),
      )) {
        assert.deepEqual(statement.Resource, [`arn:aws:dynamodb:${REGION}:${ACCOUNT}:table/kboot`]);
        // The cluster's items, or its leave requests (a partition of their own; a worker writes
        // there only with a request's attributes), or both: the operator's, whose destroy deletes
        // both partitions.
        const leave = statement.Sid.startsWith('Leave') && statement.Sid.includes('LeaveRequest');
        const both = role === 'operator' && statement.Sid === 'ClusterState';
        const { 'dynamodb:Attributes': _attributes, ...keys } =
          statement.Condition?.['ForAllValues:StringEquals'] ?? {};
        assert.deepEqual(
          { ...statement.Condition, 'ForAllValues:StringEquals': keys },
          {
            'ForAllValues:StringEquals': {
              'dynamodb:LeadingKeys': both
                ? [`cluster#${CLUSTER}`, `leave#${CLUSTER}`]
                : [`${leave ? 'leave' : 'cluster'}#${CLUSTER}`],
            },
          },
          `${role} ${statement.Sid}`,
        );
        assert.ok(!statement.Action.includes('dynamodb:Scan'), `${role} ${statement.Sid} scans`);
      }
    }
  });

  it('lets only the control plane write to S3: the two OIDC document keys, only in the --irsa-bucket given', async () => {
    const keys = ['.well-known/openid-configuration', 'openid/v1/jwks'];
    const s3Statements = (document: Document) =>
      document.Statement.filter((statement) => statement.Action.some((action) => action.startsWith('s3:')));
    const statements = s3Statements(
      (await printedPolicy('control-plane', [...scoped, '--irsa-bucket', IRSA_BUCKET])).document,
    );
    assert.equal(statements.length, 1);
    assert.deepEqual(statements[0]?.Action, ['s3:PutObject']);
    assert.deepEqual(
      statements[0]?.Resource,
      keys.map((key) => `arn:aws:s3:::${IRSA_BUCKET}/${key}`),
    );
    // Without IRSA no S3 statement at all: never a write to any bucket of the account.
    const plain = await runKboot([
      'iam-policy',
      '--role',
      'control-plane',
      '--cluster',
      'prod',
      '--account',
      '111122223333',
    ]);
    assert.equal(plain.exitCode, 0, plain.stderr);
    assert.ok(!plain.stdout.includes('arn:aws:s3:::*'), plain.stdout);
    assert.deepEqual(s3Statements(JSON.parse(plain.stdout) as Document), []);
    for (const role of ['operator'] as const) {
      const unscoped = await printedPolicy(role, scoped);
      assert.deepEqual(s3Statements(unscoped.document), [], `${role} without --irsa-bucket`);
    }
    const worker = await printedPolicy('worker', [...scoped, '--irsa-bucket', IRSA_BUCKET]);
    assert.deepEqual(s3Statements(worker.document), [], 'worker');
    // The operator manages the IRSA bucket itself (cluster create/destroy), never its documents.
    const operator = await printedPolicy('operator', [...scoped, '--irsa-bucket', IRSA_BUCKET]);
    for (const statement of s3Statements(operator.document)) {
      assert.ok(!statement.Action.includes('s3:PutObject' as never), statement.Sid);
      for (const resource of statement.Resource)
        assert.match(resource, new RegExp(`^arn:aws:s3:::${IRSA_BUCKET}(/\\*)?$`));
    }
  });

  it("warns an operator policy without --backup-bucket that it has no statement for the snapshots' bucket", async () => {
    const without = await printedPolicy('operator', scoped);
    assert.match(without.result.stderr, /no --backup-bucket: no statement for the etcd snapshots' bucket/);
    assert.ok(!without.document.Statement.some((s) => s.Sid === 'ClusterManageBackupBucket'));
    const given = await printedPolicy('operator', [...scoped, '--backup-bucket', BACKUP_BUCKET]);
    assert.doesNotMatch(given.result.stderr, /no --backup-bucket/);
    const statement = given.document.Statement.find((s) => s.Sid === 'ClusterManageBackupBucket');
    assert.deepEqual(statement?.Resource, [
      `arn:aws:s3:::${BACKUP_BUCKET}`,
      `arn:aws:s3:::${BACKUP_BUCKET}/*`,
    ]);
  });

  it('uses --table, KBOOT_TABLE and the default table, makes no AWS call, and notes what is left open', async () => {
    const trace = path.join(traceDir, 'iam-policy.jsonl');
    const table = (document: Document) =>
      document.Statement.flatMap((s) => s.Resource).find((r) => r.includes(':dynamodb:'));
    const byFlag = await printedPolicy('operator', ['--table', 'state'], { KBOOT_TRACE_AWS_CALLS: trace });
    assert.equal(table(byFlag.document), 'arn:aws:dynamodb:*:*:table/state');
    const byEnv = await printedPolicy('operator', [], { KBOOT_TABLE: 'from-env' });
    assert.equal(table(byEnv.document), 'arn:aws:dynamodb:*:*:table/from-env');
    assert.equal(table((await printedPolicy('operator')).document), 'arn:aws:dynamodb:*:*:table/kboot');
    assert.deepEqual(readAwsCalls(trace), []);
    const notes = byFlag.result.logs.map((line) => String(line.msg));
    assert.ok(
      notes.some((msg) => /no --cluster: .*every cluster in table state/.test(msg)),
      notes.join('\n'),
    );
    assert.ok(notes.some((msg) => /no --region/.test(msg)));
    assert.ok(notes.some((msg) => /no --account/.test(msg)));
  });

  it("--cloud-controller adds the AWS cloud-controller-manager's statement, and nothing else, to the control-plane policy", async () => {
    const { document: plain } = await printedPolicy('control-plane', scoped);
    const { document } = await printedPolicy('control-plane', [...scoped, '--cloud-controller']);
    assertPolicyShape(document, 'control-plane (cloud controller)');
    // kboot's own statements are unchanged (still exactly its traced calls, checked above); the
    // added one is not kboot's: its actions are the CCM's documented prerequisites, not unused grants.
    assert.deepEqual(
      document.Statement.filter((statement) => statement.Sid !== CLOUD_CONTROLLER_SID),
      plain.Statement,
    );
    const ccm = document.Statement.find((statement) => statement.Sid === CLOUD_CONTROLLER_SID);
    assert.deepEqual(ccm?.Action, [...CLOUD_CONTROLLER_ACTIONS]);
    assert.deepEqual(ccm?.Resource, ['*']);
  });

  const refusals: { label: string; args: string[]; message: RegExp }[] = [
    {
      label: '--cloud-controller for a role other than the control plane',
      args: ['--role', 'worker', '--cloud-controller'],
      message: /--cloud-controller is for --role control-plane, not worker/,
    },
    { label: 'an unknown role', args: ['--role', 'admin'], message: /admin/ },
    {
      label: 'a worker policy without --cluster',
      args: ['--role', 'worker'],
      message: /--role worker needs --cluster/,
    },
    { label: 'a bad account', args: ['--role', 'worker', '--account', '1234'], message: /12 digits/ },
    { label: 'a bad region', args: ['--role', 'worker', '--region', 'mars'], message: /invalid --region/ },
    { label: 'a bad cluster name', args: ['--role', 'worker', '--cluster', 'a/b'], message: /cluster name/ },
    {
      label: 'a dotted IRSA bucket',
      args: ['--role', 'control-plane', '--irsa-bucket', 'oidc.example.com'],
      message: /invalid --irsa-bucket \\"oidc\.example\.com\\"/,
    },
    {
      label: 'a key alias',
      args: ['--role', 'worker', '--kms-key-arn', `arn:aws:kms:${REGION}:${ACCOUNT}:alias/kboot`],
      message: /expected the ARN of a KMS key/,
    },
    {
      label: 'a key in another region',
      args: ['--role', 'worker', '--region', 'eu-west-1', '--kms-key-arn', KMS_KEY_ARN],
      message: /is in region us-east-1, not eu-west-1/,
    },
  ];
  for (const { label, args, message } of refusals) {
    it(`refuses ${label} with exit code 2 and nothing on stdout`, async () => {
      const result = await runKboot(['iam-policy', ...args]);
      assert.equal(result.exitCode, 2, result.stderr);
      assert.equal(result.stdout, '');
      assert.match(result.stderr, message);
    });
  }
});
