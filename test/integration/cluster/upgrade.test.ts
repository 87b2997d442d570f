/**
 * `kboot cluster upgrade` end to end: the built binary against moto, on a cluster `kboot cluster
 * create` made (3 control-plane and 2 worker instances in their Auto Scaling groups), the
 * instances played by FleetPlayer (test/support/upgrade-cluster.ts) in the fake kubeadm's
 * simulated cluster, the full health gate, the ClusterConfiguration and the addons through the
 * fake kubectl.
 * - refusals (exit 2, nothing changed): two minors ahead, an AMI that does not exist, a cluster
 *   that fails the gate before starting (an etcd alarm);
 * - --dry-run prints the roll's steps and changes nothing;
 * - an AMI roll stopped by SIGTERM records where it stopped; the rerun resumes and finishes:
 *   every instance replaced once, the control plane never below 3, status shows it;
 * - a gate that does not pass stops the roll (exit 6): one instance surged, none removed;
 * - a minor upgrade (1.31.2 → 1.32.0): kubeadm-config at the target, control planes joining at
 *   it, kube-proxy and CoreDNS at the target's images, workers replaced, the record at 1.32.0; an
 *   etcd alarm raised after the first new member joined stops it (exit 6) and the rerun finishes.
 */

import assert from 'node:assert/strict';
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { AutoScalingClient, DescribeAutoScalingGroupsCommand } from '@aws-sdk/client-auto-scaling';
import { CopyImageCommand } from '@aws-sdk/client-ec2';
import { DynamoDbClusterStore } from '../../../src/adapters/aws/dynamodb-cluster-store.js';
import type { ClusterRecord } from '../../../src/domain/state/cluster-record.js';
import { readObject } from '../../fixtures/lib/fake-kubectl/store.mjs';
import { clientConfig, testDynamo, testEc2 } from '../../support/aws.js';
import { runKboot, spawnKboot } from '../../support/cli.js';
import { clusterStore, setReady } from '../../support/cluster-objects.js';
import { type Moto, startMoto } from '../../support/moto.js';
import { tempDir } from '../../support/paths.js';
import {
  type ArrangedCluster,
  arrangeCluster,
  FleetPlayer,
  OLD_AMI,
  UPGRADE_CLUSTER,
  upgrade,
  upgradeEnv,
  upgradeSpec,
} from '../../support/upgrade-cluster.js';
import { adminConf } from '../../unit/domain/kubeconfig/fixtures.js';

async function readRecord(moto: Moto): Promise<ClusterRecord> {
  const dynamodb = testDynamo(moto);
  try {
    const record = await new DynamoDbClusterStore({ dynamodb, tableName: 'kboot' }).readRecord(
      UPGRADE_CLUSTER,
    );
    assert.ok(record !== undefined);
    return record;
  } finally {
    dynamodb.destroy();
  }
}

async function templateVersions(moto: Moto): Promise<string[]> {
  const autoScaling = new AutoScalingClient(clientConfig(moto));
  try {
    const groups = (await autoScaling.send(new DescribeAutoScalingGroupsCommand({}))).AutoScalingGroups ?? [];
    return groups.map((g) => `${g.AutoScalingGroupName}:${g.LaunchTemplate?.Version}`).sort();
  } finally {
    autoScaling.destroy();
  }
}

/** The kubeadm-config ClusterConfiguration the simulated cluster holds (as kubeadm uploaded it, or as last written). */
function clusterConfiguration(clusterDir: string): string {
  const cluster = JSON.parse(readFileSync(path.join(clusterDir, 'cluster.json'), 'utf8')) as {
    clusterConfigurationDocument?: string;
    clusterConfiguration?: unknown;
  };
  return cluster.clusterConfigurationDocument ?? JSON.stringify(cluster.clusterConfiguration);
}

