/**
 * `kboot rotate`'s care of this member's own kubeadm certificates (they live one year):
 *   check-certificates (kubeadm certs check-expiration -o json; parked manifests of a run that
 *   died mid-restart) → restore-manifests (put them back) → record-certificates (the member's
 *   item says when its certificates expire, for `kboot status`; before the rotate lease, so every
 *   member reports) → … under the rotate lease (one member at a time) … → renew-certificates
 *   (kubeadm certs renew all, when fewer than 30 days are left) → restart-control-plane →
 *   api-health (the API server answers again; only then the member's item says renewed).
 *
 * The restart is the one kubeadm documents for static Pods
 * (kubernetes.io/docs/tasks/administer-cluster/kubeadm/kubeadm-certs/#manual-certificate-renewal):
 * kubectl cannot restart them, so each manifest is moved out of /etc/kubernetes/manifests, the
 * kubelet stops the Pod within its fileCheckFrequency (20 s by default), the manifest is put back
 * and the kubelet starts the Pod again with the new certificates. A marker file, written before
 * the renewal and removed after the restart, makes a run that died between the two restart next
 * time; the undo of the restart puts the manifests back, and so does the next run if kboot died
 * with them parked.
 */

import type { Identity } from '../../identity/resolve.js';
import {
  CERTIFICATES_RENEW_BEFORE_MS,
  certificatesDue,
  firstToExpire,
  parseCertificateExpirations,
} from '../../kubeadm/cert-expiration.js';
import type { Step } from '../../steps/step.js';
import type { FlowDeps } from '../deps.js';
import { iso, KUBEADM_API_TIMEOUT_MS, type RotateOptions } from './rotation.js';

export const MANIFESTS_DIR = '/etc/kubernetes/manifests';
/** Where manifests wait while their Pods restart: outside the kubelet's static Pod path. */
export const PARKED_MANIFESTS_DIR = '/var/lib/kboot/parked-manifests';
/** Written before `kubeadm certs renew all`, removed once the control plane restarted. */
export const RESTART_PENDING_PATH = '/var/lib/kboot/certificates-renewed';
/** The static Pods that use kubeadm's certificates (any other static Pod is left alone). */
export const CONTROL_PLANE_MANIFESTS = [
  'etcd.yaml',
  'kube-apiserver.yaml',
  'kube-controller-manager.yaml',
  'kube-scheduler.yaml',
] as const;
/** The kubelet's default fileCheckFrequency (20 s) and a margin for the Pod to stop or start. */
export const DEFAULT_STATIC_POD_WAIT_MS = 25_000;

export interface CertificatesCheck {
  /** The first renewable certificate to expire; null when there is none (external CA, no PKI). */
  first: { name: string; expiresAtMs: number } | null;
  /** Fewer than `certificatesRenewBeforeMs` left. */
  due: boolean;
  /** Why kubeadm could not tell (the check failed): nothing is reported or renewed this run. */
  unknown?: string;
}

export interface CertificatesState {
  identity: Identity;
  options: RotateOptions;
  certificates: CertificatesCheck;
  /** Manifests a run that died mid-restart left parked. */
  parkedManifests: string[];
  /** A renewal happened and its restart did not finish (the marker), or this run renewed. */
  restartPending: boolean;
  renewedCertificates: CertificatesCheck;
  restartedManifests: string[];
}

type CertStep<T extends CertificatesState> = Step<T, FlowDeps>;

const DAY_MS = 24 * 3_600_000;

function renewBeforeMs(options: RotateOptions): number {
  return options.certificatesRenewBeforeMs ?? CERTIFICATES_RENEW_BEFORE_MS;
}

function waitMs(options: RotateOptions): number {
  return options.staticPodWaitMs ?? DEFAULT_STATIC_POD_WAIT_MS;
}

