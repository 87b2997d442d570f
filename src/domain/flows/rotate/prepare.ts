/**
 * Before anything changes: the rotate policy checked, this instance a member, the cluster record
 * (initialized), the `rotate` lease tried once, the join and control-plane secrets read and the
 * decision made (rotate-plan.ts).
 */

import { StateConflictError } from '../../../core/errors.js';
import type { ClusterRecord } from '../../state/cluster-record.js';
import { describeHolder } from '../../state/lease.js';
import { leaseStep } from '../../steps/lease-step.js';
import { localKubeadm } from '../common.js';
import type { FlowDeps } from '../deps.js';
import { readMembership } from '../membership.js';
import { checkRotatePolicy, describeDecision, planRotation } from '../rotate-plan.js';
import { expiries, readCurrentMaterial } from './material.js';
import { expiresAtOf } from './result.js';
import { DEFAULT_ROTATE_LEASE_MS } from './rotation.js';
import { BUSY, NOT_MEMBER, type RotateState, type RotateStep } from './types.js';

function requireInitialized(
  record: ClusterRecord | undefined,
  cluster: string,
  table: string,
): ClusterRecord {
  if (record?.initialized !== undefined) return record;
  throw new StateConflictError(
    record === undefined
      ? `this instance is a member of cluster "${cluster}", but table ${table} has no record of it`
      : `this instance is a member of cluster "${cluster}", but its record in table ${table} is not marked initialized`,
    {
      hint: `check that kboot uses the cluster's table (--table, KBOOT_TABLE or the kboot.io/table tag) and \`kboot status --cluster ${cluster}\``,
    },
  );
}

export const membership: RotateStep = {
  name: 'membership',
  kind: 'read',
  describe: () => 'check that this instance has joined the cluster',
  async run({ state, deps, logger }) {
    const cluster = state.get('identity').clusterName;
    const found = await readMembership(deps.fs, cluster);
    state.set({ membership: found });
    if (found.state === 'member') return undefined;
    logger.info({ cluster }, NOT_MEMBER);
    return { end: NOT_MEMBER };
  },
};

export const clusterRecord: RotateStep = {
  name: 'cluster-record',
  kind: 'read',
  describe: () => 'read the cluster record (it must be initialized)',
  async run({ state, deps, signal }) {
    const identity = state.get('identity');
    const cluster = identity.clusterName;
    const ports = await deps.state();
    const record = requireInitialized(
      await ports.records.readRecord(cluster, signal),
      cluster,
      ports.records.tableName,
    );
    const store = await deps.joinMaterial();
    const options = state.get('options');
    let local: ReturnType<typeof localKubeadm> | undefined;
    state.set({
      rotation: {
        deps,
        options,
        leaseMs: options.leaseMs ?? DEFAULT_ROTATE_LEASE_MS,
        cluster,
        owner: identity.instance.instanceId,
        record,
        kubeadm: () => {
          local ??= localKubeadm(deps, signal);
          return local;
        },
        ports,
        store,
        published: {},
      },
    });
    return undefined;
  },
};

export const rotateLease = leaseStep<RotateState, FlowDeps>({
  name: 'rotate-lease',
  describe: (state) => `take the rotate lease of cluster ${state.get('identity').clusterName} (once)`,
  async request({ state, deps }) {
    const rotation = state.get('rotation');
    return {
      lock: rotation.ports.lock(rotation.cluster, 'rotate'),
      options: {
        owner: rotation.owner,
        clock: deps.clock,
        leaseMs: rotation.leaseMs,
        pollMs: deps.settings.pollMs,
      },
    };
  },
  acquired({ state }, lease) {
    state.get('rotation').lease = lease;
  },
  busy({ state, deps, logger }, current) {
    const heldBy = current.owner ?? 'another master';
    logger.info(
      { cluster: state.get('identity').clusterName, holder: heldBy, fence: current.fence },
      `another master is rotating: ${describeHolder(current, deps.clock.nowMs())}; nothing to do`,
    );
    state.set({ heldBy });
    return { end: BUSY };
  },
});

export const readMaterial: RotateStep = {
  name: 'read-join-material',
  kind: 'read',
  describe: () => 'read the join and control-plane secrets and decide what to renew',
  async run({ state, deps, logger, signal }) {
    const rotation = state.get('rotation');
    const { options } = rotation;
    if (rotation.lease !== undefined) {
      // Under the lease, the record as it is now: a rotation that finished while this one waited
      // for the lease recorded newer secret versions, and those are the ones to judge.
      rotation.record =
        (await rotation.ports.records.readRecord(rotation.cluster, signal)) ?? rotation.record;
    }
    const current = await readCurrentMaterial(rotation);
    const plan = planRotation(expiries(current), deps.clock.nowMs(), options);
    logger.info(
      {
        cluster: rotation.cluster,
        token: describeDecision(plan.token, options.tokenRenewBeforeMs),
        certificateKey: describeDecision(plan.certificateKey, options.certificateKeyRenewBeforeMs),
      },
      plan.token.renew || plan.certificateKey.renew
        ? 'join material needs renewing'
        : 'join material is fresh',
    );
    state.set({
      current,
      plan,
      tokenExpiresAt: expiresAtOf(plan.token),
      certificateKeyExpiresAt: expiresAtOf(plan.certificateKey),
    });
    return undefined;
  },
};

/** Checks the options first (a bad policy is exit 2 before anything is read). */
export const policy: RotateStep = {
  name: 'policy',
  kind: 'read',
  describe: () => 'check the rotation policy',
  async run({ state }) {
    checkRotatePolicy(state.get('options'));
    return undefined;
  },
};
