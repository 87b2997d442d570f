import { KubeadmError, KubectlError } from '../../../../src/core/errors.js';
import type { Logger } from '../../../../src/core/logger.js';
import { Secret } from '../../../../src/core/secrets.js';
import type { FlowDeps } from '../../../../src/domain/flows/deps.js';
import { membershipFor, writeMembership } from '../../../../src/domain/flows/membership.js';
import { ADMIN_CONF_PATH, KUBELET_CONF_PATH } from '../../../../src/domain/flows/paths.js';
import { rotateFlow } from '../../../../src/domain/flows/rotate/flow.js';
import type { RotateOptions } from '../../../../src/domain/flows/rotate/rotation.js';
import type { RotateResult } from '../../../../src/domain/flows/rotate/types.js';
import type { Role } from '../../../../src/domain/identity/tags.js';
import { JoinMaterialMissingError } from '../../../../src/domain/join/errors.js';
import type {
  ControlPlaneSecret,
  JoinMaterialUpdate,
  JoinSecret,
} from '../../../../src/domain/join/material.js';
import type { JoinMaterialStore } from '../../../../src/domain/join/store.js';
import type { KubeadmRunner } from '../../../../src/domain/ports/kubeadm.js';
import type { ClusterRecord, JoinMaterialStamp } from '../../../../src/domain/state/cluster-record.js';
import type { MemberCertificatesStamp } from '../../../../src/domain/state/cluster-store.js';
import type { LeaseRef, LockName } from '../../../../src/domain/state/lease.js';
import { type FlowRun, FlowStopped, runFlow } from '../../../../src/domain/steps/runner.js';
import type { RunSettings } from '../../../../src/domain/steps/step.js';
import { adminConfText } from '../../../support/admin-conf.js';
import { silentLogger } from '../../../support/silent-logger.js';
import type { FakeLeaseLock } from '../state/fake-lease-lock.js';
import { ManualClock } from '../state/manual-clock.js';
import { sampleRecord } from '../state/records.js';
import {
  fakeIdentity,
  type KubeadmCall,
  kubeadmCall,
  lockNamed,
  MemoryFs,
  nothingLost,
  unexpected,
} from './fake-deps.js';

export const START_MS = Date.UTC(2025, 0, 31, 12);
export const MINUTE = 60_000;
export const HOUR = 60 * MINUTE;
export const DAY = 24 * HOUR;
export const CLUSTER = 'prod';
export const SELF = 'i-self';
export const CURRENT_TOKEN = 'abcdef.0123456789abcdef';
export const CURRENT_KEY = 'a'.repeat(64);
export const CA_HASH = `sha256:${'c'.repeat(64)}`;

export const OPTIONS: RotateOptions = {
  tokenTtlMs: 24 * HOUR,
  tokenRenewBeforeMs: 8 * HOUR,
  certificateKeyRenewBeforeMs: 30 * MINUTE,
  joinWaitMs: 15 * MINUTE,
};

export function iso(ms: number): string {
  return new Date(ms).toISOString();
}

export function joinSecret(tokenExpiresAtMs: number, token = CURRENT_TOKEN): JoinSecret {
  return {
    schemaVersion: 1,
    apiEndpoint: 'api.prod.example.com:6443',
    token: new Secret(token),
    tokenExpiresAt: iso(tokenExpiresAtMs),
    caCertHashes: [CA_HASH],
    kubernetesVersion: 'v1.31.2',
    updatedAt: iso(START_MS - 16 * HOUR),
  };
}

export function controlPlaneSecret(expiresAtMs: number, key = CURRENT_KEY): ControlPlaneSecret {
  return {
    schemaVersion: 1,
    certificateKey: new Secret(key),
    certificateKeyExpiresAt: iso(expiresAtMs),
    updatedAt: iso(expiresAtMs - 2 * HOUR),
  };
}

/** `kubeadm certs check-expiration -o json`: the apiserver's expires at `expiresAtMs`, the rest an hour later. */
export function expirationJson(expiresAtMs: number): string {
  const certificate = (name: string) => ({
    name,
    expirationDate: new Date(expiresAtMs + (name === 'apiserver' ? 0 : HOUR)).toISOString(),
    residualTime: 0,
    caName: 'ca',
    externallyManaged: false,
    missing: false,
  });
  return `[check-expiration] Reading configuration from the cluster...\n\n${JSON.stringify({
    kind: 'CertificateExpirationInfo',
    apiVersion: 'output.kubeadm.k8s.io/v1alpha3',
    certificates: ['admin.conf', 'apiserver', 'etcd-server'].map(certificate),
    certificateAuthorities: [],
  })}\n`;
}

export interface ListedTokenJson {
  token: string;
  description?: string;
  expires?: string;
}

