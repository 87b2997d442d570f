/**
 * `kboot join-master`: another control-plane member joins.
 *   identity → already a member? → `initialized` → local kubeadm and version skew (while an upgrade
 *   is recorded: only at its target, ./join-admission.ts) → node name and
 *   overrides → the control-plane-join lease (etcd adds one member at a time) → join and
 *   control-plane material → the JoinConfiguration with the certificate key (0600, removed at the
 *   end) → the remains of an earlier join reset → when the member registry shows a control-plane
 *   instance gone: kubeadm's download-certs and certs phases, then the dead etcd members removed
 *   (src/domain/cleanup/flow.ts) → the hardening files the API server reads (0600) → kubeadm join (undo: kubeadm reset, which also takes this
 *   member out of etcd) → membership file → member record → the lease released.
 */

import { KubeadmError } from '../../core/errors.js';
import { redactText } from '../../core/secrets.js';
import { effectiveClusterAddons, kubeletCloudProvider } from '../addons/settings.js';
import { cleanupBeforeJoin, prepareEtcdClient } from '../cleanup/flow.js';
import type { ControlPlaneSecret, JoinSecret } from '../join/material.js';
import type { JoinMaterialStore } from '../join/store.js';
import type { KubeadmOverride } from '../kubeadm/overrides.js';
import { renderJoinConfig } from '../kubeadm/render.js';
import { formatKubeVersion } from '../kubeadm/version.js';
import type { ClusterRecord } from '../state/cluster-record.js';
import type { Lease } from '../state/lease.js';
import { waitForInitialized } from '../state/wait-initialized.js';
import { leaseStep } from '../steps/lease-step.js';
import type { FlowState } from '../steps/state.js';
import type { Flow, Step } from '../steps/step.js';
import {
  type LocalKubeadm,
  localKubeadm,
  readFreshControlPlane,
  readFreshJoin,
  readKubeadmOverrides,
  resetAfterFailure,
} from './common.js';
import type { ClusterStatePorts, FlowDeps, FlowResult } from './deps.js';
import { hardeningFilesStep } from './hardening-files.js';
import { admitJoin } from './join-admission.js';
import { resetPartialJoin } from './join-node.js';
import { membershipFor, writeMembership } from './membership.js';
import { JOIN_CONFIG_PATH, MEMBERSHIP_PATH } from './paths.js';
import {
  ALREADY_MEMBER,
  alreadyMemberResult,
  identityStep,
  leftoverConfigsStep,
  membershipStep,
  memberTimeline,
  plannedResult,
  type StartState,
} from './start-steps.js';

export interface JoinMasterState extends StartState {
  ports: ClusterStatePorts;
  /** When waiting for initialization, the join lease and fresh material gives up. */
  deadlineMs: number;
  record: ClusterRecord;
  kubeadm: LocalKubeadm;
  nodeName: string;
  overrides: KubeadmOverride[];
  store: JoinMaterialStore;
  lease: Lease;
  join: JoinSecret;
  controlPlane: ControlPlaneSecret;
  /** Set by the first undo that reset the node: an earlier step's undo need not reset it again. */
  nodeReset: boolean;
}

type JoinMasterStep = Step<JoinMasterState, FlowDeps>;

function renderInput(
  state: FlowState<JoinMasterState>,
  deps: FlowDeps,
  join: JoinSecret,
  controlPlane: ControlPlaneSecret,
) {
  return {
    apiVersion: state.get('kubeadm').apiVersion,
    nodeName: state.get('nodeName'),
    cloudProvider: kubeletCloudProvider(effectiveClusterAddons(state.get('record'), deps.config.addons)),
    overrides: state.get('overrides'),
    discovery: { apiServerEndpoint: join.apiEndpoint, token: join.token, caCertHashes: join.caCertHashes },
    controlPlane: {
      advertiseAddress: state.get('identity').instance.privateIpv4,
      certificateKey: controlPlane.certificateKey,
    },
  };
}

const waitInitialized: JoinMasterStep = {
  name: 'wait-initialized',
  kind: 'read',
  describe: () => 'wait for the cluster to be initialized',
  async run({ state, deps, signal, mark }) {
    const deadlineMs = deps.clock.nowMs() + deps.settings.waitTimeoutMs;
    const ports = await deps.state();
    const record = await waitForInitialized(ports.records, state.get('identity').clusterName, {
      deadlineMs,
      pollMs: deps.settings.pollMs,
      clock: deps.clock,
      logger: deps.logger,
      signal,
    });
    mark('initialized-seen');
    state.set({ ports, deadlineMs, record });
    return undefined;
  },
};

