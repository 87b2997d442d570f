/**
 * The etcd recover flow over fake ports: a fake etcd whose "kubelet" restarts it whenever kubeadm's
 * manifest changes (with --force-new-cluster: it keeps only itself as member), a member registry,
 * the manifest in a temp root. The real etcd is in test/integration/etcd/recover.test.ts.
 */

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { FsRoot } from '../../../../src/adapters/fs/root.js';
import { systemClock } from '../../../../src/core/clock.js';
import { ClusterTimeoutError, IncompatibleError, UsageError } from '../../../../src/core/errors.js';
import type { EtcdMember } from '../../../../src/domain/etcd/members.js';
import {
  decideRecovery,
  hasForceNewCluster,
  withForceNewCluster,
} from '../../../../src/domain/etcd/recover.js';
import {
  ETCD_MANIFEST,
  etcdRecoverFlow,
  type RecoverDeps,
  SAVED_MANIFEST,
} from '../../../../src/domain/flows/etcd-recover.js';
import type { Identity } from '../../../../src/domain/identity/resolve.js';
import type { Role } from '../../../../src/domain/identity/tags.js';
import type { MemberRecord } from '../../../../src/domain/state/member.js';
import { FlowStopped, runFlow } from '../../../../src/domain/steps/runner.js';
import { silentLogger } from '../../../support/silent-logger.js';

const MANIFEST = `apiVersion: v1
kind: Pod
metadata:
  name: etcd
  namespace: kube-system
spec:
  containers:
  - command:
    - etcd
    - --advertise-client-urls=https://10.0.1.10:2379
    - --data-dir=/var/lib/etcd
    - --name=a
    image: registry.k8s.io/etcd:3.5.21-0
    name: etcd
  hostNetwork: true
`;

const roots: string[] = [];
after(() => {
  for (const root of roots) rmSync(root, { recursive: true, force: true });
});

const member = (id: string, name: string): EtcdMember => ({
  id,
  name,
  peerUrls: [`https://${name}:2380`],
  clientUrls: [`https://${name}:2379`],
  isLearner: false,
});

interface Scenario {
  role?: Role;
  /** Names of the other members that still answer a probe. */
  alive?: string[];
  leader?: string;
  members?: EtcdMember[];
  /** The manifest when the run starts (default kubeadm's). */
  manifest?: string;
  saved?: string;
  /** The fake kubelet never restarts etcd. */
  kubeletDead?: boolean;
  dryRun?: boolean;
}

