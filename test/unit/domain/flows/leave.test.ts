/**
 * The leave flow over fake ports that record one shared event list: step order, what runs after
 * a failure, the drain deadline, the etcd quorum refusal, no Auto Scaling group, and --dry-run; a
 * worker asks the control plane to drain it (a leave request) and waits, never running kubectl.
 * Each fake throws on a call it was not set up for. (End to end: test/integration/leave.test.ts.)
 */

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { FsRoot } from '../../../../src/adapters/fs/root.js';
import { type Clock, systemClock } from '../../../../src/core/clock.js';
import { ClusterTimeoutError, KubectlError, StateConflictError } from '../../../../src/core/errors.js';
import type { EtcdMember } from '../../../../src/domain/etcd/members.js';
import type { LeaveDeps, LeaveResult } from '../../../../src/domain/flows/leave/types.js';
import { leaveFlow } from '../../../../src/domain/flows/leave.js';
import { ADMIN_CONF_PATH } from '../../../../src/domain/flows/paths.js';
import type { Identity } from '../../../../src/domain/identity/resolve.js';
import type { Role } from '../../../../src/domain/identity/tags.js';
import type { LifecycleActions } from '../../../../src/domain/leave/lifecycle.js';
import type {
  LeaveRequest,
  LeaveRequestState,
  NewLeaveRequest,
} from '../../../../src/domain/leave/request.js';
import type { KubeadmRunner } from '../../../../src/domain/ports/kubeadm.js';
import type { KubectlRunner } from '../../../../src/domain/ports/kubectl.js';
import { FlowStopped, runFlow } from '../../../../src/domain/steps/runner.js';
import type { PlannedStep, RunSettings } from '../../../../src/domain/steps/step.js';
import { silentLogger } from '../../../support/silent-logger.js';

const NODE = 'ip-10-0-1-10.ec2.internal';
const roots: string[] = [];
after(() => {
  for (const root of roots) rmSync(root, { recursive: true, force: true });
});

interface Scenario {
  role: Role;
  group?: boolean;
  /** kubectl subcommand → what it does. */
  kubectl?: Record<string, () => Promise<string>>;
  members?: EtcdMember[];
  dryRun?: boolean;
  /** What the control plane makes of a worker's request, after `afterReads` reads (default: done at once). */
  controlPlane?: { state: LeaveRequestState | 'never'; afterReads?: number; delayMs?: number };
  /** The request the state table already holds (a re-run). */
  existingRequest?: LeaveRequestState;
  /** A clock whose sleeps pass at once (1 ms each), for deadlines. */
  fastClock?: boolean;
  /** The snapshot before leaving: taken, backup not configured, or failing (absent: no snapshot port). */
  snapshot?: 'taken' | 'no-bucket' | 'fails';
}

function member(id: string, name: string, ip: string): EtcdMember {
  return { id, name, peerUrls: [`https://${ip}:2380`], clientUrls: [`https://${ip}:2379`], isLearner: false };
}

