/**
 * `kboot rotate`: keeps join material fresh so a master or node can join a cluster of any age.
 * Run on control-plane members by a systemd timer (every 15 minutes); one master acts at a time.
 *   identity (control-plane, else exit 9) → a member? (not yet: exit 0, nothing to do) → the
 *   cluster record (initialized) → this member's kubeadm certificates checked and reported, parked
 *   manifests put back (certificates.ts) → the `rotate` lease, tried once (held by another master: exit 0)
 *   → the join and control-plane secrets read and the decision made (rotate-plan.ts) → token
 *   renewed (token.ts) → certificate key renewed (certificate-key.ts) → this member's kubeadm
 *   certificates renewed and its static Pods restarted, when due (certificates.ts), its API server
 *   answering again before its member item says renewed (api-health.ts) → the published
 *   admin.conf republished from this member when renewed or due (admin-conf.ts) → expired kboot tokens
 *   deleted → lost instances cleaned up (under the
 *   control-plane-join lease, tried once) → the lease released.
 * The secret-bearing kubeadm config files are removed after each use and again as the flow unwinds.
 */

import type { Flow } from '../../steps/step.js';
import type { FlowDeps } from '../deps.js';
import { identityStep } from '../start-steps.js';
import { checkAdminConf, publishAdminConf } from './admin-conf.js';
import { apiHealthStep } from './api-health.js';
import { certificateSteps } from './certificates.js';
import { cleanupLostInstances, planCleanup } from './lost-instances.js';
import { clusterRecord, membership, policy, readMaterial, rotateLease } from './prepare.js';
import { deleteExpiredTokens, listExpiredTokens, renewCertificateKeyStep, renewTokenStep } from './renew.js';
import { rotateResult } from './result.js';
import type { RotateResult, RotateState } from './types.js';

const certificates = certificateSteps<RotateState>();

export const rotateFlow: Flow<RotateState, FlowDeps, RotateResult> = {
  name: 'rotate',
  steps: [
    policy,
    identityStep(
      'rotate',
      'control-plane',
      "run 'kboot rotate' on control-plane instances only (it uses their admin.conf); disable the kboot-rotate timer on worker images",
    ),
    membership,
    clusterRecord,
    certificates.checkCertificates,
    certificates.restoreManifests,
    certificates.recordCertificates,
    rotateLease,
    readMaterial,
    checkAdminConf,
    renewTokenStep,
    renewCertificateKeyStep,
    certificates.renewCertificates,
    certificates.restartControlPlane,
    apiHealthStep<RotateState>(),
    publishAdminConf,
    listExpiredTokens,
    deleteExpiredTokens,
    planCleanup,
    cleanupLostInstances,
  ],
  result: rotateResult,
};
