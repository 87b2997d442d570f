/**
 * The leave flow over fake ports that record one shared event list: step order, what runs after
 * a failure, the drain deadline, the etcd quorum refusal, no Auto Scaling group, and --dry-run.
 * Each fake throws on a call it was not set up for. (End to end: test/integration/leave.test.ts.)
 */

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { FsRoot } from '../../../../src/adapters/fs/root.js';
import { systemClock } from '../../../../src/core/clock.js';
import { KubectlError } from '../../../../src/core/errors.js';
import { Secret } from '../../../../src/core/secrets.js';
import type { EtcdMember } from '../../../../src/domain/etcd/members.js';
import { type LeaveDeps, type LeaveResult, leaveFlow } from '../../../../src/domain/flows/leave.js';
import { ADMIN_CONF_PATH } from '../../../../src/domain/flows/paths.js';
import type { Identity } from '../../../../src/domain/identity/resolve.js';
import type { Role } from '../../../../src/domain/identity/tags.js';
import type { LifecycleActions } from '../../../../src/domain/leave/lifecycle.js';
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
  const deps = {
    logger: silentLogger(),
    clock: systemClock,
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
      pollMs: 10,
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
    nodeLeaveStore: async () => ({
      read: async () => ({
        schemaVersion: 1,
        kubeconfig: new Secret('kubeconfig'),
        expiresAt: new Date(Date.now() + 3_600_000).toISOString(),
        updatedAt: new Date().toISOString(),
      }),
      publish: unexpected('publish'),
    }),
    nodeLeaveCredential: unexpected('nodeLeaveCredential'),
    cleanup: {
      registry: unexpected('registry'),
      instances: unexpected('instances'),
      etcd: unexpected('cleanup etcd'),
      nodes: unexpected('nodes'),
      etcdEndpointsOverride: undefined,
    },
  } satisfies LeaveDeps;
  const options = { hookName: 'kboot-leave', drainTimeoutMs: 1000, heartbeatIntervalMs: 20 };
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
  return { events, kubeconfigs, result, error, steps };
}

const withoutHeartbeats = (events: string[]) => events.filter((event) => event !== 'heartbeat');

describe('the leave flow', () => {
  it('a worker: drain, reset, Node, then the lifecycle action, with its node-leave kubeconfig', async () => {
    const { events, kubeconfigs, result, error } = await run({ role: 'worker' });
    assert.equal(error, undefined);
    assert.deepEqual(withoutHeartbeats(events), [
      'kubectl get',
      'kubectl drain',
      'kubeadm reset -f',
      'kubectl delete',
      'complete CONTINUE',
    ]);
    assert.ok(kubeconfigs.every((file) => file.endsWith('/var/lib/kboot/leave/node-leave.conf')));
    assert.equal(result?.outcome, 'left');
  });

  it('records heartbeats while a slow drain runs, and none after the action is completed', async () => {
    const slow = () => new Promise<string>((resolve) => setTimeout(() => resolve('drained'), 120));
    const { events } = await run({ role: 'worker', kubectl: { drain: slow } });
    const drainAt = events.indexOf('kubectl drain');
    const resetAt = events.indexOf('kubeadm reset -f');
    assert.ok(events.slice(drainAt, resetAt).filter((e) => e === 'heartbeat').length >= 2, events.join(', '));
    assert.equal(events.at(-1), 'complete CONTINUE');
  });

  it('a failing drain: the later steps still run, the action is completed, the error is thrown', async () => {
    const failing = async (): Promise<string> => {
      throw new KubectlError('kubectl drain exited 1: the server is on fire');
    };
    const { events, error } = await run({ role: 'worker', kubectl: { drain: failing } });
    assert.ok(error instanceof KubectlError);
    assert.deepEqual(withoutHeartbeats(events).slice(-3), [
      'kubeadm reset -f',
      'kubectl delete',
      'complete CONTINUE',
    ]);
  });

  it('the drain deadline: lists the pods left and goes on without failing', async () => {
    const deadline = async (): Promise<string> => {
      throw new KubectlError('kubectl drain exited 1: global timeout reached: 1s');
    };
    const { events, error, result } = await run({ role: 'worker', kubectl: { drain: deadline } });
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
        'etcd-member',
        'kubeadm-reset',
        'delete-node',
        'member-record',
        'stop-heartbeats',
        'complete-lifecycle-action',
      ],
    );
    assert.equal(result?.outcome, 'planned');
  });
});