async function run(scenario: Scenario) {
  const root = mkdtempSync(path.join(tmpdir(), 'kboot-recover-'));
  roots.push(root);
  const fs = new FsRoot(root);
  await fs.writePrivateFile(ETCD_MANIFEST, scenario.manifest ?? MANIFEST);
  if (scenario.saved !== undefined) await fs.writePrivateFile(SAVED_MANIFEST, scenario.saved);
  const events: string[] = [];
  let members = scenario.members ?? [member('1', 'a'), member('2', 'b'), member('3', 'c')];
  let leader = scenario.leader ?? '0';
  let term = 7n;
  let runningWithFlag = hasForceNewCluster(scenario.manifest ?? MANIFEST, ETCD_MANIFEST);
  /** What the kubelet does when it sees the manifest: restart etcd if its command changed. */
  const kubelet = async () => {
    if (scenario.kubeletDead === true) return;
    const flag = hasForceNewCluster((await fs.readText(ETCD_MANIFEST)) ?? '', ETCD_MANIFEST);
    if (flag === runningWithFlag) return;
    runningWithFlag = flag;
    term += 1n;
    events.push(`etcd restarted ${flag ? 'with' : 'without'} --force-new-cluster`);
    if (flag) members = members.filter((m) => m.id === '1');
    leader = members.length === 1 ? '1' : leader;
  };
  const records: MemberRecord[] = [
    { instanceId: 'i-a', role: 'control-plane', joinedAt: '2026-12-01T00:00:00Z', nodeName: 'a' },
    { instanceId: 'i-b', role: 'control-plane', joinedAt: '2026-12-01T00:00:00Z', nodeName: 'b' },
    { instanceId: 'i-c', role: 'control-plane', joinedAt: '2026-12-01T00:00:00Z', nodeName: 'c' },
    { instanceId: 'i-w', role: 'worker', joinedAt: '2026-12-01T00:00:00Z', nodeName: 'b' },
  ];
  const deps: RecoverDeps = {
    logger: silentLogger(),
    clock: systemClock,
    fs,
    pollMs: 2,
    waitTimeoutMs: scenario.kubeletDead === true ? 300 : 10_000,
    identity: async (): Promise<Identity> => ({
      instance: {
        instanceId: 'i-a',
        region: 'us-east-1',
        availabilityZone: 'us-east-1a',
        privateIpv4: '10.0.1.10',
        accountId: '123456789012',
        instanceType: 't3.medium',
        imageId: 'ami-1',
        architecture: 'x86_64',
      },
      clusterName: 'prod',
      role: scenario.role ?? 'control-plane',
      tableFromTag: undefined,
      tagsSource: 'instance-metadata',
    }),
    etcd: async () => ({
      list: async () => {
        await kubelet();
        return members;
      },
      status: async () => {
        await kubelet();
        return { memberId: '1', leader, raftTerm: String(term) };
      },
      probe: async (probed) =>
        (scenario.alive ?? []).includes(probed.name)
          ? { alive: true }
          : { alive: false, reason: 'connection refused' },
    }),
    members: async () => ({
      list: async () => records,
      remove: async (_cluster, instanceId) => {
        events.push(`record ${instanceId} removed`);
      },
    }),
  };
  let error: unknown;
  let result: Awaited<ReturnType<typeof runFlow<object, RecoverDeps, unknown>>> | undefined;
  try {
    result = await runFlow(
      etcdRecoverFlow,
      deps,
      {
        logger: deps.logger,
        clock: systemClock,
        signal: new AbortController().signal,
        dryRun: scenario.dryRun === true,
        undoBudgetMs: 5000,
        stopGraceMs: 1000,
      },
      {},
    );
  } catch (caught) {
    error = caught instanceof FlowStopped ? caught.failure.error : caught;
  }
  return {
    events,
    error,
    result: result?.result as { outcome: string; dropped: string[]; removedRecords: string[] } | undefined,
    planned: result?.planned ?? [],
    manifest: await fs.readText(ETCD_MANIFEST),
    saved: await fs.readText(SAVED_MANIFEST),
  };
}

