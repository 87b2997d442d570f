/**
 * Is the control plane lost? The record (initialized), the recorded control-plane members and
 * EC2's word on them (the cheap check: in the common case a member runs, and the flow ends at
 * once), the PKI secret (its CAs tell the cluster's own etcd and API server from anything else at
 * their addresses), then a probe of each member's etcd and of the API endpoint. Made once before
 * the bootstrap lease and again under it. src/domain/recovery/decide.ts says exactly what decides.
 */

import { formatDurationMs } from '../../../core/duration.js';
import { StateConflictError } from '../../../core/errors.js';
import type { InstanceLookup } from '../../cleanup/ports.js';
import { PKI_FILES } from '../../pki/bundle.js';
import {
  decideRecovery,
  etcdClientUrl,
  everyMasterGone,
  masterAddress,
  type ProbeResult,
  type RecordedMaster,
  type Verdict,
} from '../../recovery/decide.js';
import { apiAddress, type ClusterRecord } from '../../state/cluster-record.js';
import type { FlowState } from '../../steps/state.js';
import { NOT_LOST, type RecoverState, type RecoverStep, type RecoveryDeps } from './state.js';

/** How long one probe waits for a TLS handshake. */
export const PROBE_TIMEOUT_MS = 3000;

export const recoveryRecord: RecoverStep = {
  name: 'cluster-record',
  kind: 'read',
  describe: () => 'read the cluster record (recovery is only for an initialized cluster)',
  async run({ state, deps, signal }) {
    const ports = await deps.state();
    state.set({ ports });
    const record = await ports.records.readRecord(state.get('identity').clusterName, signal);
    if (record?.initialized === undefined) {
      deps.logger.info('the cluster is not initialized: nothing to recover');
      return { end: NOT_LOST };
    }
    state.set({ record, lostFence: record.initialized.fence });
    return undefined;
  },
};

/** The recorded control-plane members: the registry's, and the instance the record says initialized the cluster; this instance left out. */
async function recordedMasters(
  deps: RecoveryDeps,
  record: ClusterRecord,
  self: string,
  signal: AbortSignal,
): Promise<RecordedMaster[]> {
  const members = await deps.cleanup.registry(record.clusterName, signal);
  const masters = new Map<string, RecordedMaster>();
  for (const member of members) {
    if (member.role !== 'control-plane') continue;
    masters.set(member.instanceId, {
      instanceId: member.instanceId,
      nodeName: member.nodeName,
      privateIp: member.privateIp,
    });
  }
  const by = record.initialized?.by;
  if (by !== undefined && !masters.has(by))
    masters.set(by, { instanceId: by, nodeName: undefined, privateIp: undefined });
  masters.delete(self);
  return [...masters.values()];
}

async function ec2Verdict(state: FlowState<RecoverState>, deps: RecoveryDeps, signal: AbortSignal) {
  const record = state.get('record');
  const masters = await recordedMasters(deps, record, state.get('identity').instance.instanceId, signal);
  const instances = await (await deps.cleanup.instances()).lookup(
    { cluster: record.clusterName, instanceIds: masters.map((m) => m.instanceId), privateDnsNames: [] },
    signal,
  );
  state.set({ masters, instances });
  return { masters, instances, gone: everyMasterGone(masters, instances) };
}

export const lostCheck: RecoverStep = {
  name: 'members-gone',
  kind: 'read',
  describe: () => 'ask EC2 whether every recorded control-plane member is terminated or gone',
  async run({ state, deps, logger, signal }) {
    const { masters, instances, gone } = await ec2Verdict(state, deps, signal);
    if (gone) {
      logger.warn(
        { members: masters.map((m) => m.instanceId) },
        'EC2 says every recorded control-plane member is terminated or gone: checking whether the control plane is lost',
      );
      return undefined;
    }
    const verdict = decideRecovery({
      initialized: true,
      masters,
      instances,
      etcd: new Map(),
      api: { endpoint: '', result: { answers: false, conclusive: true, detail: '' } },
    });
    logger.debug({ reasons: verdict.restore ? [] : verdict.reasons }, NOT_LOST);
    return { end: NOT_LOST };
  },
};

