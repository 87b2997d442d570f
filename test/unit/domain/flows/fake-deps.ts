/**
 * In-process fakes of the boot flows' ports (FlowDeps), shared by the flow tests: a filesystem
 * root in memory, a cluster store whose fenced write checks the fake lease lock, a join material
 * store keeping every published version, and a kubeadm that records what it was given and does
 * to the filesystem what the real one does (init and join write kubelet.conf; reset removes it).
 * Everything answers at once, so time moves only when a flow waits on the manual clock.
 */

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { KubeadmError, StateConflictError } from '../../../../src/core/errors.js';
import type { Logger } from '../../../../src/core/logger.js';
import { Secret } from '../../../../src/core/secrets.js';
import type { NodeConfig } from '../../../../src/domain/config/node-config.js';
import type { FlowDeps, FlowResult } from '../../../../src/domain/flows/deps.js';
import { type Membership, membershipFor, writeMembership } from '../../../../src/domain/flows/membership.js';
import {
  ADMIN_CONF_PATH,
  CA_CERT_PATH,
  KUBELET_CONF_PATH,
  MEMBERSHIP_PATH,
} from '../../../../src/domain/flows/paths.js';
import type { Identity } from '../../../../src/domain/identity/resolve.js';
import type { Role } from '../../../../src/domain/identity/tags.js';
import { JoinMaterialMissingError } from '../../../../src/domain/join/errors.js';
import type {
  ControlPlaneSecret,
  JoinMaterialUpdate,
  JoinSecret,
} from '../../../../src/domain/join/material.js';
import {
  adminConfSecretId,
  controlPlaneSecretId,
  joinSecretId,
} from '../../../../src/domain/join/secret-ids.js';
import type { JoinMaterialStore, PublishedSecret } from '../../../../src/domain/join/store.js';
import { PKI_DIR, PKI_FILES, type PkiBundle } from '../../../../src/domain/pki/bundle.js';
import type { PkiSecretStore } from '../../../../src/domain/pki/store.js';
import type { InstanceFiles } from '../../../../src/domain/ports/files.js';
import type { KubeadmRunner } from '../../../../src/domain/ports/kubeadm.js';
import type {
  ClusterRecord,
  JoinMaterialStamp,
  RecordedFailure,
} from '../../../../src/domain/state/cluster-record.js';
import type { LeaseRef, LockName } from '../../../../src/domain/state/lease.js';
import type { MemberRecord } from '../../../../src/domain/state/member.js';
import { type FlowRun, FlowStopped, runFlow } from '../../../../src/domain/steps/runner.js';
import type { Flow, RunSettings } from '../../../../src/domain/steps/step.js';
import { adminConfText } from '../../../support/admin-conf.js';
import { silentLogger } from '../../../support/silent-logger.js';
import { FakeLeaseLock } from '../state/fake-lease-lock.js';
import { ManualClock } from '../state/manual-clock.js';

export const START_MS = Date.UTC(2025, 0, 31, 12);
export const MINUTE = 60_000;
export const HOUR = 60 * MINUTE;
export const CLUSTER = 'prod';
export const SELF = 'i-self';
export const NODE_NAME = 'ip-10-0-1-10.eu-west-1.compute.internal';
/** When the admin.conf the fake `kubeadm init` writes stops being valid: a year after START_MS, as kubeadm issues it. */
export const ADMIN_CONF_NOT_AFTER_MS = START_MS + 365 * 24 * HOUR;

export function iso(ms: number): string {
  return new Date(ms).toISOString();
}

/** The instance's files in memory; writePrivateFile records mode 0600 (FsRoot's own tests cover the real one). */
export class MemoryFs implements InstanceFiles {
  readonly root = '/memory-root';
  readonly files = new Map<string, { content: string; mode: number }>();

  resolve(instancePath: string): string {
    return path.posix.join(this.root, this.#key(instancePath));
  }

  #key(instancePath: string): string {
    return path.posix.resolve('/', instancePath);
  }

  /** The instance path of a path resolve() gave out. */
  instancePath(resolved: string): string {
    return `/${path.relative(this.root, resolved)}`;
  }