/** Everything a test arranges and inspects. */
export class World {
  readonly clock = new ManualClock(START_MS);
  readonly events: string[] = [];
  readonly kubeadmCalls: KubeadmCall[] = [];
  readonly published: JoinMaterialUpdate[] = [];
  readonly stamps: JoinMaterialStamp[] = [];
  /** What this member reported about its kubeadm certificates. */
  readonly certificateStamps: (MemberCertificatesStamp & { instanceId: string })[] = [];
  /** The certificate steps' kubeadm calls and stamps, in order. */
  readonly certificateEvents: string[] = [];
  /** When this member's first kubeadm certificate expires (kubeadm certs check-expiration). */
  certificatesExpireAtMs = START_MS + 300 * DAY;
  /** The signal the run's settings carry: abort it for a SIGTERM. */
  readonly interrupt = new AbortController();
  /** Called as `kubeadm certs renew all` runs. */
  onRenew: (() => void) | undefined;
  /** How many /readyz probes of this member's API server fail before it answers (Infinity: never). */
  apiDownForProbes = 0;
  /** The kubectl calls (argv), in order. */
  readonly kubectlCalls: string[][] = [];
  /** The lease each stamp was written under. */
  readonly stampLeases: (LeaseRef | undefined)[] = [];
  /** Which secret versions were read (the record's, or AWSCURRENT). */
  readonly versionsRead: string[] = [];
  readonly locks = new Map<LockName, FakeLeaseLock>();
  readonly fs = new MemoryFs();
  role: Role = 'control-plane';
  record: ClusterRecord | undefined = sampleRecord({
    initialized: { by: 'i-first', at: iso(START_MS - 30 * 24 * HOUR), fence: 1 },
  });
  join: JoinSecret | Error | undefined = joinSecret(START_MS + 20 * HOUR);
  controlPlane: ControlPlaneSecret | Error | undefined = controlPlaneSecret(START_MS + 90 * MINUTE);
  /** The published admin.conf (kboot/prod/admin.conf): its client certificate ends with this member's certificates. */
  adminConf: Secret<string> | Error | undefined = new Secret(adminConfText(this.certificatesExpireAtMs));
  listedTokens: ListedTokenJson[] = [];
  failKubeadm = new Set<string>();
  failPublish: ((update: JoinMaterialUpdate) => Error | undefined) | undefined;
  failStamp: Error | undefined;
  stateCalls = 0;
  logger: Logger = silentLogger();

  lock(name: LockName): FakeLeaseLock {
    return lockNamed(this.locks, name);
  }

  store(): JoinMaterialStore {
    const missing = (id: string) => new JoinMaterialMissingError(CLUSTER, id, 'eu-west-1');
    return {
      publish: async (_cluster, material) => {
        const failure = this.failPublish?.(material);
        this.events.push(`publish:${Object.keys(material).join(',')}${failure ? ':failed' : ''}`);
        if (failure !== undefined) throw failure;
        this.published.push(material);
        if (material.join !== undefined) this.join = material.join;
        if (material.controlPlane !== undefined) this.controlPlane = material.controlPlane;
        if (material.adminConf !== undefined) this.adminConf = material.adminConf;
        const n = this.published.length;
        return [
          ...(material.join === undefined
            ? []
            : [{ secretId: 'kboot/prod/join', versionId: `join-v${n}`, created: false }]),
          ...(material.controlPlane === undefined
            ? []
            : [{ secretId: 'kboot/prod/control-plane', versionId: `cp-v${n}`, created: false }]),
          ...(material.adminConf === undefined
            ? []
            : [{ secretId: 'kboot/prod/admin.conf', versionId: `admin-v${n}`, created: false }]),
        ];
      },
      readJoin: async (_cluster, versionId) => {
        this.versionsRead.push(`join:${versionId ?? 'AWSCURRENT'}`);
        if (this.join === undefined) throw missing('kboot/prod/join');
        if (this.join instanceof Error) throw this.join;
        return this.join;
      },
      readControlPlane: async (_cluster, versionId) => {
        this.versionsRead.push(`control-plane:${versionId ?? 'AWSCURRENT'}`);
        if (this.controlPlane === undefined) throw missing('kboot/prod/control-plane');
        if (this.controlPlane instanceof Error) throw this.controlPlane;
        return this.controlPlane;
      },
      readAdminConf: async (_cluster, versionId) => {
        this.versionsRead.push(`admin.conf:${versionId ?? 'AWSCURRENT'}`);
        if (this.adminConf === undefined) throw missing('kboot/prod/admin.conf');
        if (this.adminConf instanceof Error) throw this.adminConf;
        return this.adminConf;
      },
    };
  }

  kubeadm(): KubeadmRunner {
    return {
      run: async (args) => {
        this.kubeadmCalls.push(kubeadmCall(this.fs, args));
        const name =
          args[0] === 'init'
            ? 'upload-certs'
            : args[0] === 'version'
              ? 'version'
              : args.slice(0, 2).join(' ');
        // This member's certificates are a matter apart (rotate-certificates.test.ts): their
        // kubeadm calls and stamps go to certificateEvents, the join material's to events.
        const certificates = name.startsWith('certs ');
        (certificates ? this.certificateEvents : this.events).push(`kubeadm:${name}`);
        if (this.failKubeadm.has(name)) throw new KubeadmError(`kubeadm ${name} exited 1`);
        if (name === 'certs check-expiration') return expirationJson(this.certificatesExpireAtMs);
        if (name === 'certs renew') {
          this.onRenew?.();
          this.certificatesExpireAtMs = this.clock.nowMs() + 365 * DAY;
          // As kubeadm does: admin.conf's client certificate is among those renewed.
          await this.fs.writePrivateFile(ADMIN_CONF_PATH, adminConfText(this.certificatesExpireAtMs));
          return 'Done renewing certificates.\n';
        }
        if (name === 'version') return 'v1.31.2\n';
        if (name === 'token list') return this.listedTokens.map((token) => JSON.stringify(token)).join('\n');
        if (name === 'token create') return 'printed-token-ignored\n';
        return '';
      },
    };
  }