describe('kboot cluster upgrade (moto)', () => {
  // One moto for the whole file, not reset between tests: they follow one cluster through its rolls.
  let moto: Moto;
  let dir: string;
  let cluster: ArrangedCluster;
  let player: FleetPlayer;
  let env: Record<string, string | undefined>;
  /** The binary's TMPDIR: where it writes the admin kubeconfig for its lifetime. */
  let tmp: string;

  before(async () => {
    moto = await startMoto();
    dir = tempDir('kboot-upgrade-');
  });

  after(async () => {
    await player?.stop();
    await moto?.stop();
  });

  it('arranges a created cluster whose instances have joined', async () => {
    cluster = await arrangeCluster(moto, dir);
    player = new FleetPlayer(moto);
    await player.tick();
    assert.equal(player.current().length, 5);
    player.start();
    tmp = tempDir('kboot-upgrade-tmp-');
    env = upgradeEnv(moto, player.fleet.clusterDir, { TMPDIR: tmp });
  });

  it('refuses what it cannot do, with exit 2 and every reason, changing nothing', async () => {
    const versions = await templateVersions(moto);
    const twoMinors = await upgrade(
      ['-f', cluster.specFile('two.yaml', upgradeSpec(cluster.network, cluster.newAmi, '1.33.0')), '--yes'],
      env,
      dir,
    );
    assert.equal(twoMinors.exitCode, 2, twoMinors.stderr.slice(-2000));
    assert.match(twoMinors.error?.msg ?? '', /more than one minor after the cluster's 1\.31\.2/);

    const planned = await runKboot(
      [
        'cluster',
        'plan',
        '--name',
        UPGRADE_CLUSTER,
        '-f',
        cluster.specFile('minor.yaml', upgradeSpec(cluster.network, cluster.newAmi, '1.32.0')),
      ],
      { env, cwd: dir },
    );
    assert.equal(planned.exitCode, 0, planned.stderr.slice(-2000));
    assert.match(
      planned.stdout,
      /upgrade: 1\.31\.2 → 1\.32\.0 \(a minor upgrade\): 'kboot cluster upgrade --name roll -f SPEC --dry-run' shows the roll/,
    );

    const noImage = await upgrade(
      [
        '-f',
        cluster.specFile('noimage.yaml', upgradeSpec(cluster.network, 'ami-0123456789abcdef0')),
        '--yes',
      ],
      env,
      dir,
    );
    assert.equal(noImage.exitCode, 2, noImage.stderr.slice(-2000));
    assert.match(noImage.error?.msg ?? '', /AMI ami-0123456789abcdef0 is not available/);

    const firstNode = player.current().find((p) => p.group.includes('control-plane'));
    assert.ok(firstNode !== undefined);
    const alarms = path.join(player.fleet.clusterDir, 'etcd-alarms');
    writeFileSync(alarms, `${firstNode.nodeName} NOSPACE\n`);
    const unhealthy = await upgrade(
      ['-f', cluster.specFile('ami.yaml', upgradeSpec(cluster.network, cluster.newAmi)), '--yes'],
      env,
      dir,
    );
    rmSync(alarms);
    assert.equal(unhealthy.exitCode, 2, unhealthy.stderr.slice(-2000));
    assert.match(
      unhealthy.error?.msg ?? '',
      new RegExp(
        `fails the health gate before starting: etcd alarms: NOSPACE raised on ${firstNode.nodeName}`,
      ),
    );

    assert.equal((await readRecord(moto)).upgrade, undefined);
    assert.deepEqual(await templateVersions(moto), versions);
    assert.equal(player.left.length, 0);
  });

  it('prints the roll with --dry-run and changes nothing', async () => {
    const versions = await templateVersions(moto);
    const dry = await upgrade(
      ['-f', cluster.specFile('ami.yaml', upgradeSpec(cluster.network, cluster.newAmi)), '--dry-run'],
      env,
      dir,
    );
    assert.equal(dry.exitCode, 0, dry.stderr.slice(-2000));
    const steps = dry.stdout.split('\n').filter((line) => /^ {2}\d+\. /.test(line));
    assert.equal(steps.length, 3 + 3 + 2 + 1, dry.stdout);
    assert.match(steps[0] ?? '', /take the upgrade lease/);
    assert.match(steps[2] ?? '', /new version of launch templates control-plane, workers-apps/);
    assert.match(steps[3] ?? '', /replace control-plane instance i-/);
    assert.match(steps[6] ?? '', /replace worker i-\w+ of group kboot-roll-workers-apps/);
    assert.match(steps[8] ?? '', /record the upgrade done/);
    assert.equal((await readRecord(moto)).upgrade, undefined);
    assert.deepEqual(await templateVersions(moto), versions);
  });

  it('records where a SIGTERM stopped the roll, and the rerun resumes and finishes', async () => {
    const spec = cluster.specFile('ami.yaml', upgradeSpec(cluster.network, cluster.newAmi));
    const originals = player.current().map((p) => p.instanceId);
    const running = spawnKboot(['cluster', 'upgrade', '--name', UPGRADE_CLUSTER, '-f', spec, '--yes'], {
      env,
      cwd: dir,
      timeoutMs: 90_000,
    });
    let exited = false;
    void running.result.then(() => {
      exited = true;
    });
    while (!exited && ((await readRecord(moto)).upgrade?.done.length ?? 0) < 1)
      await new Promise((resolve) => setTimeout(resolve, 20));
    running.child.kill('SIGTERM');
    const stopped = await running.result;
    assert.equal(stopped.exitCode, 130, stopped.stderr.slice(-2000));
    const half = await readRecord(moto);
    assert.equal(half.upgrade?.phase, 'control-plane');
    assert.match(half.upgrade?.stopped?.reason ?? '', /interrupted/);
    assert.equal(half.upgrade?.total, 5);

    const status = await runKboot(['status', '--cluster', UPGRADE_CLUSTER], { env });
    assert.equal(status.exitCode, 0, status.stderr);
    assert.match(
      status.stdout,
      /upgrade +1\.31\.2 → 1\.31\.2; phase control-plane; \d\/5 instance\(s\) replaced; .*STOPPED .*interrupted/,
    );

    const rerun = await upgrade(['-f', spec, '--yes', '--output', 'json'], env, dir);
    assert.equal(rerun.exitCode, 0, rerun.stderr.slice(-3000));
    const done = await readRecord(moto);
    assert.equal(done.upgrade?.phase, 'done');
    assert.equal(done.upgrade?.stopped, undefined);
    assert.deepEqual(done.upgrade?.done.map((d) => d.instanceId).sort(), [...originals].sort());
    await player.tick();
    assert.deepEqual(player.left.sort(), [...originals].sort(), 'every original left once');
    assert.equal(player.appeared.length, 10, 'five instances launched for five replaced: nothing twice');
    assert.ok(player.current().every((p) => p.imageId === cluster.newAmi));
    assert.ok(player.minControlPlane >= 3, `the control plane went down to ${player.minControlPlane}`);
  });

  it('stops at a gate that does not pass: one instance surged, none removed, exit 6', async () => {
    const ec2 = testEc2(moto);
    const third = await ec2.send(
      new CopyImageCommand({ SourceImageId: OLD_AMI, SourceRegion: 'us-east-1', Name: 'kboot-third' }),
    );
    ec2.destroy();
    const before = player.appeared.length;
    const left = player.left.length;
    player.notReady = () => true;
    const spec = cluster.specFile('third.yaml', upgradeSpec(cluster.network, third.ImageId as string));
    const failed = await upgrade(['-f', spec, '--yes'], env, dir);
    player.notReady = () => false;
    assert.equal(failed.exitCode, 6, failed.stderr.slice(-2000));
    assert.match(
      failed.error?.msg ?? '',
      /the health gate after i-\w+ joined .*nodes: ip-[\d-]+\.ec2\.internal is not Ready \(Ready False: KubeletNotReady\)/,
    );
    await player.tick();
    assert.equal(player.appeared.length, before + 1, 'one instance surged');
    assert.equal(player.left.length, left, 'no instance removed');
    const record = await readRecord(moto);
    assert.match(record.upgrade?.stopped?.step ?? '', /^replace-control-plane-i-/);
    assert.match(record.upgrade?.stopped?.reason ?? '', /is not Ready \(Ready False/);
  });

  it('leaves no admin kubeconfig behind and never logs it', async () => {
    assert.deepEqual(readdirSync(tmp), [], 'the 0600 admin.conf and its directory are removed');
    // The operator fixes the Node the failed gate named, then looks at the roll again.
    for (const played of player.current())
      setReady(player.fleet.clusterDir, { kind: 'Node', name: played.nodeName }, 'True');
    const dry = await upgrade(
      [
        '-f',
        cluster.specFile('ami.yaml', upgradeSpec(cluster.network, cluster.newAmi)),
        '--dry-run',
        '--log-level',
        'debug',
      ],
      env,
      dir,
    );
    assert.equal(dry.exitCode, 0, dry.stderr.slice(-2000));
    assert.ok(!dry.stderr.includes(adminConf().keyData), 'the admin key is not in the log');
    assert.ok(!dry.stdout.includes(adminConf().keyData), 'nor in the output');
    assert.deepEqual(readdirSync(tmp), []);
  });

  it('upgrades 1.31.2 to 1.32.0: kubeadm-config, control planes, addons, workers, record; an etcd alarm stops it', async () => {
    // The gate test above left a roll to its AMI stopped: finish it first (a rerun resumes it).
    const resumed = await upgrade(['-f', path.join(dir, 'third.yaml'), '--yes'], env, dir);
    assert.equal(resumed.exitCode, 0, resumed.stderr.slice(-2000));

    const ec2 = testEc2(moto);
    const image = await ec2.send(
      new CopyImageCommand({ SourceImageId: OLD_AMI, SourceRegion: 'us-east-1', Name: 'kboot-1.32.0' }),
    );
    ec2.destroy();
    const ami = image.ImageId as string;
    player.versions.set(ami, 'v1.32.0');
    const spec = cluster.specFile('v132.yaml', upgradeSpec(cluster.network, ami, '1.32.0'));
    const originals = player.current().map((p) => p.instanceId);
    const alarms = path.join(player.fleet.clusterDir, 'etcd-alarms');
    let alarmed: string | undefined;
    player.joined = (instance, clusterDir) => {
      if (alarmed !== undefined || instance.imageId !== ami) return;
      alarmed = instance.nodeName;
      writeFileSync(path.join(clusterDir, 'etcd-alarms'), `${instance.nodeName} NOSPACE\n`);
    };
    const stopped = await upgrade(['-f', spec, '--yes'], env, dir);
    player.joined = () => {};
    assert.equal(stopped.exitCode, 6, stopped.stderr.slice(-2000));
    assert.ok(alarmed !== undefined);
    assert.match(stopped.error?.msg ?? '', new RegExp(`etcd alarms: NOSPACE raised on ${alarmed}`));
    assert.equal((await readRecord(moto)).upgrade?.phase, 'control-plane');
    assert.equal(player.left.filter((id) => originals.includes(id)).length, 0, 'nothing removed');
    assert.match(clusterConfiguration(player.fleet.clusterDir), /kubernetesVersion"?: *"?v1\.32\.0/);

    rmSync(alarms);
    const rerun = await upgrade(['-f', spec, '--yes'], env, dir);
    assert.equal(rerun.exitCode, 0, rerun.stderr.slice(-3000));
    await player.tick();
    const record = await readRecord(moto);
    assert.equal(record.kubernetesVersion, '1.32.0');
    assert.equal(record.upgrade?.phase, 'done');
    assert.ok(
      player.current().every((p) => p.imageId === ami),
      'every instance on the 1.32.0 AMI',
    );
    assert.ok(
      originals.every((id) => player.left.includes(id)),
      'every 1.31.2 instance left',
    );
    assert.ok(player.minControlPlane >= 3, `the control plane went down to ${player.minControlPlane}`);
    const members = JSON.parse(readFileSync(path.join(player.fleet.clusterDir, 'members.json'), 'utf8')) as {
      role: string;
      versions: { kubelet: string; kubeApiserver?: string };
    }[];
    assert.equal(members.length, 5);
    for (const member of members) {
      assert.equal(member.versions.kubelet, 'v1.32.0');
      if (member.role === 'control-plane') assert.equal(member.versions.kubeApiserver, 'v1.32.0');
    }
    const store = clusterStore(player.fleet.clusterDir);
    const image0 = (name: string, kind: string) =>
      (
        readObject(store, { group: 'apps', kind, namespace: 'kube-system', name }) as unknown as {
          spec: { template: { spec: { containers: { image: string }[] } } };
        }
      ).spec.template.spec.containers[0]?.image;
    assert.equal(image0('kube-proxy', 'DaemonSet'), 'registry.k8s.io/kube-proxy:v1.32.0');
    assert.equal(image0('coredns', 'Deployment'), 'registry.k8s.io/coredns/coredns:v1.11.3');

    const status = await runKboot(['status', '--cluster', UPGRADE_CLUSTER], { env });
    assert.equal(status.exitCode, 0, status.stderr);
    assert.match(status.stdout, /upgrade +1\.31\.2 → 1\.32\.0; phase done; 5\/5 instance\(s\) replaced/);
  });
});