  async readText(instancePath: string): Promise<string | undefined> {
    return this.files.get(this.#key(instancePath))?.content;
  }

  async list(instancePath: string): Promise<string[]> {
    const dir = `${this.#key(instancePath)}/`;
    return [...this.files.keys()]
      .filter((file) => file.startsWith(dir) && !file.slice(dir.length).includes('/'))
      .map((file) => file.slice(dir.length))
      .sort();
  }

  async exists(instancePath: string): Promise<boolean> {
    const key = this.#key(instancePath);
    return this.files.has(key) || [...this.files.keys()].some((file) => file.startsWith(`${key}/`));
  }

  async writePrivateFile(instancePath: string, content: string): Promise<string> {
    this.files.set(this.#key(instancePath), { content, mode: 0o600 });
    return this.resolve(instancePath);
  }

  async remove(instancePath: string): Promise<void> {
    const key = this.#key(instancePath);
    for (const file of [...this.files.keys()]) {
      if (file === key || file.startsWith(`${key}/`)) this.files.delete(file);
    }
  }

  /** The instance paths of every file, sorted. */
  paths(): string[] {
    return [...this.files.keys()].sort();
  }
}

let cachedCaPem: string | undefined;

/** A real self-signed CA certificate (openssl), made once per test process. */
export function testCaPem(): string {
  if (cachedCaPem !== undefined) return cachedCaPem;
  const dir = mkdtempSync(path.join(tmpdir(), 'kboot-flow-ca-'));
  try {
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:P-256',
        '-nodes',
        '-keyout',
        path.join(dir, 'ca.key'),
        '-out',
        path.join(dir, 'ca.crt'),
        '-days',
        '1',
        '-subj',
        '/CN=kubernetes',
      ],
      { stdio: 'ignore' },
    );
    cachedCaPem = readFileSync(path.join(dir, 'ca.crt'), 'utf8');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return cachedCaPem;
}

export interface KubeadmCall {
  args: string[];
  /** The --config file as kubeadm would have read it. */
  config?: { text: string; mode: number };
}

/** A kubeadm call as kubeadm saw it: its argv, and the --config file it would have read. */
export function kubeadmCall(fs: MemoryFs, args: readonly string[]): KubeadmCall {
  const configAt = args.indexOf('--config');
  const call: KubeadmCall = { args: [...args] };
  if (configAt >= 0) {
    const file = fs.files.get(fs.instancePath(args[configAt + 1] as string));
    assert.ok(file !== undefined, 'kubeadm got a config file that does not exist');
    call.config = { text: file.content, mode: file.mode };
  }
  return call;
}

/** What a kubeadm subcommand does instead of succeeding: fail, or run until its signal aborts. */
export type KubeadmBehaviour = { fail: Error } | { hang: true; onStart?: () => void | Promise<void> };

export function joinSecret(tokenExpiresAtMs: number, token = 'abcdef.0123456789abcdef'): JoinSecret {
  return {
    schemaVersion: 1,
    apiEndpoint: 'api.prod.example.com:6443',
    token: new Secret(token),
    tokenExpiresAt: iso(tokenExpiresAtMs),
    caCertHashes: [`sha256:${'c'.repeat(64)}`],
    kubernetesVersion: 'v1.31.2',
    updatedAt: iso(START_MS - HOUR),
  };
}

export function controlPlaneSecret(expiresAtMs: number, key = 'a'.repeat(64)): ControlPlaneSecret {
  return {
    schemaVersion: 1,
    certificateKey: new Secret(key),
    certificateKeyExpiresAt: iso(expiresAtMs),
    updatedAt: iso(expiresAtMs - 2 * HOUR),
  };
}

/** Secret versions by id, newest last: what Secrets Manager holds for the cluster. */
interface StoredSecret<T> {
  versions: Map<string, T>;
  current: string | undefined;
}

function storedSecret<T>(): StoredSecret<T> {
  return { versions: new Map(), current: undefined };
}

/** Everything a boot-flow test arranges and inspects. */
export class BootWorld {
  readonly clock = new ManualClock(START_MS);
  /** What reached the world, in order: kubeadm subcommands, AWS writes, file removals that matter. */
  readonly events: string[] = [];
  readonly kubeadmCalls: KubeadmCall[] = [];
  readonly locks = new Map<LockName, FakeLeaseLock>();
  readonly fs = new MemoryFs();
  readonly members: MemberRecord[] = [];
  readonly failures: RecordedFailure[] = [];
  readonly kubeadm = new Map<string, KubeadmBehaviour>();
  /** Secret reads, as `join:<version>` (AWSCURRENT when the reader named none). */
  readonly secretReads: string[] = [];
  readonly joinSecrets = storedSecret<JoinSecret>();
  readonly controlPlaneSecrets = storedSecret<ControlPlaneSecret>();
  readonly adminConfSecrets = storedSecret<Secret<string>>();
  /** `kboot/<cluster>/pki`, by version (`pki-v<n>`). */
  readonly pkiSecrets = storedSecret<PkiBundle>();
  role: Role = 'control-plane';
  /** What `kubeadm version -o short` prints (the kubeadm and kubelet of this instance). */
  kubeadmVersion = 'v1.31.2';
  config: NodeConfig = {};
  record: ClusterRecord | undefined;
  recordReads = 0;
  /** Called before each record read (1-based count): lets a test change the record over time. */
  onReadRecord: ((reads: number) => void) | undefined;
  stateCalls = 0;
  /** Reads of the record and members together (a worker waiting during an upgrade). */
  clusterStateReads = 0;
  /** Called before each such read (1-based count): lets a test move the roll on. */
  onReadClusterState: ((reads: number) => void) | undefined;
  logger: Logger = silentLogger();
  /** The signal runFlow's settings carry: abort it for a SIGTERM. */
  readonly interrupt = new AbortController();
  #publishes = 0;