/** "in 25 day(s) (2027-…)", or "3 day(s) ago (…)". */
export function describeExpiry(expiresAtMs: number, nowMs: number): string {
  const days = Math.floor((expiresAtMs - nowMs) / DAY_MS);
  const when = days >= 0 ? `in ${days} day(s)` : `${-days} day(s) ago`;
  return `${when} (${iso(expiresAtMs)})`;
}

/** "apiserver expires first, in 25 day(s) (2027-…)". */
export function describeCheck(check: CertificatesCheck, nowMs: number): string {
  if (check.unknown !== undefined) return `unknown (${check.unknown.slice(0, 200)})`;
  if (check.first === null) return 'no kubeadm certificate kubeadm can renew (external CA or no PKI)';
  return `${check.first.name} expires first, ${describeExpiry(check.first.expiresAtMs, nowMs)}`;
}

async function checkExpiration(
  deps: FlowDeps,
  options: RotateOptions,
  signal: AbortSignal,
): Promise<CertificatesCheck> {
  const stdout = await deps.kubeadm.run(['certs', 'check-expiration', '-o', 'json'], {
    timeoutMs: KUBEADM_API_TIMEOUT_MS,
    signal,
  });
  const first = firstToExpire(parseCertificateExpirations(stdout)) ?? null;
  return {
    first,
    due: first !== null && certificatesDue(first.expiresAtMs, deps.clock.nowMs(), renewBeforeMs(options)),
  };
}

/** Stamps this member's item with when its first certificate expires (nothing when it has none). */
export async function recordCheck(
  identity: Identity,
  deps: FlowDeps,
  check: CertificatesCheck,
  signal: AbortSignal,
): Promise<void> {
  if (check.first === null) return;
  const ports = await deps.state();
  await ports.memberCertificates.recordCertificates(
    identity.clusterName,
    identity.instance.instanceId,
    { certificatesExpireAt: iso(check.first.expiresAtMs), certificatesCheckedAt: iso(deps.clock.nowMs()) },
    signal,
  );
}

/** Moves `name` between the manifests directory and the parking one: copy first, then remove. */
async function moveManifest(deps: FlowDeps, name: string, to: 'parked' | 'manifests'): Promise<boolean> {
  const [from, into] =
    to === 'parked' ? [MANIFESTS_DIR, PARKED_MANIFESTS_DIR] : [PARKED_MANIFESTS_DIR, MANIFESTS_DIR];
  const text = await deps.fs.readText(`${from}/${name}`);
  if (text === undefined) return false;
  // kubeadm writes static Pod manifests 0600; a copy is written whole before the original goes,
  // so a crash in between leaves the manifest in both places, never in neither.
  await deps.fs.writePrivateFile(`${into}/${name}`, text);
  await deps.fs.remove(`${from}/${name}`);
  return true;
}

async function parkedManifests(deps: FlowDeps): Promise<string[]> {
  const parked = new Set(await deps.fs.list(PARKED_MANIFESTS_DIR));
  return CONTROL_PLANE_MANIFESTS.filter((name) => parked.has(name));
}

/** Puts every parked manifest back (a manifest in both places keeps the parked copy's content). */
async function restoreParked(deps: FlowDeps): Promise<string[]> {
  const restored: string[] = [];
  for (const name of await parkedManifests(deps)) {
    if (await moveManifest(deps, name, 'manifests')) restored.push(name);
  }
  return restored;
}