  deps(): FlowDeps {
    return {
      logger: this.logger,
      clock: this.clock,
      fs: this.fs,
      config: {},
      settings: {
        dryRun: false,
        waitTimeoutMs: 15 * MINUTE,
        leaseMs: 10 * MINUTE,
        kubeadmTimeoutMs: 15 * MINUTE,
        addonTimeoutMs: 2 * MINUTE,
        tokenTtlMs: 24 * HOUR,
        minMaterialLifeMs: 2 * MINUTE,
        pollMs: 1000,
      },
      identity: async () => fakeIdentity(this.role),
      privateDnsName: unexpected('privateDnsName'),
      discoverApiEndpoint: unexpected('discoverApiEndpoint'),
      state: async () => {
        this.stateCalls += 1;
        return {
          records: {
            tableName: 'kboot',
            readRecord: async () => this.record,
            putRecordIfAbsent: unexpected('putRecordIfAbsent'),
            markInitialized: unexpected('markInitialized'),
            recordFailure: unexpected('recordFailure'),
            updateJoinMaterial: async (
              _cluster: string,
              stamp: JoinMaterialStamp,
              _signal?: AbortSignal,
              lease?: LeaseRef,
            ) => {
              this.events.push('stamp');
              if (this.failStamp !== undefined) throw this.failStamp;
              this.stamps.push(stamp);
              this.stampLeases.push(lease);
            },
            recordMember: unexpected('recordMember'),
          },
          memberCertificates: {
            recordCertificates: async (
              _cluster: string,
              instanceId: string,
              stamp: MemberCertificatesStamp,
            ) => {
              this.certificateEvents.push('certificates-stamp');
              this.certificateStamps.push({ instanceId, ...stamp });
            },
          },
          clusterState: { readClusterState: unexpected('readClusterState') },
          lock: (_cluster: string, name: LockName) => this.lock(name),
        };
      },
      joinMaterial: async () => this.store(),
      oidcPublisher: unexpected('oidcPublisher'),
      pkiSecrets: unexpected('pkiSecrets'),
      kubeadm: this.kubeadm(),
      // Only the /readyz probe of this member's API server after a restart (api-health.ts).
      kubectl: {
        run: async (args) => {
          if (args[0] !== 'get' || args[1] !== '--raw=/readyz')
            throw new Error(`unexpected call: kubectl ${args.join(' ')}`);
          this.kubectlCalls.push([...args]);
          this.certificateEvents.push('kubectl:readyz');
          if (this.apiDownForProbes > 0) {
            this.apiDownForProbes -= 1;
            throw new KubectlError('kubectl get exited 1: The connection to the server was refused');
          }
          return { stdout: 'ok', stderr: '' };
        },
      },
      cleanup: nothingLost(),
    } satisfies FlowDeps;
  }

  async becomeMember(): Promise<void> {
    await this.fs.writePrivateFile(KUBELET_CONF_PATH, 'kubelet.conf');
    await this.fs.writePrivateFile(ADMIN_CONF_PATH, adminConfText(this.certificatesExpireAtMs));
    await writeMembership(this.fs, membershipFor(CLUSTER, 'control-plane', SELF, 'init', START_MS - HOUR));
  }

  settings(dryRun: boolean): RunSettings {
    return {
      logger: this.logger,
      clock: this.clock,
      signal: this.interrupt.signal,
      dryRun,
      undoBudgetMs: MINUTE,
      stopGraceMs: 15_000,
    };
  }

  /** The flow, unwrapped: a stopped flow rejects with its error, as the CLI sees it. */
  async start(options: Partial<RotateOptions> = {}, dryRun = false): Promise<FlowRun<RotateResult>> {
    try {
      return await runFlow(rotateFlow, this.deps(), this.settings(dryRun), {
        options: { ...OPTIONS, ...options },
      });
    } catch (error) {
      throw error instanceof FlowStopped ? error.failure.error : error;
    }
  }

  async run(options: Partial<RotateOptions> = {}, dryRun = false): Promise<RotateResult> {
    return (await this.clock.run(this.start(options, dryRun))).result;
  }

  async runDry(): Promise<FlowRun<RotateResult>> {
    return this.clock.run(this.start({}, true));
  }

  commands(): string[] {
    return this.events.filter((event) => event.startsWith('kubeadm:'));
  }

  /** Every string a secret could hide in: argv, events, results. */
  argv(): string {
    return this.kubeadmCalls.map((call) => call.args.join(' ')).join('\n');
  }
}

export async function world(): Promise<World> {
  const w = new World();
  await w.becomeMember();
  return w;
}
