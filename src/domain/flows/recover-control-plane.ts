/**
 * The recovery of a cluster that lost its whole control plane (docs/backup.md "Automatic
 * recovery"), run by `kboot boot` on a control-plane instance that finds the cluster initialized:
 *   the record → EC2: is every recorded control-plane member terminated or gone? (no: the flow
 *   ends, and the instance joins as usual) → the PKI secret → no member's etcd, nor the API
 *   endpoint, answers with the cluster's CAs (else: wait, saying why) → the bootstrap lease →
 *   every check again under it → the PKI written back → the newest snapshot that verifies
 *   restored into a new one-member etcd → kubeadm init over them → fresh join material, and one
 *   fenced write that records `restoredFrom` → other masters and workers join as usual.
 * The steps of a first init are reused where they do the same (inputs, init config, hardening
 * files, CA hash, membership file, member record).
 */

import { UsageError } from '../../core/errors.js';
import { leaseStep } from '../steps/lease-step.js';
import type { Flow } from '../steps/step.js';
import { caCertHashStep, writeInitConfig } from './bootstrap-master/init.js';
import { initInputs, kubeadmVersion, versionSkew } from './bootstrap-master/inputs.js';
import { bootstrapLeaseRequest } from './bootstrap-master/lease.js';
import { memberRecord, membershipFile } from './bootstrap-master/publish.js';
import { bootstrapMasterFlow } from './bootstrap-master.js';
import type { FlowResult } from './deps.js';
import { hardeningFilesStep } from './hardening-files.js';
import { autoApprovalOffStep } from './node-client-approval.js';
import { kubeadmInitOverRestore, reuseEncryptionKey } from './recover/init.js';
import { lostCheck, probeCheck, readPki, recheckLost, recoveryRecord } from './recover/liveness.js';
import { publishAndMarkRestored } from './recover/publish.js';
import { backupStep, restoreSnapshot, writePki } from './recover/restore.js';
import { NOT_LOST, type RecoverState, type RecoveryDeps } from './recover/state.js';
import {
  ALREADY_MEMBER,
  alreadyMemberResult,
  identityStep,
  leftoverConfigsStep,
  membershipStep,
  plannedResult,
} from './start-steps.js';

const recoveryLease = leaseStep<RecoverState, RecoveryDeps>({
  name: 'bootstrap-lease',
  describe: (state) => `take the bootstrap lease of cluster ${state.get('identity').clusterName}`,
  request: bootstrapLeaseRequest,
  acquired({ state, logger }, lease) {
    logger.info(
      { fence: lease.fence },
      'holding the bootstrap lease; checking again before restoring the cluster',
    );
    state.set({ lease });
  },
  busy(_ctx, _current, notAcquired) {
    throw notAcquired;
  },
});

export const recoverControlPlaneFlow: Flow<RecoverState, RecoveryDeps, FlowResult> = {
  name: 'recover-control-plane',
  steps: [
    identityStep('recover-control-plane', 'control-plane'),
    leftoverConfigsStep(),
    membershipStep(),
    recoveryRecord,
    lostCheck,
    readPki,
    probeCheck,
    kubeadmVersion,
    versionSkew,
    initInputs,
    reuseEncryptionKey,
    backupStep,
    recoveryLease,
    recheckLost,
    writePki,
    restoreSnapshot,
    writeInitConfig,
    hardeningFilesStep<RecoverState>(
      (state) => state.get('record').kubernetesVersion,
      (state) => state.peek('encryptionKey'),
    ),
    kubeadmInitOverRestore,
    autoApprovalOffStep<RecoverState>('init'),
    caCertHashStep,
    membershipFile,
    publishAndMarkRestored,
    memberRecord,
  ],
  result(state, run) {
    const base = state.get('base');
    if (run.ended === ALREADY_MEMBER) return alreadyMemberResult(state);
    if (run.ended === NOT_LOST) return { ...base, outcome: 'not-lost', summary: NOT_LOST };
    if (run.dryRun) return plannedResult(state);
    const snapshot = state.get('snapshot');
    return {
      ...base,
      outcome: 'restored',
      summary: `restored cluster ${base.cluster} on ${state.get('nodeName')} from ${snapshot.key} (revision ${snapshot.revision})`,
    };
  },
  // A snapshot that does not verify, a missing bucket: the class of `kboot etcd restore` (2).
  errorFor: (failure, state) =>
    failure.error instanceof UsageError
      ? failure.error
      : (bootstrapMasterFlow.errorFor?.(failure, state) ?? failure.error),
  recordFailure: (ctx) => bootstrapMasterFlow.recordFailure?.(ctx) ?? Promise.resolve(),
};