const kubeadmVersion: JoinMasterStep = {
  name: 'kubeadm-version',
  kind: 'read',
  describe: () =>
    "read the local kubeadm version and check it against the cluster's (while an upgrade is recorded: it must run the target)",
  async run({ state, deps, signal }) {
    const kubeadm = await localKubeadm(deps, signal);
    // A control plane never waits: it joins (at an upgrade's target) or is refused.
    await admitJoin(deps, {
      action: 'join-control-plane',
      clusterName: state.get('identity').clusterName,
      kubeadm: kubeadm.version,
      record: state.get('record'),
      signal,
    });
    state.set({ kubeadm });
    return undefined;
  },
};

const joinInputs: JoinMasterStep = {
  name: 'node-name',
  kind: 'read',
  describe: () => 'read the node name (IMDS) and the kubeadm config overrides',
  async run({ state, deps }) {
    const [nodeName, overrides, store] = await Promise.all([
      deps.privateDnsName(),
      readKubeadmOverrides(deps),
      deps.joinMaterial(),
    ]);
    state.set({ nodeName, overrides, store });
    return undefined;
  },
};

const joinLease = leaseStep<JoinMasterState, FlowDeps>({
  name: 'control-plane-join-lease',
  describe: (state) =>
    `take the control-plane-join lease of cluster ${state.get('identity').clusterName} (masters join one at a time)`,
  async request({ state, deps, logger }) {
    const identity = state.get('identity');
    logger.info({ cluster: identity.clusterName }, 'waiting for the control-plane-join lease');
    return {
      lock: state.get('ports').lock(identity.clusterName, 'control-plane-join'),
      options: {
        owner: identity.instance.instanceId,
        clock: deps.clock,
        leaseMs: deps.settings.leaseMs,
        acquireDeadlineMs: state.get('deadlineMs'),
        pollMs: deps.settings.pollMs,
      },
    };
  },
  acquired({ state, logger }, lease) {
    logger.info({ fence: lease.fence }, 'holding the control-plane-join lease');
    state.set({ lease });
  },
  busy(_ctx, _current, notAcquired) {
    throw notAcquired;
  },
});

const joinMaterial: JoinMasterStep = {
  name: 'join-material',
  kind: 'read',
  afterChange: true,
  describe: () => 'read fresh join and control-plane material (waiting for kboot rotate if it is stale)',
  async run({ state, deps, signal }) {
    const store = state.get('store');
    const cluster = state.get('identity').clusterName;
    const deadlineMs = state.get('deadlineMs');
    const pinned = { record: state.get('record'), records: state.get('ports').records };
    const join = await readFreshJoin(deps, store, cluster, deadlineMs, signal, pinned);
    const controlPlane = await readFreshControlPlane(deps, store, cluster, deadlineMs, signal, pinned);
    state.set({ join, controlPlane });
    return undefined;
  },
};

const writeJoinConfig: JoinMasterStep = {
  name: 'write-join-config',
  kind: 'change',
  describe: () => `write the kubeadm join config with the certificate key to ${JOIN_CONFIG_PATH} (mode 0600)`,
  async files(state, deps) {
    // A dry run holds no lease and waits for nothing: the material as it is now.
    const store = state.get('store');
    const cluster = state.get('identity').clusterName;
    const versions = state.get('record').joinMaterial?.versions;
    const [join, controlPlane] = await Promise.all([
      store.readJoin(cluster, versions?.join),
      store.readControlPlane(cluster, versions?.controlPlane),
    ]);
    const input = renderInput(state, deps, join, controlPlane);
    return [{ path: JOIN_CONFIG_PATH, content: renderJoinConfig(input, { mode: 'redacted' }) }];
  },
  async run({ state, deps }) {
    const input = renderInput(state, deps, state.get('join'), state.get('controlPlane'));
    await deps.fs.writePrivateFile(JOIN_CONFIG_PATH, renderJoinConfig(input));
    return undefined;
  },
  cleanup: {
    describe: `remove ${JOIN_CONFIG_PATH} (it holds the bootstrap token and certificate key)`,
    run: async ({ deps }) => deps.fs.remove(JOIN_CONFIG_PATH),
    removesSecrets: true,
  },
};

/** Both the certificate phases and kubeadm join change the node: one reset undoes either. */
const resetOnUndo: NonNullable<JoinMasterStep['undo']> = {
  describe:
    'run kubeadm reset -f (it also takes a joined member out of etcd), so the next attempt starts clean',
  async run({ state, deps, failure, signal }) {
    if (state.peek('nodeReset') === true) return;
    await resetAfterFailure(
      deps,
      `the control-plane join stopped at ${failure?.step ?? 'a later step'}`,
      signal,
    );
    state.set({ nodeReset: true });
  },
};