describe('the etcd recover flow', () => {
  it('makes the survivor a one-member cluster, puts the manifest back without the flag, drops the records', async () => {
    const { events, error, result, manifest, saved } = await run({});
    assert.equal(error, undefined);
    assert.deepEqual(events, [
      'etcd restarted with --force-new-cluster',
      'etcd restarted without --force-new-cluster',
      'record i-b removed',
      'record i-c removed',
    ]);
    assert.equal(result?.outcome, 'recovered');
    assert.deepEqual(result?.dropped, ['b', 'c']);
    assert.equal(manifest, MANIFEST);
    assert.equal(saved, undefined);
  });

  it('refuses (exit 2) while another member answers, changing nothing', async () => {
    const { events, error, manifest } = await run({ alive: ['c'] });
    assert.ok(error instanceof UsageError);
    assert.equal(error.exitCode, 2);
    assert.match(error.message, /member\(s\) c \(https:\/\/c:2379\) still answer/);
    assert.deepEqual(events, []);
    assert.equal(manifest, MANIFEST);
  });

  it('refuses (exit 2) while etcd has a leader: quorum is there', async () => {
    const { error, manifest } = await run({ leader: '2' });
    assert.ok(error instanceof UsageError);
    assert.match(error.message, /has a leader \(member 2\): quorum is there/);
    assert.equal(manifest, MANIFEST);
  });

  it('does nothing on a member that is already alone', async () => {
    const { error, result, events } = await run({ members: [member('1', 'a')], leader: '1' });
    assert.equal(error, undefined);
    assert.equal(result?.outcome, 'nothing');
    assert.deepEqual(events, []);
  });

  it('a run stopped after the flag was added is finished by the next one', async () => {
    const flagged = withForceNewCluster(MANIFEST, ETCD_MANIFEST);
    const { error, events, manifest, saved } = await run({
      manifest: flagged,
      saved: MANIFEST,
      members: [member('1', 'a')],
      leader: '1',
    });
    assert.equal(error, undefined);
    assert.deepEqual(events, [
      'etcd restarted without --force-new-cluster',
      'record i-b removed',
      'record i-c removed',
    ]);
    assert.equal(manifest, MANIFEST);
    assert.equal(saved, undefined);
  });

  it('a run stopped after the manifest was put back is finished too (records, the saved copy)', async () => {
    const { error, events, manifest, saved, result } = await run({
      saved: MANIFEST,
      members: [member('1', 'a')],
      leader: '1',
    });
    assert.equal(error, undefined);
    assert.equal(result?.outcome, 'recovered');
    assert.deepEqual(events, ['record i-b removed', 'record i-c removed']);
    assert.equal(manifest, MANIFEST);
    assert.equal(saved, undefined);
  });

  it('a run stopped after saving the manifest forces the new cluster as a first run would', async () => {
    const { error, events, saved } = await run({ saved: MANIFEST });
    assert.equal(error, undefined);
    assert.deepEqual(events.slice(0, 2), [
      'etcd restarted with --force-new-cluster',
      'etcd restarted without --force-new-cluster',
    ]);
    assert.equal(saved, undefined);
  });

  it('etcd never comes back: times out and puts kubeadm’s manifest back (undo)', async () => {
    const { error, manifest } = await run({ kubeletDead: true });
    assert.ok(error instanceof ClusterTimeoutError, String(error));
    assert.match(error.message, /come back as a one-member cluster/);
    assert.equal(manifest, MANIFEST);
  });

  it('--dry-run: the plan, nothing changed; a worker is refused (exit 9)', async () => {
    const { planned, events, manifest, result } = await run({ dryRun: true });
    assert.deepEqual(
      planned.map((step) => step.step),
      [
        'save-manifest',
        'force-new-cluster',
        'wait-one-member',
        'drop-flag',
        'member-records',
        'forget-saved-manifest',
      ],
    );
    assert.equal(result?.outcome, 'planned');
    assert.deepEqual(events, []);
    assert.equal(manifest, MANIFEST);
    const worker = await run({ role: 'worker' });
    assert.ok(worker.error instanceof IncompatibleError);
  });
});

describe('the recovery decision and the manifest edit', () => {
  const status = { memberId: '1', leader: '0', raftTerm: '5' };
  it('refuses when the local member is not in its own list', () => {
    const decision = decideRecovery([member('2', 'b')], status, [], false);
    assert.equal(decision.action, 'refuse');
  });

  it('adds the flag once and removes every spelling of it, keeping the rest', () => {
    const once = withForceNewCluster(MANIFEST, ETCD_MANIFEST);
    assert.equal(withForceNewCluster(once, ETCD_MANIFEST), once);
    assert.match(once, /- --force-new-cluster\n/);
    assert.ok(
      hasForceNewCluster(once.replace('--force-new-cluster', '--force-new-cluster=true'), ETCD_MANIFEST),
    );
    assert.throws(
      () => hasForceNewCluster('kind: Pod\nspec: {}\n', ETCD_MANIFEST),
      /not kubeadm's etcd static Pod/,
    );
  });
});