  lock(name: LockName): FakeLeaseLock {
    return lockNamed(this.locks, name);
  }

  /** Puts join material in the store as `publish` would (versions named `<part>-v<n>`). */
  storeMaterial(material: JoinMaterialUpdate): PublishedSecret[] {
    this.#publishes += 1;
    const n = this.#publishes;
    const out: PublishedSecret[] = [];
    const put = <T>(stored: StoredSecret<T>, secretId: string, part: string, value: T | undefined) => {
      if (value === undefined) return;
      const versionId = `${part}-v${n}`;
      stored.versions.set(versionId, value);
      stored.current = versionId;
      out.push({ secretId, versionId, created: n === 1 });
    };
    put(this.controlPlaneSecrets, controlPlaneSecretId(CLUSTER), 'cp', material.controlPlane);
    put(this.adminConfSecrets, adminConfSecretId(CLUSTER), 'admin', material.adminConf);
    put(this.joinSecrets, joinSecretId(CLUSTER), 'join', material.join);
    return out;
  }

  store(): JoinMaterialStore {
    const read = <T>(stored: StoredSecret<T>, part: string, secretId: string, versionId?: string): T => {
      this.secretReads.push(`${part}:${versionId ?? 'AWSCURRENT'}`);
      const value = stored.versions.get(versionId ?? stored.current ?? '');
      if (value === undefined) throw new JoinMaterialMissingError(CLUSTER, secretId, 'eu-west-1');
      return value;
    };
    return {
      publish: async (_cluster, material) => {
        this.events.push('publish');
        return this.storeMaterial(material);
      },
      readJoin: async (_cluster, versionId) =>
        read(this.joinSecrets, 'join', joinSecretId(CLUSTER), versionId),
      readControlPlane: async (_cluster, versionId) =>
        read(this.controlPlaneSecrets, 'control-plane', controlPlaneSecretId(CLUSTER), versionId),
      readAdminConf: async (_cluster, versionId) =>
        read(this.adminConfSecrets, 'admin.conf', adminConfSecretId(CLUSTER), versionId),
    };
  }

  /** The PKI secret store: versions kept, reads noted as `pki:<version>`. */
  pkiStore(): PkiSecretStore {
    return {
      write: async (_cluster, bundle) => {
        this.events.push('write-pki');
        const created = this.pkiSecrets.versions.size === 0;
        const versionId = `pki-v${this.pkiSecrets.versions.size + 1}`;
        this.pkiSecrets.versions.set(versionId, bundle);
        this.pkiSecrets.current = versionId;
        return { secretId: `kboot/${CLUSTER}/pki`, versionId, created };
      },
      read: async (_cluster, versionId) => {
        this.secretReads.push(`pki:${versionId ?? 'AWSCURRENT'}`);
        const bundle = this.pkiSecrets.versions.get(versionId ?? this.pkiSecrets.current ?? '');
        if (bundle === undefined)
          throw new JoinMaterialMissingError(CLUSTER, `kboot/${CLUSTER}/pki`, 'eu-west-1');
        return bundle;
      },
    };
  }

