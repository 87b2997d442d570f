import {
  AwsDeniedError,
  AwsThrottledError,
  AwsUnavailableError,
  ClusterTimeoutError,
  KubeadmError,
  KubectlError,
  StateConflictError,
} from '../../core/errors.js';
import { redactText } from '../../core/secrets.js';
import type { Flow } from '../steps/step.js';
import { addonsStep, irsaStep } from './bootstrap-master/addons.js';
import { caCertHashStep, kubeadmInit, resetPartialInit, writeInitConfig } from './bootstrap-master/init.js';
import { initInputs, kubeadmVersion, versionSkew } from './bootstrap-master/inputs.js';
import { bootstrapLease, recheckInitialized } from './bootstrap-master/lease.js';
import { pkiSecretStep } from './bootstrap-master/pki-secret.js';
import { memberRecord, membershipFile, publishAndMarkInitialized } from './bootstrap-master/publish.js';
import { readRecord, writeRecord } from './bootstrap-master/record.js';
import { ALREADY_INITIALIZED, type BootstrapState } from './bootstrap-master/state.js';
import type { FlowDeps, FlowResult } from './deps.js';
import { hardeningFilesStep } from './hardening-files.js';
import { autoApprovalOffStep } from './node-client-approval.js';
import {
  ALREADY_MEMBER,
  alreadyMemberResult,
  identityStep,
  leftoverConfigsStep,
  membershipStep,
  plannedResult,
} from './start-steps.js';

export const bootstrapMasterFlow: Flow<BootstrapState, FlowDeps, FlowResult> = {
  name: 'bootstrap-master',
  steps: [
    identityStep('bootstrap-master', 'control-plane'),
    leftoverConfigsStep(),
    membershipStep(),
    kubeadmVersion,
    readRecord,
    writeRecord,
    versionSkew,
    initInputs,
    bootstrapLease,
    recheckInitialized,
    writeInitConfig,
    resetPartialInit,
    hardeningFilesStep<BootstrapState>(
      (state) => state.get('record').kubernetesVersion,
      (state) => state.peek('encryptionKey'),
    ),
    kubeadmInit,
    autoApprovalOffStep<BootstrapState>('init'),
    caCertHashStep,
    pkiSecretStep,
    irsaStep,
    addonsStep,
    membershipFile,
    publishAndMarkInitialized,
    memberRecord,
  ],
  result(state, run) {
    const base = state.get('base');
    if (run.ended === ALREADY_MEMBER) return alreadyMemberResult(state);
    if (run.ended === ALREADY_INITIALIZED) {
      return {
        ...base,
        outcome: 'already-initialized',
        summary: `cluster ${base.cluster} is already initialized`,
      };
    }
    if (run.dryRun) return plannedResult(state);
    return {
      ...base,
      outcome: 'initialized',
      summary: `initialized cluster ${base.cluster} on ${state.get('nodeName')}`,
    };
  },
  errorFor(failure, state) {
    // Once the lease is held, a failure of any class but these means the node could not be set
    // up: kubeadm's exit code, naming the step (the node has been reset). AWS's own failures keep
    // their class (unavailable 3, denied 4, throttled 5): a script retries those, not kubeadm.
    const { error } = failure;
    if (
      !state.has('lease') ||
      failure.cause !== 'failed' ||
      error instanceof StateConflictError ||
      error instanceof KubeadmError ||
      error instanceof KubectlError ||
      error instanceof ClusterTimeoutError ||
      error instanceof AwsUnavailableError ||
      error instanceof AwsDeniedError ||
      error instanceof AwsThrottledError
    )
      return error;
    return new KubeadmError(
      `bootstrapping cluster ${state.get('lease').cluster} failed at ${failure.step}: ${error.message}`,
      { cause: error, hint: error.hint ?? 'kboot reset this node; run it again' },
    );
  },
  async recordFailure({ state, failure, deps, signal }) {
    // Only a master that held the lease changed anything worth recording.
    const lease = state.peek('lease');
    if (lease === undefined) return;
    const step = failure.step === 'addons' ? (state.peek('applyingAddon') ?? failure.step) : failure.step;
    await state.get('ports').records.recordFailure(
      lease.cluster,
      {
        by: lease.owner,
        at: new Date(deps.clock.nowMs()).toISOString(),
        step,
        message: redactText(failure.error.message),
      },
      signal,
    );
  },
};
