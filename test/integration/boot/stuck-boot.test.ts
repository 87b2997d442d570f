/**
 * A boot that cannot succeed ends in replacement: `kboot boot-failed`, as kboot-boot-failed.service
 * runs it (systemd's MONITOR_* variables), through the built binary against moto's Auto Scaling
 * (SetInstanceHealth) and DynamoDB (the cluster record's lastFailure).
 */

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AutoScalingClient, DescribeAutoScalingInstancesCommand } from '@aws-sdk/client-auto-scaling';
import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { STUCK_BOOT_STEP } from '../../../src/cli/handlers/boot-failed.js';
import { testDynamo } from '../../support/aws.js';
import { useBootSuite } from '../../support/boot-suite.js';
import type { SimCluster, SimInstance } from '../../support/cluster-sim.js';
import { createLeaveGroup } from '../../support/leave-group.js';

const GROUP = 'stuck-control-plane';
const SPENT = {
  MONITOR_SERVICE_RESULT: 'start-limit-hit',
  MONITOR_EXIT_CODE: 'exited',
  MONITOR_EXIT_STATUS: '4',
};

describe('kboot boot-failed', () => {
  const boot = useBootSuite();
  const moto = boot.moto;

  /** An initialized cluster, and a second control-plane instance (not booted) in an Auto Scaling group. */
  async function stuckMaster(name: string, inGroup = true): Promise<{ sim: SimCluster; stuck: SimInstance }> {
    const sim = await boot.cluster({ name });
    const first = await sim.addInstance('control-plane');
    const booted = await sim.run(first, ['boot', '--output', 'json']);
    assert.equal(booted.exitCode, 0, booted.stderr.slice(-2000));
    const stuck = await sim.addInstance('control-plane');
    if (inGroup) await createLeaveGroup(moto, GROUP, [stuck.instanceId], { hook: false });
    return { sim, stuck };
  }

  async function health(instanceId: string): Promise<string | undefined> {
    const client = new AutoScalingClient({
      endpoint: moto.endpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
    });
    try {
      const out = await client.send(new DescribeAutoScalingInstancesCommand({ InstanceIds: [instanceId] }));
      return out.AutoScalingInstances?.[0]?.HealthStatus;
    } finally {
      client.destroy();
    }
  }

  async function lastFailure(cluster: string): Promise<Record<string, string> | undefined> {
    const dynamodb = testDynamo(moto);
    try {
      const out = await dynamodb.send(
        new GetItemCommand({
          TableName: 'kboot',
          Key: { pk: { S: `cluster#${cluster}` }, sk: { S: 'meta' } },
          ConsistentRead: true,
        }),
      );
      return out.Item === undefined
        ? undefined
        : (unmarshall(out.Item).lastFailure as Record<string, string>);
    } finally {
      dynamodb.destroy();
    }
  }

  it('marks the instance unhealthy in its group and records why, once the restart budget is spent', async () => {
    const { sim, stuck } = await stuckMaster('spent');
    assert.equal((await health(stuck.instanceId))?.toUpperCase(), 'HEALTHY');
    const result = await sim.run(stuck, ['boot-failed', '--output', 'json'], { env: SPENT });
    assert.equal(result.exitCode, 0, result.stderr.slice(-2000));
    const out = JSON.parse(result.stdout) as {
      replace: boolean;
      markedUnhealthy: boolean;
      recorded: boolean;
    };
    assert.deepEqual([out.replace, out.markedUnhealthy, out.recorded], [true, true, true]);
    assert.equal((await health(stuck.instanceId))?.toUpperCase(), 'UNHEALTHY');
    const failure = await lastFailure('spent');
    assert.equal(failure?.by, stuck.instanceId);
    assert.equal(failure?.step, STUCK_BOOT_STEP);
    assert.match(failure?.message ?? '', /restart budget was spent \(last attempt: exited with 4\)/);
    // The reason is in the log too (the journal of kboot-boot-failed.service).
    assert.match(result.stderr, /restart budget was spent/);
  });

  it('does not replace an instance whose config or tags are wrong: a replacement would fail the same way', async () => {
    const { sim, stuck } = await stuckMaster('bad-input');
    const result = await sim.run(stuck, ['boot-failed', '--output', 'json'], {
      env: { MONITOR_SERVICE_RESULT: 'exit-code', MONITOR_EXIT_CODE: 'exited', MONITOR_EXIT_STATUS: '2' },
    });
    assert.equal(result.exitCode, 0, result.stderr.slice(-2000));
    assert.equal((await health(stuck.instanceId))?.toUpperCase(), 'HEALTHY');
    assert.match((await lastFailure('bad-input'))?.message ?? '', /exit status 2 .*fix the input/);
  });

  it('says so when the instance is in no Auto Scaling group', async () => {
    const { sim, stuck } = await stuckMaster('no-group', false);
    const result = await sim.run(stuck, ['boot-failed', '--output', 'json'], { env: SPENT });
    assert.equal(result.exitCode, 0, result.stderr.slice(-2000));
    const out = JSON.parse(result.stdout) as { markedUnhealthy: boolean };
    assert.equal(out.markedUnhealthy, false);
    assert.match(result.stderr, /not in an Auto Scaling group: nothing will replace it/);
  });
});