async function run(scenario: Scenario) {
  const events: string[] = [];
  const kubeconfigs: string[] = [];
  const root = mkdtempSync(path.join(tmpdir(), 'kboot-leave-'));
  roots.push(root);
  const fs = new FsRoot(root);
  if (scenario.role === 'control-plane') {
    await fs.writePrivateFile(ADMIN_CONF_PATH, 'admin.conf');
    await fs.writePrivateFile('/etc/kubernetes/manifests/etcd.yaml', 'etcd');
  }
  const unexpected = (what: string) => async (): Promise<never> => {
    throw new Error(`unexpected call: ${what}`);
  };
  const kubectl: KubectlRunner = {
    run: async (args, options) => {
      const name = args[0] === 'get' && args[1] === 'pods' ? 'get pods' : (args[0] as string);
      events.push(`kubectl ${name}`);
      kubeconfigs.push(options.kubeconfigPath);
      const behaviour = scenario.kubectl?.[name];
      return { stdout: behaviour === undefined ? `${name} ok\n` : await behaviour(), stderr: '' };
    },
  };
  const kubeadm: KubeadmRunner = {
    run: async (args) => {
      events.push(`kubeadm ${args.join(' ')}`);
      return '';
    },
  };
  const lifecycle: LifecycleActions = {
    findGroup: async () =>
      scenario.group === false ? undefined : { groupName: 'workers', lifecycleState: 'Terminating:Wait' },
    findHook: async (_group, name) => ({
      name,
      transition: 'autoscaling:EC2_INSTANCE_TERMINATING',
      heartbeatTimeoutSeconds: 300,
      defaultResult: 'CONTINUE',
    }),
    recordHeartbeat: async () => {
      events.push('heartbeat');
    },
    complete: async (_action, result) => {
      events.push(`complete ${result}`);
      return 'completed';
    },
  };
  const members = [...(scenario.members ?? [])];
  let virtualMs = Date.now();
  const clock: Clock =
    scenario.fastClock === true
      ? {
          nowMs: () => virtualMs,
          monotonicMs: () => virtualMs,
          sleepMs: async (ms, signal) => {
            await systemClock.sleepMs(1, signal);
            virtualMs += ms;
          },
        }
      : systemClock;
  let request: LeaveRequest | undefined =
    scenario.existingRequest === undefined
      ? undefined
      : {
          instanceId: 'i-self',
          nodeName: NODE,
          privateIp: '10.0.1.10',
          drainTimeoutSeconds: 1,
          requestedAt: new Date().toISOString(),
          state: scenario.existingRequest,
          detail: 'drained earlier',
        };
  let reads = 0;
  const requested: NewLeaveRequest[] = [];
  const leaveRequests = {
    put: async (_cluster: string, asked: NewLeaveRequest) => {
      events.push(`request ${asked.instanceId}`);
      requested.push(asked);
      request = { ...asked, state: undefined };
      return 'written' as const;
    },
    read: async () => {
      if (request !== undefined && requested.length > 0) {
        reads += 1;
        const plane = scenario.controlPlane ?? { state: 'done' };
        if (plane.delayMs !== undefined) await new Promise((resolve) => setTimeout(resolve, plane.delayMs));
        if (plane.state !== 'never' && reads > (plane.afterReads ?? 0)) {
          request = {
            ...request,
            state: plane.state,
            claimedBy: 'i-master',
            detail: `${plane.state} by the fake`,
          };
        }
      }
      return request;
    },
    list: unexpected('list'),
    claim: unexpected('claim'),
    finish: unexpected('finish'),
    remove: unexpected('remove'),
  };
  const deps = {
    logger: silentLogger(),
    clock,
    fs,
    config: {},
    settings: {
      dryRun: scenario.dryRun === true,
      waitTimeoutMs: 1000,
      leaseMs: 1000,
      kubeadmTimeoutMs: 1000,
      addonTimeoutMs: 1000,
      tokenTtlMs: 1000,
      minMaterialLifeMs: 1000,
      pollMs: scenario.fastClock === true ? 5_000 : 10,
    },
    identity: async (): Promise<Identity> => ({
      instance: {
        instanceId: 'i-self',
        region: 'us-east-1',
        availabilityZone: 'us-east-1a',
        privateIpv4: '10.0.1.10',
        accountId: '123456789012',
        instanceType: 't3.medium',
        imageId: 'ami-1',
        architecture: 'x86_64',
      },
      clusterName: 'prod',
      role: scenario.role,
      tableFromTag: undefined,
      tagsSource: 'instance-metadata',
    }),
    privateDnsName: async () => NODE,
    state: unexpected('state'),
    joinMaterial: unexpected('joinMaterial'),
    oidcPublisher: unexpected('oidcPublisher'),
    pkiSecrets: unexpected('pkiSecrets'),
    discoverApiEndpoint: unexpected('discoverApiEndpoint'),
    kubeadm,
    kubectl,
    lifecycle: async () => lifecycle,
    etcd: async () => ({
      list: async () => members,
      remove: async (id: string) => {
        events.push(`etcd remove ${id}`);
      },
    }),
    members: async () => ({
      removeMember: async (_cluster: string, instanceId: string) => {
        events.push(`member record ${instanceId}`);
      },
    }),
    leaveRequests: async () => leaveRequests,
    ...(scenario.snapshot === undefined
      ? {}
      : {
          snapshotEtcd: async (signal: AbortSignal) => {
            events.push('etcd snapshot');
            assert.equal(signal.aborted, false);
            if (scenario.snapshot === 'fails') throw new ClusterTimeoutError('S3 is unavailable');
            return scenario.snapshot === 'taken'
              ? { outcome: 'taken', summary: 'snapshot s3://b/prod/etcd/x.db' }
              : { outcome: 'no-bucket', summary: 'no backup bucket configured' };
          },
        }),
    cleanup: {
      registry: unexpected('registry'),
      instances: unexpected('instances'),
      etcd: unexpected('cleanup etcd'),
      nodes: unexpected('nodes'),
      etcdEndpointsOverride: undefined,
    },
  } satisfies LeaveDeps;
  const options = {
    hookName: 'kboot-leave',
    drainTimeoutMs: 1000,
    heartbeatIntervalMs: scenario.fastClock === true ? 10_000 : 20,
  };
  const settings: RunSettings = {
    logger: deps.logger,
    clock: systemClock,
    signal: new AbortController().signal,
    dryRun: scenario.dryRun === true,
    undoBudgetMs: 10_000,
    stopGraceMs: 1_000,
  };
  let error: unknown;
  let result: LeaveResult | undefined;
  let steps: { planned: PlannedStep[] } = { planned: [] };
  try {
    const done = await runFlow(leaveFlow, deps, settings, { options });
    result = done.result;
    steps = done;
  } catch (caught) {
    error = caught instanceof FlowStopped ? caught.failure.error : caught;
  }
  return { events, kubeconfigs, result, error, steps, requested };
}