export const readPki: RecoverStep = {
  name: 'read-pki',
  kind: 'read',
  describe: (state) =>
    `read the cluster PKI (${PKI_FILES.length} files) from kboot/${state.get('identity').clusterName}/pki`,
  async run({ state, deps }) {
    const record = state.get('record');
    const version = record.joinMaterial?.versions?.pki;
    const store = await deps.pkiSecrets();
    state.set({ pki: await store.read(record.clusterName, version) });
    return undefined;
  },
};

/** Every member's etcd and the API endpoint, probed at once against the cluster's CAs. */
async function probeVerdict(
  state: FlowState<RecoverState>,
  deps: RecoveryDeps,
  signal: AbortSignal,
  ec2: { masters: RecordedMaster[]; instances: InstanceLookup },
): Promise<Verdict> {
  const { masters, instances } = ec2;
  const files = state.get('pki').files.reveal();
  const urls = [
    ...new Set(
      masters.flatMap((m) => {
        const address = masterAddress(m);
        return address === undefined ? [] : [etcdClientUrl(address)];
      }),
    ),
  ];
  const endpoint = apiAddress(state.get('record').apiEndpoint);
  const apiUrl = `https://${endpoint.host.includes(':') ? `[${endpoint.host}]` : endpoint.host}:${endpoint.port}`;
  const { probe } = deps.recovery;
  const [etcdResults, api] = await Promise.all([
    Promise.all(urls.map((url) => probe.probe(url, files['etcd/ca.crt'], PROBE_TIMEOUT_MS, signal))),
    probe.probe(apiUrl, files['ca.crt'], PROBE_TIMEOUT_MS, signal),
  ]);
  const etcd = new Map<string, ProbeResult>(urls.map((url, i) => [url, etcdResults[i] as ProbeResult]));
  const verdict = decideRecovery({
    initialized: true,
    masters,
    instances,
    etcd,
    api: { endpoint: apiUrl, result: api },
  });
  state.set({ verdict });
  return verdict;
}

function endUnlessLost(verdict: Verdict, logger: RecoveryDeps['logger']): { end: string } | undefined {
  if (verdict.restore) {
    logger.warn(
      { checks: verdict.checks },
      'the control plane is lost: no recorded member exists or answers',
    );
    return undefined;
  }
  logger.warn(
    { reasons: verdict.reasons, checks: verdict.checks },
    `not restoring the cluster: ${verdict.reasons.join('; ')}; waiting for the control plane instead`,
  );
  return { end: NOT_LOST };
}

export const probeCheck: RecoverStep = {
  name: 'probe-members',
  kind: 'read',
  describe: () =>
    `probe each recorded member's etcd (https://<ip>:2379) and the API endpoint for a TLS handshake with the cluster's CAs (${formatDurationMs(PROBE_TIMEOUT_MS)} each)`,
  async run({ state, deps, signal }) {
    const ec2 = { masters: state.get('masters'), instances: state.get('instances') };
    return endUnlessLost(await probeVerdict(state, deps, signal, ec2), deps.logger);
  },
};

export const recheckLost: RecoverStep = {
  name: 'recheck-lost',
  kind: 'read',
  afterChange: true,
  describe: () =>
    'under the bootstrap lease: check that no other instance restored the cluster meanwhile, and every check again',
  async run({ state, deps, signal }) {
    const cluster = state.get('identity').clusterName;
    const current = await state.get('ports').records.readRecord(cluster, signal);
    if (current?.initialized === undefined) {
      throw new StateConflictError(
        `the record of cluster ${cluster} lost its initialized flag during recovery`,
        {
          hint: `check kboot status --cluster ${cluster}`,
        },
      );
    }
    if (current.initialized.fence !== state.get('lostFence')) {
      deps.logger.info(
        { by: current.initialized.by, restoredFrom: current.restoredFrom?.key },
        'another instance restored the cluster while this one waited for the lease',
      );
      return { end: NOT_LOST };
    }
    state.set({ record: current });
    const ec2 = await ec2Verdict(state, deps, signal);
    return endUnlessLost(await probeVerdict(state, deps, signal, ec2), deps.logger);
  },
};
