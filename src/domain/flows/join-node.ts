/**
 * `kboot join-node`: a worker joins the cluster. No lock: workers join in parallel.
 *   identity → already a member? → the cluster initialized (1 DynamoDB read when it is) and the
 *   join material (1 Secrets Manager read when fresh), beside the local kubeadm's version → version
 *   skew (while an upgrade is recorded, its join rule: a worker at the target waits for the control
 *   plane, one Query per poll, and reads the join material again after) → node name and kubeadm overrides → the JoinConfiguration (0600, removed at the end) →
 *   the remains of an earlier, unfinished join reset → kubeadm join (undo: kubeadm reset) →
 *   membership remembered.
 */

import { KubeadmError } from '../../core/errors.js';
import { effectiveClusterAddons, kubeletCloudProvider } from '../addons/settings.js';
import type { JoinSecret } from '../join/material.js';
import type { KubeadmOverride } from '../kubeadm/overrides.js';
import { renderJoinConfig } from '../kubeadm/render.js';
import type { ClusterRecord } from '../state/cluster-record.js';
import { waitForInitialized } from '../state/wait-initialized.js';
import type { FlowState } from '../steps/state.js';
import type { Flow, Step } from '../steps/step.js';
import {
  type LocalKubeadm,
  localKubeadm,
  readFreshJoin,
  readKubeadmOverrides,
  resetAfterFailure,
} from './common.js';
import type { FlowDeps, FlowResult } from './deps.js';
import { admitJoin } from './join-admission.js';
import { membershipFor, writeMembership } from './membership.js';
import { JOIN_CONFIG_PATH } from './paths.js';
import {
  ALREADY_MEMBER,
  alreadyMemberResult,
  identityStep,
  leftoverConfigsStep,
  membershipStep,
  plannedResult,
  type StartState,
} from './start-steps.js';

export interface JoinNodeState extends StartState {
  kubeadm: LocalKubeadm;
  record: ClusterRecord;
  join: JoinSecret;
  nodeName: string;
  overrides: KubeadmOverride[];
}

type JoinNodeStep = Step<JoinNodeState, FlowDeps>;

function renderInput(state: FlowState<JoinNodeState>, deps: FlowDeps) {
  const join = state.get('join');
  return {
    apiVersion: state.get('kubeadm').apiVersion,
    nodeName: state.get('nodeName'),
    cloudProvider: kubeletCloudProvider(effectiveClusterAddons(state.get('record'), deps.config.addons)),
    overrides: state.get('overrides'),
    discovery: { apiServerEndpoint: join.apiEndpoint, token: join.token, caCertHashes: join.caCertHashes },
  };
}

const clusterState: JoinNodeStep = {
  name: 'cluster-state',
  kind: 'read',
  describe: () =>
    'wait for the cluster to be initialized and read its join material, beside the local kubeadm version',
  async run({ state, deps, signal, mark }) {
    const cluster = state.get('identity').clusterName;
    const deadlineMs = deps.clock.nowMs() + deps.settings.waitTimeoutMs;
    // Both only read; either failing fails the join at once.
    const [kubeadm, { record, join }] = await Promise.all([
      localKubeadm(deps, signal),
      (async () => {
        const ports = await deps.state();
        const initialized = await waitForInitialized(ports.records, cluster, {
          deadlineMs,
          pollMs: deps.settings.pollMs,
          clock: deps.clock,
          logger: deps.logger,
          signal,
        });
        mark('initialized-seen');
        const store = await deps.joinMaterial();
        // The record just read names the join secret's version: still one Secrets Manager call.
        const join = await readFreshJoin(deps, store, cluster, deadlineMs, signal, {
          record: initialized,
          records: ports.records,
        });
        return { record: initialized, join };
      })(),
    ]);
    state.set({ kubeadm, record, join });
    return undefined;
  },
};

const versionSkew: JoinNodeStep = {
  name: 'version-skew',
  kind: 'read',
  describe: () =>
    "check the local kubeadm against the cluster's Kubernetes version (while an upgrade is recorded: its join rule; a worker at the target waits for the control plane)",
  async run({ state, deps, signal }) {
    const cluster = state.get('identity').clusterName;
    const { record, waitedMs } = await admitJoin(deps, {
      action: 'join-worker',
      clusterName: cluster,
      kubeadm: state.get('kubeadm').version,
      record: state.get('record'),
      clusterVersion: state.get('join').kubernetesVersion,
      signal,
    });
    if (waitedMs === 0) return undefined;
    // The material read before the wait may have aged: read it again, as the record now names it.
    const ports = await deps.state();
    const join = await readFreshJoin(
      deps,
      await deps.joinMaterial(),
      cluster,
      deps.clock.nowMs() + deps.settings.waitTimeoutMs,
      signal,
      { record, records: ports.records },
    );
    state.set({ record, join });
    return undefined;
  },
};