  /** The part of `kubeadm` args a test names behaviours by: `init`, `join`, `reset`, `version`. */
  kubeadmRunner(): KubeadmRunner {
    return {
      run: async (args, options) => {
        this.kubeadmCalls.push(kubeadmCall(this.fs, args));
        const name = args[0] as string;
        this.events.push(`kubeadm:${name}`);
        const behaviour = this.kubeadm.get(name);
        if (behaviour !== undefined && 'fail' in behaviour) throw behaviour.fail;
        if (behaviour !== undefined && 'hang' in behaviour) {
          const signal = options?.signal;
          assert.ok(signal !== undefined, `kubeadm ${name} was run without a signal`);
          await behaviour.onStart?.();
          await new Promise<never>((_, reject) => {
            if (signal.aborted) reject(new KubeadmError(`kubeadm ${name} was stopped`));
            signal.addEventListener('abort', () => reject(new KubeadmError(`kubeadm ${name} was stopped`)), {
              once: true,
            });
          });
        }
        switch (name) {
          case 'version':
            return `${this.kubeadmVersion}\n`;
          case 'init':
            await this.fs.writePrivateFile(KUBELET_CONF_PATH, 'kubelet.conf');
            // kubeadm's admin.conf: its client certificate is valid for a year.
            await this.fs.writePrivateFile(ADMIN_CONF_PATH, adminConfText(ADMIN_CONF_NOT_AFTER_MS));
            for (const name of PKI_FILES) {
              await this.fs.writePrivateFile(
                `${PKI_DIR}/${name}`,
                name.endsWith('.crt')
                  ? testCaPem()
                  : `-----BEGIN PRIVATE KEY-----\n${name}\n-----END PRIVATE KEY-----\n`,
              );
            }
            await this.fs.writePrivateFile(CA_CERT_PATH, testCaPem());
            return '';
          case 'join':
            await this.fs.writePrivateFile(KUBELET_CONF_PATH, 'kubelet.conf');
            return '';
          case 'reset':
            await this.fs.remove('/etc/kubernetes');
            return '';
          default:
            throw new Error(`unexpected kubeadm ${args.join(' ')}`);
        }
      },
    };
  }

  /** The kubeadm subcommands run, in order. */
  commands(): string[] {
    return this.kubeadmCalls.map((call) => call.args[0] as string);
  }

  records(): Awaited<ReturnType<FlowDeps['state']>>['records'] {
    const current = (): ClusterRecord => {
      assert.ok(this.record !== undefined, 'the flow wrote to a record that does not exist');
      return this.record;
    };
    return {
      tableName: 'kboot',
      readRecord: async () => {
        this.recordReads += 1;
        this.onReadRecord?.(this.recordReads);
        return this.record && structuredClone(this.record);
      },
      putRecordIfAbsent: async (record) => {
        this.events.push('put-record');
        if (this.record !== undefined) return { created: false, record: this.record, differences: [] };
        this.record = structuredClone(record);
        return { created: true, record };
      },
      markInitialized: async (lease: LeaseRef, nowMs: number, _signal, joinMaterial?: JoinMaterialStamp) => {
        this.events.push('mark-initialized');
        const held = this.lock(lease.lock).record;
        if (held?.owner !== lease.owner || held.fence !== lease.fence) {
          throw new StateConflictError(`the ${lease.lock} lease is no longer held by ${lease.owner}`);
        }
        const record = current();
        if (record.initialized !== undefined) throw new StateConflictError('already initialized');
        const initialized = { by: lease.owner, at: iso(nowMs), fence: lease.fence };
        this.record = {
          ...record,
          initialized,
          ...(joinMaterial === undefined ? {} : { joinMaterial }),
        };
        return initialized;
      },
      recordFailure: async (_cluster, failure) => {
        this.events.push('record-failure');
        this.failures.push(failure);
        this.record = { ...current(), lastFailure: failure };
      },
      updateJoinMaterial: async () => {
        throw new Error('unexpected call: updateJoinMaterial');
      },
      recordMember: async (_cluster, member) => {
        this.events.push('record-member');
        this.members.push(member);
      },
    };
  }

