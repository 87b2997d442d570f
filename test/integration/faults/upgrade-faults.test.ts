/**
 * Faults during `kboot cluster upgrade`, to the built binary against moto (the cluster and its
 * played instances of test/support/upgrade-cluster.ts): SIGTERM as each kind of step starts (the
 * lease, the record, the launch templates, a control-plane replacement, a worker batch), and the
 * upgrade lease stolen mid-replacement. Each stop exits with its code (130, or 8 for the lost
 * lease), releases the lease it still holds and records where it stopped; the next run goes on
 * from there. At the end one rerun finishes, and over all the runs every instance was replaced
 * exactly once and the control plane never went below 3.
 */

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { DynamoDbClusterStore } from '../../../src/adapters/aws/dynamodb-cluster-store.js';
import type { ClusterRecord } from '../../../src/domain/state/cluster-record.js';
import { testDynamo } from '../../support/aws.js';
import { type RunResult, spawnKboot } from '../../support/cli.js';
import { type Moto, startMoto } from '../../support/moto.js';
import { tempDir } from '../../support/paths.js';
import {
  type ArrangedCluster,
  arrangeCluster,
  FleetPlayer,
  UPGRADE_CLUSTER,
  upgrade,
  upgradeEnv,
  upgradeSpec,
} from '../../support/upgrade-cluster.js';
import { readItem, stealLease } from './harness.js';

const LEASE_MS = 3000;

describe('kboot cluster upgrade under faults (moto)', () => {
  let moto: Moto;
  let dir: string;
  let cluster: ArrangedCluster;
  let player: FleetPlayer;
  let env: Record<string, string | undefined>;
  let spec: string;
  let originals: string[];

  before(async () => {
    moto = await startMoto();
    dir = tempDir('kboot-upgrade-faults-');
    cluster = await arrangeCluster(moto, dir);
    player = new FleetPlayer(moto);
    await player.tick();
    originals = player.current().map((p) => p.instanceId);
    player.start();
    env = upgradeEnv(moto, player.fleet.clusterDir, { KBOOT_UPGRADE_LEASE_MS: String(LEASE_MS) });
    spec = cluster.specFile('ami.yaml', upgradeSpec(cluster.network, cluster.newAmi));
  });

  after(async () => {
    await player?.stop();
    await moto?.stop();
  });

  async function record(): Promise<ClusterRecord | undefined> {
    const dynamodb = testDynamo(moto);
    try {
      return await new DynamoDbClusterStore({ dynamodb, tableName: 'kboot' }).readRecord(UPGRADE_CLUSTER);
    } finally {
      dynamodb.destroy();
    }
  }

  async function lockOwner(): Promise<unknown> {
    return (await readItem(moto, UPGRADE_CLUSTER, 'lock#upgrade'))?.owner;
  }

  /** Runs the upgrade and acts when a step whose name matches `step` starts; the step acted at. */
  async function actAt(
    step: RegExp,
    act: (pid: number) => Promise<void>,
  ): Promise<{ result: RunResult; at: string | undefined }> {
    let at: string | undefined;
    const running = spawnKboot(['cluster', 'upgrade', '--name', UPGRADE_CLUSTER, '-f', spec, '--yes'], {
      env,
      cwd: dir,
      timeoutMs: 60_000,
      onStderrLine: (line) => {
        if (at !== undefined || !line.startsWith('{')) return;
        const parsed = JSON.parse(line) as Record<string, unknown>;
        if (parsed.phase !== 'run' || !step.test(String(parsed.step))) return;
        at = String(parsed.step);
        void act(running.child.pid as number);
      },
    });
    return { result: await running.result, at };
  }

  const sigterm = async (pid: number) => {
    process.kill(pid, 'SIGTERM');
  };

  for (const step of [
    /^upgrade-lease$/,
    /^record-upgrade$/,
    /^launch-templates$/,
    /^replace-control-plane-/,
  ]) {
    it(`SIGTERM at ${step.source}: exit 130, the lease released, the stop recorded`, async () => {
      const { result, at } = await actAt(step, sigterm);
      assert.ok(at !== undefined, `step ${step.source} was not reached: ${result.stderr.slice(-1500)}`);
      assert.equal(result.exitCode, 130, result.stderr.slice(-1500));
      const owner = await lockOwner();
      if (at === 'upgrade-lease' && owner !== undefined) {
        // The stop cut off the answer to an acquiring write that DynamoDB applied: this run never
        // learnt it held the lease, so the next run takes it over after one lease (below).
        assert.match(String(owner), /@/, 'held by the operator that was stopped');
      } else {
        assert.equal(owner, undefined, 'the upgrade lease was released');
      }
      const upgrade = (await record())?.upgrade;
      if (upgrade !== undefined) {
        assert.equal(upgrade.stopped?.step, at);
        assert.match(upgrade.stopped?.reason ?? '', /interrupted/);
      } else {
        assert.match(at, /^(upgrade-lease|record-upgrade)$/, 'nothing recorded only before the record step');
      }
    });
  }

  it('a stolen upgrade lease stops the roll (exit 8) and nothing more is recorded; the rerun takes over', async () => {
    let doneAtSteal = -1;
    const { result, at } = await actAt(/^replace-control-plane-/, async () => {
      doneAtSteal = (await record())?.upgrade?.done.length ?? -1;
      await stealLease(moto, UPGRADE_CLUSTER, 'upgrade', 'thief@elsewhere', LEASE_MS);
    });
    assert.ok(at !== undefined, result.stderr.slice(-1500));
    assert.equal(result.exitCode, 8, result.stderr.slice(-1500));
    assert.match(result.error?.msg ?? '', /upgrade lease/);
    assert.equal(await lockOwner(), 'thief@elsewhere', 'the thief keeps the lease');
    assert.equal((await record())?.upgrade?.done.length, doneAtSteal, 'no progress recorded after the loss');
  });

  it('SIGTERM at a worker batch after the takeover, then a rerun finishes: everything replaced once', async () => {
    const stopped = await actAt(/^replace-workers-/, sigterm);
    assert.ok(stopped.at !== undefined, stopped.result.stderr.slice(-1500));
    assert.equal(stopped.result.exitCode, 130, stopped.result.stderr.slice(-1500));
    assert.match((await record())?.upgrade?.stopped?.step ?? '', /^replace-workers-/);

    const rerun = await upgrade(['-f', spec, '--yes'], env, dir);
    assert.equal(rerun.exitCode, 0, rerun.stderr.slice(-2000));
    const done = (await record())?.upgrade;
    assert.equal(done?.phase, 'done');
    assert.deepEqual(done?.done.map((d) => d.instanceId).sort(), [...originals].sort());
    await player.tick();
    assert.deepEqual([...player.left].sort(), [...originals].sort(), 'every original left once');
    assert.equal(player.appeared.length, originals.length * 2, 'one new instance per replaced one');
    assert.ok(player.current().every((p) => p.imageId === cluster.newAmi));
    assert.ok(player.minControlPlane >= 3, `the control plane went down to ${player.minControlPlane}`);
  });
});