const renderInputs: JoinNodeStep = {
  name: 'node-name',
  kind: 'read',
  describe: () => 'read the node name (IMDS) and the kubeadm config overrides',
  // Read after the state reads, not beside them: an IMDS request in flight while this process
  // loads the AWS SDK (synchronous work) can have its timeout fire before its answer is read when
  // the CPU is starved (the bench's 200 simulated instances on 2 cores: 193 workers failed so).
  async run({ state, deps }) {
    const [nodeName, overrides] = await Promise.all([deps.privateDnsName(), readKubeadmOverrides(deps)]);
    state.set({ nodeName, overrides });
    return undefined;
  },
};

const writeJoinConfig: JoinNodeStep = {
  name: 'write-join-config',
  kind: 'change',
  describe: () => `write the kubeadm join config to ${JOIN_CONFIG_PATH} (mode 0600)`,
  files: (state, deps) => [
    { path: JOIN_CONFIG_PATH, content: renderJoinConfig(renderInput(state, deps), { mode: 'redacted' }) },
  ],
  async run({ state, deps }) {
    await deps.fs.writePrivateFile(JOIN_CONFIG_PATH, renderJoinConfig(renderInput(state, deps)));
    return undefined;
  },
  cleanup: {
    describe: `remove ${JOIN_CONFIG_PATH} (it holds the bootstrap token)`,
    run: async ({ deps }) => deps.fs.remove(JOIN_CONFIG_PATH),
    removesSecrets: true,
  },
};

/** kubelet.conf without a membership file: an earlier join did not finish. */
export const resetPartialJoin: Step<StartState, FlowDeps> = {
  name: 'reset-partial-join',
  kind: 'change',
  describe: () => 'reset the remains of an earlier, unfinished join (kubeadm reset -f)',
  skip: (state) =>
    state.get('membership').state === 'partial' ? undefined : 'no earlier, unfinished join to reset',
  noUndo: 'kubeadm reset leaves the node clean; the next steps start from there',
  async run({ deps, signal }) {
    await resetAfterFailure(deps, 'kubelet.conf exists but the earlier join did not finish', signal);
    return undefined;
  },
};

const kubeadmJoin: JoinNodeStep = {
  name: 'kubeadm-join',
  kind: 'change',
  describe: (state) => `run kubeadm join against ${state.peek('join')?.apiEndpoint ?? 'the API endpoint'}`,
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
  undo: {
    describe: 'run kubeadm reset -f, so the next attempt starts clean',
    run: async ({ deps, failure, signal }) =>
      resetAfterFailure(deps, `kubeadm join did not finish (${failure?.cause ?? 'stopped'})`, signal),
  },
};

const rememberMembership: JoinNodeStep = {
  name: 'membership-file',
  kind: 'change',
  describe: () => 'remember that this instance joined (membership file, 0600)',
  noUndo: 'the last step; if it fails, the undo of kubeadm-join resets the node and a retry joins again',
  async run({ state, deps }) {
    const identity = state.get('identity');
    await writeMembership(
      deps.fs,
      membershipFor(identity.clusterName, 'worker', identity.instance.instanceId, 'join', deps.clock.nowMs()),
    );
    deps.logger.info(
      { cluster: identity.clusterName, nodeName: state.get('nodeName') },
      'joined the cluster as a worker',
    );
    return undefined;
  },
};

export const joinNodeFlow: Flow<JoinNodeState, FlowDeps, FlowResult> = {
  name: 'join-node',
  steps: [
    identityStep('join-node', 'worker'),
    leftoverConfigsStep(),
    membershipStep(),
    clusterState,
    versionSkew,
    renderInputs,
    writeJoinConfig,
    resetPartialJoin,
    kubeadmJoin,
    rememberMembership,
  ],
  result(state, run) {
    if (run.ended === ALREADY_MEMBER) return alreadyMemberResult(state);
    if (run.dryRun) return plannedResult(state);
    const cluster = state.get('identity').clusterName;
    return {
      ...state.get('base'),
      outcome: 'joined-worker',
      summary: `joined cluster ${cluster} as worker ${state.get('nodeName')}`,
    };
  },
};