const withoutHeartbeats = (events: string[]) => events.filter((event) => event !== 'heartbeat');

describe('the leave flow', () => {
  it('a worker: asks the control plane to drain it, waits, resets, then completes the action; no kubectl', async () => {
    const { events, kubeconfigs, result, error, requested } = await run({ role: 'worker' });
    assert.equal(error, undefined);
    assert.deepEqual(withoutHeartbeats(events), ['request i-self', 'kubeadm reset -f', 'complete CONTINUE']);
    assert.deepEqual(kubeconfigs, [], 'a worker runs no kubectl: it holds no Kubernetes credential');
    assert.deepEqual(requested[0] && { ...requested[0], requestedAt: 'set' }, {
      instanceId: 'i-self',
      nodeName: NODE,
      privateIp: '10.0.1.10',
      drainTimeoutSeconds: 1,
      requestedAt: 'set',
      groupName: 'workers',
      hookName: 'kboot-leave',
    });
    assert.match(
      result?.steps.find((s) => s.step === 'wait-for-drain')?.detail ?? '',
      /i-master\) drained node/,
    );
    for (const step of ['kubeconfig', 'drain', 'delete-node']) {
      assert.match(
        result?.steps.find((s) => s.step === step)?.detail ?? '',
        /holds no Kubernetes credential/,
        step,
      );
    }
    assert.equal(result?.outcome, 'left');
  });

  it('records heartbeats while the control plane drains, and none after the action is completed', async () => {
    const { events } = await run({
      role: 'worker',
      controlPlane: { state: 'done', afterReads: 3, delayMs: 40 },
    });
    const requestAt = events.indexOf('request i-self');
    const resetAt = events.indexOf('kubeadm reset -f');
    assert.ok(
      events.slice(requestAt, resetAt).filter((e) => e === 'heartbeat').length >= 2,
      events.join(', '),
    );
    assert.equal(events.at(-1), 'complete CONTINUE');
  });

  it('a refused request: the worker still resets and completes the action, and the error says why', async () => {
    const { events, error } = await run({ role: 'worker', controlPlane: { state: 'refused' } });
    assert.ok(error instanceof StateConflictError);
    assert.match(error.message, /refused to drain node/);
    assert.deepEqual(withoutHeartbeats(events).slice(-2), ['kubeadm reset -f', 'complete CONTINUE']);
  });

  it('a failed drain on the control plane: exit class kubectl, the leave goes on', async () => {
    const { events, error } = await run({ role: 'worker', controlPlane: { state: 'failed' } });
    assert.ok(error instanceof KubectlError);
    assert.deepEqual(withoutHeartbeats(events).slice(-2), ['kubeadm reset -f', 'complete CONTINUE']);
  });

  it('no control-plane member acts: at the drain deadline plus the margin the worker goes on', async () => {
    const { events, error } = await run({
      role: 'worker',
      controlPlane: { state: 'never' },
      fastClock: true,
    });
    assert.ok(error instanceof ClusterTimeoutError);
    assert.match(error.message, /no control-plane member drained node .* within 1m1s \(request pending\)/);
    assert.deepEqual(withoutHeartbeats(events).slice(-2), ['kubeadm reset -f', 'complete CONTINUE']);
  });

  it('a re-run after the control plane drained the node writes no new request and waits for nothing', async () => {
    const { events, error, result } = await run({ role: 'worker', existingRequest: 'done' });
    assert.equal(error, undefined);
    assert.ok(!events.some((event) => event.startsWith('request')));
    assert.equal(result?.steps.find((s) => s.step === 'leave-request')?.outcome, 'skipped');
  });

  it('a master: a failing drain, the later steps still run, the action is completed, the error is thrown', async () => {
    const failing = async (): Promise<string> => {
      throw new KubectlError('kubectl drain exited 1: the server is on fire');
    };
    const members = [
      member('1', NODE, '10.0.1.10'),
      member('2', 'b', '10.0.1.11'),
      member('3', 'c', '10.0.1.12'),
    ];
    const { events, error } = await run({ role: 'control-plane', members, kubectl: { drain: failing } });
    assert.ok(error instanceof KubectlError);
    assert.deepEqual(withoutHeartbeats(events).slice(-4), [
      'kubeadm reset -f --skip-phases=remove-etcd-member',
      'kubectl delete',
      'member record i-self',
      'complete CONTINUE',
    ]);
  });

  it('the drain deadline: lists the pods left and goes on without failing', async () => {
    const deadline = async (): Promise<string> => {
      throw new KubectlError('kubectl drain exited 1: global timeout reached: 1s');
    };
    const members = [
      member('1', NODE, '10.0.1.10'),
      member('2', 'b', '10.0.1.11'),
      member('3', 'c', '10.0.1.12'),
    ];
    const { events, error, result } = await run({
      role: 'control-plane',
      members,
      kubectl: { drain: deadline },
    });
    assert.equal(error, undefined);
    assert.ok(events.includes('kubectl get pods'));
    assert.match(result?.steps.find((s) => s.step === 'drain')?.detail ?? '', /deadline passed/);
  });

  it('a master: its etcd member removed between drain and reset, reset skips that phase, record removed', async () => {
    const { events, kubeconfigs } = await run({
      role: 'control-plane',
      members: [member('1', NODE, '10.0.1.10'), member('2', 'b', '10.0.1.11'), member('3', 'c', '10.0.1.12')],
    });
    assert.deepEqual(withoutHeartbeats(events), [
      'kubectl get',
      'kubectl drain',
      'etcd remove 1',
      'kubeadm reset -f --skip-phases=remove-etcd-member',
      'kubectl delete',
      'member record i-self',
      'complete CONTINUE',
    ]);
    assert.ok(kubeconfigs.every((file) => file.endsWith('/var/lib/kboot/leave/admin.conf')));
  });

  it('a master with backup configured: a snapshot between the drain and the etcd member removal', async () => {
    const three = [
      member('1', NODE, '10.0.1.10'),
      member('2', 'b', '10.0.1.11'),
      member('3', 'c', '10.0.1.12'),
    ];
    const { events, result, error } = await run({ role: 'control-plane', members: three, snapshot: 'taken' });
    assert.equal(error, undefined);
    assert.deepEqual(withoutHeartbeats(events).slice(0, 4), [
      'kubectl get',
      'kubectl drain',
      'etcd snapshot',
      'etcd remove 1',
    ]);
    assert.deepEqual(
      result?.steps.find((s) => s.step === 'etcd-snapshot'),
      {
        step: 'etcd-snapshot',
        outcome: 'done',
        detail: 'snapshot s3://b/prod/etcd/x.db',
      },
    );
    const none = await run({ role: 'control-plane', members: three, snapshot: 'no-bucket' });
    assert.equal(none.result?.steps.find((s) => s.step === 'etcd-snapshot')?.outcome, 'skipped');
  });

  it('a failed snapshot before leaving is reported and not fatal: the member still leaves, exit 0', async () => {
    const three = [
      member('1', NODE, '10.0.1.10'),
      member('2', 'b', '10.0.1.11'),
      member('3', 'c', '10.0.1.12'),
    ];
    const { events, result, error } = await run({ role: 'control-plane', members: three, snapshot: 'fails' });
    assert.equal(error, undefined);
    assert.ok(events.includes('etcd remove 1') && events.includes('complete CONTINUE'));
    const reported = result?.steps.find((s) => s.step === 'etcd-snapshot');
    assert.equal(reported?.outcome, 'failed');
    assert.match(reported?.detail ?? '', /not fatal.*S3 is unavailable/);
  });

  it('a worker takes no snapshot', async () => {
    const worker = await run({ role: 'worker', snapshot: 'taken' });
    assert.ok(!worker.events.includes('etcd snapshot'));
    assert.equal(worker.result?.steps.find((s) => s.step === 'etcd-snapshot')?.outcome, 'skipped');
  });

  it('a master that is the last etcd member: refuses to remove it, says why, and still leaves', async () => {
    const { events, result, error } = await run({
      role: 'control-plane',
      members: [member('1', NODE, '10.0.1.10')],
    });
    assert.equal(error, undefined);
    assert.ok(!events.some((event) => event.startsWith('etcd remove')));
    assert.match(result?.steps.find((s) => s.step === 'etcd-member')?.detail ?? '', /last etcd member/);
  });

  it('not in an Auto Scaling group: no heartbeats, nothing to complete', async () => {
    const { events, result } = await run({ role: 'worker', group: false });
    assert.ok(!events.includes('heartbeat') && !events.some((event) => event.startsWith('complete')));
    assert.equal(result?.autoScalingGroup, null);
    assert.equal(result?.steps.at(-1)?.outcome, 'skipped');
  });

  it('--dry-run: the named steps in order, nothing run', async () => {
    const { events, steps, result } = await run({ role: 'control-plane', dryRun: true });
    assert.deepEqual(withoutHeartbeats(events), []);
    assert.deepEqual(
      steps.planned.map((change) => change.step),
      [
        'heartbeats',
        'kubeconfig',
        'drain',
        'etcd-snapshot',
        'etcd-member',
        'kubeadm-reset',
        'delete-node',
        'member-record',
        'stop-heartbeats',
        'complete-lifecycle-action',
      ],
    );
    assert.equal(result?.outcome, 'planned');
    const worker = await run({ role: 'worker', dryRun: true });
    assert.deepEqual(withoutHeartbeats(worker.events), []);
    assert.deepEqual(
      worker.steps.planned.map((change) => change.step),
      [
        'heartbeats',
        'leave-request',
        'wait-for-drain',
        'kubeadm-reset',
        'stop-heartbeats',
        'complete-lifecycle-action',
      ],
    );
  });
});