export function certificateSteps<T extends CertificatesState>(): {
  checkCertificates: CertStep<T>;
  restoreManifests: CertStep<T>;
  recordCertificates: CertStep<T>;
  renewCertificates: CertStep<T>;
  restartControlPlane: CertStep<T>;
} {
  const checkCertificates: CertStep<T> = {
    name: 'check-certificates',
    kind: 'read',
    describe: () =>
      "check when this member's kubeadm certificates expire (kubeadm certs check-expiration -o json)",
    async run({ state, deps, logger, signal }) {
      const options = state.get('options');
      let check: CertificatesCheck;
      try {
        check = await checkExpiration(deps, options, signal);
      } catch (error) {
        // The join material must stay fresh even when kubeadm cannot check the certificates.
        if (signal.aborted) throw error;
        const reason = error instanceof Error ? error.message : String(error);
        logger.warn({ err: error }, "could not check this member's kubeadm certificates; rotating the rest");
        check = { first: null, due: false, unknown: reason };
      }
      const parked = await parkedManifests(deps);
      const restartPending = await deps.fs.exists(RESTART_PENDING_PATH);
      logger.info(
        {
          certificatesExpireAt: check.first === null ? null : iso(check.first.expiresAtMs),
          certificate: check.first?.name ?? null,
          renewBefore: `${Math.round(renewBeforeMs(options) / DAY_MS)}d`,
        },
        `kubeadm certificates: ${describeCheck(check, deps.clock.nowMs())}${check.due ? '; due for renewal' : ''}`,
      );
      if (parked.length > 0) {
        logger.warn(
          { manifests: parked },
          'static Pod manifests are parked from a restart that did not finish: putting them back',
        );
      }
      state.set({ certificates: check, parkedManifests: parked, restartPending } as Partial<T>);
      return undefined;
    },
  };

  const restoreManifests: CertStep<T> = {
    name: 'restore-manifests',
    kind: 'change',
    describe: (state) =>
      `put the static Pod manifests [${state.get('parkedManifests').join(', ')}] a stopped restart left in ${PARKED_MANIFESTS_DIR} back into ${MANIFESTS_DIR}`,
    skip: (state) =>
      state.get('parkedManifests').length > 0 ? undefined : 'no static Pod manifest is parked',
    noUndo: 'it puts the control plane back as kubeadm wrote it: nothing to undo',
    async run({ deps, logger }) {
      const restored = await restoreParked(deps);
      logger.info({ manifests: restored }, 'put parked static Pod manifests back');
      return undefined;
    },
  };

  const recordCertificates: CertStep<T> = {
    name: 'record-certificates',
    kind: 'change',
    describe: (state, deps) =>
      `record in this member's item of the cluster table that ${describeCheck(state.get('certificates'), deps.clock.nowMs())}`,
    skip: (state) => {
      const check = state.get('certificates');
      if (check.unknown !== undefined) return 'could not check the certificates';
      return check.first === null ? 'no renewable kubeadm certificate to report' : undefined;
    },
    noUndo: 'an informational stamp: the next run writes it again',
    async run({ state, deps, signal }) {
      await recordCheck(state.get('identity'), deps, state.get('certificates'), signal);
      return undefined;
    },
  };

  const renewCertificates: CertStep<T> = {
    name: 'renew-certificates',
    kind: 'change',
    describe: (state, deps) =>
      `renew this member's kubeadm certificates (kubeadm certs renew all): ${describeCheck(state.get('certificates'), deps.clock.nowMs())}, fewer than ${Math.round(renewBeforeMs(state.get('options')) / DAY_MS)} days left`,
    skip: (state) =>
      state.get('certificates').due
        ? undefined
        : `this member's kubeadm certificates have ${Math.round(renewBeforeMs(state.get('options')) / DAY_MS)} days or more left`,
    noUndo:
      'renewed certificates are signed by the same CAs and keep their names: the old ones are not put back, and the restart (next step, or the next run: the marker stays) makes them used',
    async run({ state, deps, logger, signal }) {
      const before = state.get('certificates');
      await deps.fs.writePrivateFile(RESTART_PENDING_PATH, `${iso(deps.clock.nowMs())}\n`);
      state.set({ restartPending: true } as Partial<T>);
      logger.info(
        { certificatesExpireAt: before.first === null ? null : iso(before.first.expiresAtMs) },
        `renewing this member's kubeadm certificates: ${describeCheck(before, deps.clock.nowMs())}`,
      );
      await deps.kubeadm.run(['certs', 'renew', 'all'], { timeoutMs: KUBEADM_API_TIMEOUT_MS, signal });
      const after = await checkExpiration(deps, state.get('options'), signal);
      // Recorded in the member item only once the restarted API server answers (api-health.ts).
      state.set({ renewedCertificates: after } as Partial<T>);
      logger.info(
        {
          certificatesExpireAt: after.first === null ? null : iso(after.first.expiresAtMs),
          previousExpireAt: before.first === null ? null : iso(before.first.expiresAtMs),
        },
        `renewed this member's kubeadm certificates: ${describeCheck(after, deps.clock.nowMs())}`,
      );
      return undefined;
    },
  };

  const restartControlPlane: CertStep<T> = {
    name: 'restart-control-plane',
    kind: 'change',
    describe: (state) => {
      const ms = waitMs(state.get('options'));
      return `restart this member's control-plane static Pods so they load the renewed certificates: move ${CONTROL_PLANE_MANIFESTS.join(', ')} out of ${MANIFESTS_DIR}, wait ${ms / 1000}s for the kubelet to stop them, put them back, wait ${ms / 1000}s for it to start them`;
    },
    skip: (state) =>
      state.get('restartPending') || state.get('certificates').due
        ? undefined
        : 'no certificates were renewed since the control plane last restarted',
    async run({ state, deps, logger, signal }) {
      const ms = waitMs(state.get('options'));
      const moved: string[] = [];
      for (const name of CONTROL_PLANE_MANIFESTS) {
        if (await moveManifest(deps, name, 'parked')) moved.push(name);
      }
      state.set({ restartedManifests: moved } as Partial<T>);
      logger.info(
        { manifests: moved, waitMs: ms },
        'moved the control-plane static Pod manifests out: the kubelet stops their Pods',
      );
      await deps.clock.sleepMs(ms, signal);
      await restoreParked(deps);
      logger.info(
        { manifests: moved, waitMs: ms },
        'put the static Pod manifests back: the kubelet starts their Pods',
      );
      await deps.clock.sleepMs(ms, signal);
      await deps.fs.remove(RESTART_PENDING_PATH);
      logger.info(
        { manifests: moved },
        "restarted this member's control plane with its renewed certificates",
      );
      return undefined;
    },
    undo: {
      describe: `put any static Pod manifest parked in ${PARKED_MANIFESTS_DIR} back into ${MANIFESTS_DIR}`,
      async run({ deps, logger }) {
        const restored = await restoreParked(deps);
        if (restored.length > 0) logger.info({ manifests: restored }, 'put parked static Pod manifests back');
      },
    },
  };

  return { checkCertificates, restoreManifests, recordCertificates, renewCertificates, restartControlPlane };
}

export interface CertificatesReport {
  action: 'renewed' | 'kept' | 'would-renew';
  /** When the first of them expires now (null: a dry run that would renew them). */
  expiresAt: string | null;
  /** When the first of them expired as the run found them. */
  previousExpiresAt: string | null;
}

/** What the run did with this member's certificates; null when it could not tell or did not look. */
export function certificatesReport(
  state: {
    peek(key: 'certificates'): CertificatesCheck | undefined;
    peek(key: 'renewedCertificates'): CertificatesCheck | undefined;
  },
  dryRun: boolean,
): CertificatesReport | null {
  const found = state.peek('certificates');
  if (found === undefined || found.first === null) return null;
  const previousExpiresAt = iso(found.first.expiresAtMs);
  const renewed = state.peek('renewedCertificates');
  if (renewed !== undefined) {
    return {
      action: 'renewed',
      expiresAt: renewed.first === null ? null : iso(renewed.first.expiresAtMs),
      previousExpiresAt,
    };
  }
  if (dryRun && found.due) return { action: 'would-renew', expiresAt: null, previousExpiresAt };
  return { action: 'kept', expiresAt: previousExpiresAt, previousExpiresAt };
}