  identity(): Identity {
    return fakeIdentity(this.role);
  }

  deps(dryRun = false): FlowDeps {
    return {
      logger: this.logger,
      clock: this.clock,
      fs: this.fs,
      config: this.config,
      settings: {
        dryRun,
        waitTimeoutMs: 15 * MINUTE,
        leaseMs: 3 * MINUTE,
        kubeadmTimeoutMs: 15 * MINUTE,
        addonTimeoutMs: 2 * MINUTE,
        tokenTtlMs: 24 * HOUR,
        minMaterialLifeMs: 2 * MINUTE,
        pollMs: 1000,
      },
      identity: async () => this.identity(),
      privateDnsName: async () => NODE_NAME,
      discoverApiEndpoint: unexpected('discoverApiEndpoint'),
      state: async () => {
        this.stateCalls += 1;
        return {
          records: this.records(),
          memberCertificates: { recordCertificates: unexpected('recordCertificates') },
          clusterState: {
            readClusterState: async (cluster: string) => {
              this.clusterStateReads += 1;
              this.onReadClusterState?.(this.clusterStateReads);
              return {
                cluster,
                record: this.record && structuredClone(this.record),
                recordError: undefined,
                locks: {},
                members: structuredClone(this.members),
              };
            },
          },
          lock: (_cluster: string, name: LockName) => this.lock(name),
        };
      },
      joinMaterial: async () => this.store(),
      pkiSecrets: async () => this.pkiStore(),
      oidcPublisher: unexpected('oidcPublisher'),
      kubeadm: this.kubeadmRunner(),
      // Only the removal of kubeadm's auto-approval binding after init (node-client-approval.ts).
      kubectl: {
        run: async (args: readonly string[]) => {
          if (args[0] !== 'delete' || args[1] !== 'clusterrolebinding') {
            throw new Error(`unexpected call: kubectl ${args.join(' ')}`);
          }
          this.events.push(`kubectl:delete ${args[2]}`);
          return {
            stdout: `clusterrolebinding.rbac.authorization.k8s.io "${args[2]}" deleted\n`,
            stderr: '',
          };
        },
      },
      cleanup: nothingLost(),
    } satisfies FlowDeps;
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

  /** kubelet.conf and a membership file: this instance joined before. */
  async becomeMember(how: Membership['how'], instanceId = SELF): Promise<void> {
    await this.fs.writePrivateFile(KUBELET_CONF_PATH, 'kubelet.conf');
    const role: Role = this.role;
    await writeMembership(this.fs, membershipFor(CLUSTER, role, instanceId, how, START_MS - HOUR));
  }

  async membership(): Promise<Membership | undefined> {
    const text = await this.fs.readText(MEMBERSHIP_PATH);
    return text === undefined ? undefined : (JSON.parse(text) as Membership);
  }

  /** The membership file (0600) says this instance joined just now, in `role`, by `how`. */
  async assertMember(role: Role, how: Membership['how']): Promise<void> {
    assert.deepEqual(await this.membership(), {
      cluster: CLUSTER,
      role,
      instanceId: SELF,
      how,
      joinedAt: new Date(this.clock.nowMs()).toISOString(),
    });
    assert.equal(this.fs.files.get(MEMBERSHIP_PATH)?.mode, 0o600);
  }

  /** kubeadm `subcommand` runs until another instance takes `lock` over and this one's renewal fails. */
  loseLeaseDuring(subcommand: string, lock: LockName): void {
    this.kubeadm.set(subcommand, {
      hang: true,
      onStart: () => {
        this.lock(lock).record = {
          owner: 'i-other',
          expiresAtMs: this.clock.nowMs() + HOUR,
          fence: 99,
          rvn: 'taken-over',
          leaseMs: HOUR,
        };
      },
    });
  }

  /** kubeadm `subcommand` runs until a SIGTERM, which comes as it starts. */
  interruptDuring(subcommand: string): void {
    this.kubeadm.set(subcommand, { hang: true, onStart: () => this.interrupt.abort() });
  }

  /** Runs a flow to its end, driving the clock; a stopped flow rejects with its FlowStopped. */
  run<T extends object, R>(flow: Flow<T, FlowDeps, R>, dryRun = false): Promise<FlowRun<R>> {
    return this.clock.run(runFlow(flow, this.deps(dryRun), this.settings(dryRun)));
  }

  /** Runs a flow that must stop, and returns why. */
  async stopped<T extends object, R>(flow: Flow<T, FlowDeps, R>): Promise<FlowStopped> {
    try {
      await this.run(flow);
    } catch (error) {
      if (error instanceof FlowStopped) return error;
      throw error;
    }
    assert.fail(`${flow.name} finished; it should have stopped`);
  }
}

/** The cluster's lock `name`, made free on first use. */
export function lockNamed(locks: Map<LockName, FakeLeaseLock>, name: LockName): FakeLeaseLock {
  let lock = locks.get(name);
  if (lock === undefined) {
    lock = new FakeLeaseLock(CLUSTER, name);
    locks.set(name, lock);
  }
  return lock;
}

/** A port the flow under test must not call. */
export function unexpected(what: string): () => Promise<never> {
  return async () => {
    throw new Error(`unexpected call: ${what}`);
  };
}

/** The instance kboot runs on: cluster prod, in eu-west-1, launched a minute before the test starts. */
export function fakeIdentity(role: Role): Identity {
  return {
    instance: {
      instanceId: SELF,
      region: 'eu-west-1',
      availabilityZone: 'eu-west-1a',
      privateIpv4: '10.0.1.10',
      accountId: '123456789012',
      instanceType: 't3.medium',
      imageId: 'ami-1',
      architecture: 'x86_64',
      launchedAtMs: START_MS - MINUTE,
    },
    clusterName: CLUSTER,
    role,
    tableFromTag: undefined,
    tagsSource: 'instance-metadata',
  };
}

/** A cluster with nothing lost: the cleanup of lost instances looks and finds nothing to remove. */
export function nothingLost(): FlowDeps['cleanup'] {
  return {
    registry: async () => [],
    instances: async () => ({ lookup: async () => ({ byId: new Map(), byDnsName: new Map() }) }),
    etcd: async () => ({
      list: async () => [],
      remove: unexpected('etcd remove'),
      probe: unexpected('probe'),
    }),
    nodes: async () => undefined,
    etcdEndpointsOverride: undefined,
  };
}

/** kubelet.conf without a membership file: the flow resets the node before it joins. */
export async function assertResetsPartialJoin<T extends object>(
  flow: Flow<T, FlowDeps, FlowResult>,
  w: BootWorld,
  outcome: FlowResult['outcome'],
): Promise<void> {
  await w.fs.writePrivateFile(KUBELET_CONF_PATH, 'kubelet.conf from a join that did not finish');
  const run = await w.run(flow);
  assert.equal(run.result.outcome, outcome);
  assert.ok(stepOutcomes(run).includes('reset-partial-join:done'));
  assert.deepEqual(w.commands(), ['version', 'reset', 'join']);
}

/** Each step's name and how it went (done, skipped, planned, ended, failed, stopped). */
export function stepOutcomes(run: Pick<FlowRun<unknown>, 'timings'>): string[] {
  return run.timings.map((timing) => `${timing.step}:${timing.outcome}`);
}

/** An initialized record whose join material versions were published by `world.storeMaterial`. */
export function initializedRecord(versions: ClusterRecord['joinMaterial'] = undefined): ClusterRecord {
  return {
    schemaVersion: 1,
    clusterName: CLUSTER,
    region: 'eu-west-1',
    apiEndpoint: 'api.prod.example.com',
    podCidr: '10.244.0.0/16',
    serviceCidr: '10.96.0.0/12',
    kubernetesVersion: '1.31.2',
    createdBy: 'i-first',
    createdAt: iso(START_MS - 24 * HOUR),
    secrets: {
      join: joinSecretId(CLUSTER),
      controlPlane: controlPlaneSecretId(CLUSTER),
      adminConf: adminConfSecretId(CLUSTER),
    },
    initialized: { by: 'i-first', at: iso(START_MS - 23 * HOUR), fence: 1 },
    ...(versions === undefined ? {} : { joinMaterial: versions }),
  };
}