const cleanupLostMembers: JoinMasterStep = {
  name: 'cleanup-lost-members',
  kind: 'change',
  describe: () =>
    'remove the etcd members of control-plane instances that are gone (only when the member registry shows one)',
  async run({ state, deps, signal }) {
    const identity = state.get('identity');
    await cleanupBeforeJoin(deps, identity.clusterName, identity.instance.instanceId, signal, () =>
      prepareEtcdClient(deps, JOIN_CONFIG_PATH, signal),
    );
    return undefined;
  },
  // kubeadm's certificate phases may have run: the reset removes what they wrote.
  undo: resetOnUndo,
};

const kubeadmJoin: JoinMasterStep = {
  name: 'kubeadm-join',
  kind: 'change',
  describe: (state) =>
    `run kubeadm join --control-plane against ${state.peek('join')?.apiEndpoint ?? 'the API endpoint'}`,
  async run({ deps, signal }) {
    try {
      await deps.kubeadm.run(['join', '--config', deps.fs.resolve(JOIN_CONFIG_PATH)], {
        timeoutMs: deps.settings.kubeadmTimeoutMs,
        signal,
      });
    } catch (error) {
      throw error instanceof KubeadmError ? error : new KubeadmError('kubeadm join failed', { cause: error });
    }
    return undefined;
  },
  undo: resetOnUndo,
};

const membershipFile: JoinMasterStep = {
  name: 'membership-file',
  kind: 'change',
  describe: () => `remember that this instance joined (${MEMBERSHIP_PATH}, 0600)`,
  async run({ state, deps }) {
    const identity = state.get('identity');
    await writeMembership(
      deps.fs,
      membershipFor(
        identity.clusterName,
        'control-plane',
        identity.instance.instanceId,
        'join',
        deps.clock.nowMs(),
      ),
    );
    return undefined;
  },
  undo: { describe: `remove ${MEMBERSHIP_PATH}`, run: async ({ deps }) => deps.fs.remove(MEMBERSHIP_PATH) },
};

const memberRecord: JoinMasterStep = {
  name: 'member-record',
  kind: 'change',
  describe: () =>
    'record this control-plane member (its boot timeline and Kubernetes version) in the cluster state',
  noUndo: 'the last step: if it fails, the undo of kubeadm-join resets the node and a retry joins again',
  async run({ state, deps, signal, progress }) {
    const identity = state.get('identity');
    const lease = state.get('lease');
    await state.get('ports').records.recordMember(
      identity.clusterName,
      {
        instanceId: identity.instance.instanceId,
        role: 'control-plane',
        joinedAt: new Date(deps.clock.nowMs()).toISOString(),
        fence: lease.fence,
        nodeName: state.get('nodeName'),
        privateIp: identity.instance.privateIpv4,
        bootTimeline: memberTimeline(progress(), state.get('identity')),
        kubernetesVersion: formatKubeVersion(state.get('kubeadm').version),
      },
      signal,
    );
    deps.logger.info(
      { cluster: identity.clusterName, nodeName: state.get('nodeName') },
      'joined the cluster as a control-plane member',
    );
    return undefined;
  },
};

export const joinMasterFlow: Flow<JoinMasterState, FlowDeps, FlowResult> = {
  name: 'join-master',
  steps: [
    identityStep('join-master', 'control-plane'),
    leftoverConfigsStep(),
    membershipStep(),
    waitInitialized,
    kubeadmVersion,
    joinInputs,
    joinLease,
    joinMaterial,
    writeJoinConfig,
    resetPartialJoin,
    cleanupLostMembers,
    hardeningFilesStep<JoinMasterState>(
      (state) => state.get('record').kubernetesVersion,
      (state) => state.get('controlPlane').encryptionKey,
    ),
    kubeadmJoin,
    membershipFile,
    memberRecord,
  ],
  async recordFailure({ state, failure, deps, signal }) {
    // Once the record was read (the cluster is initialized): `kboot status` shows the last failure.
    const ports = state.peek('ports');
    if (ports === undefined) return;
    const identity = state.get('identity');
    await ports.records.recordFailure(
      identity.clusterName,
      {
        by: identity.instance.instanceId,
        at: new Date(deps.clock.nowMs()).toISOString(),
        step: failure.step,
        message: redactText(failure.error.message),
      },
      signal,
    );
  },
  result(state, run) {
    if (run.ended === ALREADY_MEMBER) return alreadyMemberResult(state);
    if (run.dryRun) return plannedResult(state);
    const cluster = state.get('identity').clusterName;
    return {
      ...state.get('base'),
      outcome: 'joined-control-plane',
      summary: `joined cluster ${cluster} as control-plane member ${state.get('nodeName')}`,
    };
  },
};
