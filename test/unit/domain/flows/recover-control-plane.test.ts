/**
 * The recovery of a lost control plane as a flow over fake ports (fake-deps.ts, plus EC2's word,
 * the probes and the backup): each check that decides it, the restore (PKI back 0600, the newest
 * snapshot that verifies, kubeadm init over them, the fenced record of `restoredFrom`), and its
 * undo on a failure, a SIGTERM and a lost lease.
 */

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { ExitCode, InterruptedError, StateConflictError, UsageError } from '../../../../src/core/errors.js';
import { Secret } from '../../../../src/core/secrets.js';
import type { SnapshotRecord } from '../../../../src/domain/backup/snapshot-record.js';
import type { Ec2InstanceState, InstanceFact } from '../../../../src/domain/cleanup/ports.js';
import type { FlowResult } from '../../../../src/domain/flows/deps.js';
import { ETCD_DATA_DIR } from '../../../../src/domain/flows/recover/restore.js';
import type { RecoveryDeps, RestoredStamp } from '../../../../src/domain/flows/recover/state.js';
import { recoverControlPlaneFlow } from '../../../../src/domain/flows/recover-control-plane.js';
import { ENCRYPTION_CONFIG_PATH, encryptionKeyFromConfig } from '../../../../src/domain/kubeadm/hardening.js';
import { PKI_DIR, PKI_FILES, pkiBundle } from '../../../../src/domain/pki/bundle.js';
import type { ProbeResult } from '../../../../src/domain/recovery/decide.js';
import type { ClusterRecord } from '../../../../src/domain/state/cluster-record.js';
import type { MemberRecord } from '../../../../src/domain/state/member.js';
import { type FlowRun, FlowStopped, runFlow } from '../../../../src/domain/steps/runner.js';
import { captureLogger } from '../state/capture-logger.js';
import { sampleRecord } from '../state/records.js';
import {
  BootWorld,
  controlPlaneSecret,
  HOUR,
  iso,
  MINUTE,
  SELF,
  START_MS,
  stepOutcomes,
  testCaPem,
} from './fake-deps.js';

const NOTHING = { answers: false, conclusive: true, detail: 'ECONNREFUSED' } satisfies ProbeResult;
const ANSWERS = {
  answers: true,
  conclusive: true,
  detail: "a TLS handshake with a certificate of the cluster's CA",
};
const OLD = [
  { instanceId: 'i-old-1', privateIp: '10.0.1.11', nodeName: 'ip-10-0-1-11.eu-west-1.compute.internal' },
  { instanceId: 'i-old-2', privateIp: '10.0.1.12', nodeName: 'ip-10-0-1-12.eu-west-1.compute.internal' },
];
const API = 'https://api.prod.example.com:6443';
const OLD_ENCRYPTION_KEY = Buffer.alloc(32, 7).toString('base64');

interface Snap {
  record: SnapshotRecord;
  bytes: Buffer;
}

function snapshot(minutesAgo: number, revision: number, corrupt = false): Snap {
  const bytes = Buffer.from(`etcd snapshot at revision ${revision}`);
  const takenAt = iso(START_MS - minutesAgo * MINUTE);
  const record: SnapshotRecord = {
    schemaVersion: 1,
    bucket: 'backups',
    key: `prod/etcd/${takenAt}-rev${revision}.db`,
    sha256: createHash('sha256').update(bytes).digest('hex'),
    sizeBytes: bytes.length,
    revision,
    takenAt,
    takenBy: 'i-old-1',
    intervalMs: 15 * MINUTE,
    fence: 3,
  };
  return { record, bytes: corrupt ? Buffer.concat([bytes, Buffer.from('!')]) : bytes };
}

/** A cluster whose two masters EC2 says are gone, nothing answering, two snapshots kept. */
class LostWorld extends BootWorld {
  states = new Map<string, Ec2InstanceState>([
    ['i-old-1', 'terminated'],
    ['i-old-2', 'terminated'],
  ]);
  registered: MemberRecord[] = OLD.map((m) => ({
    ...m,
    role: 'control-plane' as const,
    joinedAt: iso(START_MS - 9 * HOUR),
  }));
  probes = new Map<string, ProbeResult>();
  snapshots: Snap[] = [snapshot(10, 120), snapshot(25, 100)];
  restored: { file: string; dir: string; name: string; peerUrl: string; bytes: string }[] = [];
  stamps: { previousFence: number; stamp: RestoredStamp }[] = [];
  written = new Map<string, string>();
  onRecordRead: ((reads: number) => void) | undefined;
  backupConfigured = true;
  /** A SIGTERM (or, `steal`, another instance taking the lease over) when this port is called under the lease. */
  stopOn: { port: string; steal?: true } | undefined;

  constructor() {
    super();
    this.config = { apiEndpoint: 'api.prod.example.com', backup: { bucket: 'backups' } };
    const files = Object.fromEntries(
      PKI_FILES.map((name) => [
        name,
        name.endsWith('.crt')
          ? testCaPem()
          : `-----BEGIN PRIVATE KEY-----\nold-${name}\n-----END PRIVATE KEY-----\n`,
      ]),
    );
    this.pkiSecrets.versions.set(
      'pki-v1',
      pkiBundle(files, { savedAt: iso(START_MS - 9 * HOUR), savedBy: 'i-old-1' }),
    );
    this.pkiSecrets.current = 'pki-v1';
    // The lost cluster's control-plane secret, with its encryption at rest key (cp-v1).
    this.storeMaterial({
      controlPlane: { ...controlPlaneSecret(START_MS + HOUR), encryptionKey: new Secret(OLD_ENCRYPTION_KEY) },
    });
    this.record = sampleRecord({
      apiEndpoint: 'api.prod.example.com',
      initialized: { by: 'i-old-1', at: iso(START_MS - 9 * HOUR), fence: 4 },
      joinMaterial: {
        updatedAt: iso(START_MS - HOUR),
        tokenExpiresAt: iso(START_MS + HOUR),
        versions: { pki: 'pki-v1', controlPlane: 'cp-v1' },
      },
    });
  }

  probe(url: string): ProbeResult {
    this.maybeStop('probe');
    return this.probes.get(url) ?? NOTHING;
  }

  maybeStop(port: string): void {
    if (this.stopOn?.port !== port || this.lock('bootstrap').record?.owner !== SELF) return;
    if (this.stopOn.steal === undefined) {
      this.interrupt.abort();
      return;
    }
    this.lock('bootstrap').record = {
      owner: 'i-other',
      expiresAtMs: this.clock.nowMs() + HOUR,
      fence: 99,
      rvn: 'taken-over',
      leaseMs: HOUR,
    };
  }

  recoveryDeps(dryRun = false): RecoveryDeps {
    const base = this.deps(dryRun);
    const fact = (instanceId: string, state: Ec2InstanceState): InstanceFact => ({
      instanceId,
      state,
      privateDnsName: undefined,
      privateIp: undefined,
      cluster: 'prod',
    });
    const store = base.joinMaterial;
    return {
      ...base,
      joinMaterial: async () => {
        const inner = await store();
        return {
          ...inner,
          publish: async (...args: Parameters<typeof inner.publish>) => {
            this.maybeStop('publish');
            return inner.publish(...args);
          },
        };
      },
      cleanup: {
        ...base.cleanup,
        registry: async () => this.registered,
        instances: async () => ({
          lookup: async ({ instanceIds }) => {
            this.events.push('ec2:describe-instances');
            const byId = new Map<string, InstanceFact>();
            for (const id of instanceIds) {
              const state = this.states.get(id);
              if (state !== undefined) byId.set(id, fact(id, state));
            }
            return { byId, byDnsName: new Map() };
          },
        }),
      },
      recovery: {
        probe: {
          probe: async (url, caPem) => {
            this.events.push(`probe:${url}`);
            assert.match(caPem, /BEGIN CERTIFICATE/, 'probed against a CA certificate');
            return this.probe(url);
          },
        },
        backup: async () =>
          this.backupConfigured
            ? {
                records: {
                  list: async () => this.snapshots.map((s) => s.record),
                  put: async () => assert.fail('recovery records no snapshot'),
                  remove: async () => assert.fail('recovery removes no snapshot'),
                },
                objects: {
                  bucket: 'backups',
                  upload: async () => assert.fail('recovery uploads nothing'),
                  remove: async () => assert.fail('recovery deletes nothing'),
                  download: async (key) => {
                    const found = this.snapshots.find((s) => s.record.key === key);
                    return found === undefined
                      ? undefined
                      : (async function* () {
                          yield found.bytes;
                        })();
                  },
                },
                local: {
                  nonEmpty: async (dir) => [...this.written.keys()].some((f) => f.startsWith(`${dir}/`)),
                  writeFile: async (file, chunks) => {
                    const parts: Uint8Array[] = [];
                    for await (const chunk of chunks) parts.push(chunk);
                    this.written.set(file, Buffer.concat(parts).toString());
                  },
                  remove: async (target) => {
                    this.events.push(`remove:${target}`);
                    for (const f of [...this.written.keys()])
                      if (f === target || f.startsWith(`${target}/`)) this.written.delete(f);
                  },
                  restore: async (file, dir, member) => {
                    this.events.push('restore');
                    this.maybeStop('restore');
                    this.restored.push({ file, dir, ...member, bytes: this.written.get(file) ?? '' });
                    this.written.set(`${dir}/member/snap/db`, this.written.get(file) ?? '');
                    return 'etcdutl';
                  },
                },
              }
            : undefined,
        markRestored: async (lease, previousFence, stamp) => {
          this.events.push('mark-restored');
          const held = this.lock('bootstrap').record;
          if (held?.owner !== lease.owner || held.fence !== lease.fence)
            throw new StateConflictError('the bootstrap lease is no longer held');
          assert.equal(this.record?.initialized?.fence, previousFence);
          this.stamps.push({ previousFence, stamp });
          this.record = { ...(this.record as ClusterRecord), ...stamp };
        },
      },
    };
  }

  runRecovery(dryRun = false): Promise<FlowRun<FlowResult>> {
    return this.clock.run(runFlow(recoverControlPlaneFlow, this.recoveryDeps(dryRun), this.settings(dryRun)));
  }

  async stoppedRecovery(): Promise<FlowStopped> {
    try {
      await this.runRecovery();
    } catch (error) {
      if (error instanceof FlowStopped) return error;
      throw error;
    }
    return assert.fail('the recovery finished; it should have stopped');
  }
}

const NOT_LOST_STEPS = (last: string) => [
  'identity:done',
  'leftover-configs:done',
  'membership:done',
  'cluster-record:done',
  last,
];

describe('kboot boot: the recovery of a lost control plane', () => {
  for (const state of ['pending', 'running', 'stopping', 'stopped', 'shutting-down'] as const) {
    it(`does not restore while EC2 says a member is ${state}: ends not-lost, probes nothing, takes no lease`, async () => {
      const w = new LostWorld();
      w.states.set('i-old-2', state);
      const run = await w.runRecovery();
      assert.equal(run.result.outcome, 'not-lost');
      assert.deepEqual(stepOutcomes(run), NOT_LOST_STEPS('members-gone:ended'));
      assert.deepEqual(w.events, ['ec2:describe-instances']);
      assert.equal(w.lock('bootstrap').calls.length, 0);
    });
  }

  it('takes a member EC2 does not know (absent) for gone, as a terminated one', async () => {
    const w = new LostWorld();
    w.states.delete('i-old-1');
    const run = await w.runRecovery();
    assert.equal(run.result.outcome, 'restored');
  });

  it('counts the instance the record says initialized the cluster, even without a member record', async () => {
    const w = new LostWorld();
    w.registered = w.registered.filter((m) => m.instanceId !== 'i-old-1');
    w.states.set('i-old-1', 'running');
    const run = await w.runRecovery();
    assert.equal(run.result.outcome, 'not-lost');
  });

  const waits: [string, (w: LostWorld) => void, RegExp][] = [
    [
      'a member’s etcd answers',
      (w) => w.probes.set('https://10.0.1.12:2379', ANSWERS),
      /etcd of i-old-2 .* answers/,
    ],
    [
      'the API endpoint answers',
      (w) => w.probes.set(API, ANSWERS),
      /the API endpoint https:\/\/api\.prod\.example\.com:6443 answers/,
    ],
    [
      'a probe is inconclusive',
      (w) =>
        w.probes.set('https://10.0.1.11:2379', { answers: false, conclusive: false, detail: 'EAI_AGAIN' }),
      /probe was inconclusive \(EAI_AGAIN\)/,
    ],
    [
      'a member has no address to probe',
      (w) => {
        w.registered = [
          {
            instanceId: 'i-old-1',
            role: 'control-plane',
            joinedAt: iso(START_MS),
            nodeName: 'i-0abc.eu-west-1.compute.internal',
          },
        ];
        w.record = {
          ...(w.record as NonNullable<typeof w.record>),
          initialized: { by: 'i-old-1', at: iso(START_MS), fence: 4 },
        };
      },
      /has no recorded address/,
    ],
  ];
  for (const [when, arrange, reason] of waits) {
    it(`waits, saying why, when ${when}: no lease, nothing written`, async () => {
      const w = new LostWorld();
      const { logger, lines } = captureLogger();
      w.logger = logger;
      arrange(w);
      const run = await w.runRecovery();
      assert.equal(run.result.outcome, 'not-lost');
      assert.deepEqual(stepOutcomes(run).slice(-3), [
        'members-gone:done',
        'read-pki:done',
        'probe-members:ended',
      ]);
      const warning = lines.find((line) => /^not restoring the cluster/.test(line.msg));
      assert.match(warning?.msg ?? '', reason);
      assert.equal(w.lock('bootstrap').calls.length, 0);
      assert.deepEqual(w.fs.paths(), []);
      assert.equal(w.stamps.length, 0);
    });
  }

  it('restores: PKI back 0600, the newest snapshot into a one-member etcd, kubeadm init over them, restoredFrom recorded under the lease', async () => {
    const w = new LostWorld();
    const { logger, lines } = captureLogger();
    w.logger = logger;
    const run = await w.runRecovery();

    assert.equal(run.result.outcome, 'restored', run.result.summary);
    const newest = w.snapshots[0]?.record as SnapshotRecord;
    assert.match(run.result.summary, /from prod\/etcd\/.*-rev120\.db \(revision 120\)/);
    assert.deepEqual(
      w.events.filter((e) => !e.startsWith('remove:')),
      [
        'ec2:describe-instances',
        'probe:https://10.0.1.11:2379',
        'probe:https://10.0.1.12:2379',
        `probe:${API}`,
        'kubeadm:version',
        'ec2:describe-instances',
        'probe:https://10.0.1.11:2379',
        'probe:https://10.0.1.12:2379',
        `probe:${API}`,
        'restore',
        'kubeadm:init',
        'kubectl:delete kubeadm:node-autoapprove-bootstrap',
        'publish',
        'mark-restored',
        'record-member',
      ],
    );
    // The PKI from the secret, every file 0600, before kubeadm init.
    for (const name of PKI_FILES) assert.equal(w.fs.files.get(`${PKI_DIR}/${name}`)?.mode, 0o600, name);
    // The newest snapshot, verified, restored as this node's one member; the download removed.
    assert.equal(w.restored.length, 1);
    assert.equal(w.restored[0]?.dir, w.fs.resolve(ETCD_DATA_DIR));
    assert.equal(w.restored[0]?.bytes, 'etcd snapshot at revision 120');
    assert.equal(w.restored[0]?.peerUrl, 'https://10.0.1.10:2380');
    assert.ok(![...w.written.keys()].some((f) => f.endsWith('.snapshot-download')), 'download removed');
    // kubeadm init over the restored data directory.
    const init = w.kubeadmCalls.find((call) => call.args[0] === 'init');
    assert.ok(init?.args.includes('--ignore-preflight-errors=DirAvailable--var-lib-etcd'));
    // One fenced write: the lost cluster's initialized replaced, restoredFrom recorded, the PKI version kept.
    assert.equal(w.stamps.length, 1);
    assert.equal(w.stamps[0]?.previousFence, 4);
    assert.deepEqual(w.record?.restoredFrom, {
      key: newest.key,
      revision: 120,
      takenAt: newest.takenAt,
      restoredAt: iso(w.clock.nowMs()),
      by: SELF,
    });
    assert.equal(w.record?.initialized?.by, SELF);
    assert.equal(w.record?.joinMaterial?.versions?.pki, 'pki-v1');
    assert.equal(w.record?.joinMaterial?.versions?.join, 'join-v2');
    // The restored Secrets were encrypted with the lost cluster's key: the new control plane keeps it.
    assert.equal(
      encryptionKeyFromConfig((await w.fs.readText(ENCRYPTION_CONFIG_PATH)) ?? '')?.reveal(),
      OLD_ENCRYPTION_KEY,
    );
    assert.equal(w.controlPlaneSecrets.versions.get('cp-v2')?.encryptionKey?.reveal(), OLD_ENCRYPTION_KEY);
    await w.assertMember('control-plane', 'init');
    assert.equal(w.lock('bootstrap').record?.owner, undefined, 'the lease is released');
    assert.ok(!JSON.stringify(lines).includes('PRIVATE KEY'), 'no key in the log');
  });

  it('falls back to the previous snapshot when the newest does not match its record', async () => {
    const w = new LostWorld();
    w.snapshots = [snapshot(10, 120, true), snapshot(25, 100)];
    const { logger, lines } = captureLogger();
    w.logger = logger;
    const run = await w.runRecovery();
    assert.equal(run.result.outcome, 'restored');
    assert.equal(w.restored[0]?.bytes, 'etcd snapshot at revision 100');
    assert.equal(w.record?.restoredFrom?.revision, 100);
    assert.ok(lines.some((line) => line.msg === 'snapshot refused; trying the previous one'));
  });

  it('restores nothing when no snapshot verifies: exit 2, the PKI removed, the lease released, the record unchanged', async () => {
    const w = new LostWorld();
    w.snapshots = [snapshot(10, 120, true), snapshot(25, 100, true)];
    const before = structuredClone(w.record);
    const stopped = await w.stoppedRecovery();
    assert.equal(stopped.failure.step, 'restore-snapshot');
    assert.ok(stopped.failure.error instanceof UsageError);
    assert.equal(stopped.failure.error.exitCode, ExitCode.usage);
    assert.match(stopped.failure.error.message, /no etcd snapshot of cluster prod matches its record/);
    assert.deepEqual(
      w.fs.paths().filter((p) => p.startsWith(PKI_DIR)),
      [],
    );
    assert.equal(w.lock('bootstrap').record?.owner, undefined);
    assert.equal(w.stamps.length, 0);
    assert.equal(w.record?.initialized?.fence, before?.initialized?.fence);
    assert.ok(!w.commands().includes('init'));
  });

  it('says clearly when no backup bucket is configured, before taking the lease', async () => {
    const w = new LostWorld();
    w.backupConfigured = false;
    const stopped = await w.stoppedRecovery();
    assert.equal(stopped.failure.step, 'backup');
    assert.match(stopped.failure.error.message, /no backup bucket is configured/);
    assert.equal(w.lock('bootstrap').calls.length, 0);
  });

  it('ends not-lost when another instance restored the cluster while this one waited for the lease', async () => {
    const w = new LostWorld();
    let reads = 0;
    w.onReadRecord = () => {
      reads += 1;
      if (reads === 2 && w.record !== undefined)
        w.record = { ...w.record, initialized: { by: 'i-other', at: iso(START_MS), fence: 5 } };
    };
    const run = await w.runRecovery();
    assert.equal(run.result.outcome, 'not-lost');
    assert.equal(stepOutcomes(run).at(-1), 'recheck-lost:ended');
    assert.deepEqual(w.fs.paths(), []);
    assert.equal(w.restored.length, 0);
  });

  it('checks again under the lease: a member that answers by then stops the restore', async () => {
    const w = new LostWorld();
    const lookups = { count: 0 };
    const deps = w.recoveryDeps();
    const probe = deps.recovery.probe.probe;
    deps.recovery.probe.probe = async (url, ca, timeoutMs, signal) => {
      if (url === API) lookups.count += 1;
      return lookups.count >= 2 && url === API ? ANSWERS : probe(url, ca, timeoutMs, signal);
    };
    const run = await w.clock.run(runFlow(recoverControlPlaneFlow, deps, w.settings(false)));
    assert.equal(run.result.outcome, 'not-lost');
    assert.equal(stepOutcomes(run).at(-1), 'recheck-lost:ended');
    assert.equal(w.restored.length, 0);
  });

  it('SIGTERM during kubeadm init: reset, the PKI and the restored data removed, the lease released (exit 130)', async () => {
    const w = new LostWorld();
    w.interruptDuring('init');
    const stopped = await w.stoppedRecovery();
    assert.equal(stopped.failure.cause, 'interrupted');
    assert.ok(stopped.failure.error instanceof InterruptedError);
    assert.deepEqual(w.commands(), ['version', 'init', 'reset']);
    assert.ok(
      w.events.includes(`remove:${w.fs.resolve(ETCD_DATA_DIR)}`),
      'the restored data directory removed',
    );
    assert.deepEqual(
      w.fs.paths().filter((p) => p.startsWith(PKI_DIR)),
      [],
    );
    assert.equal(w.lock('bootstrap').record?.owner, undefined);
    assert.equal(w.stamps.length, 0);
  });

  it('a lost lease during kubeadm init: reset, nothing published or recorded (exit 8)', async () => {
    const w = new LostWorld();
    w.loseLeaseDuring('init', 'bootstrap');
    const stopped = await w.stoppedRecovery();
    assert.equal(stopped.failure.cause, 'lease-lost');
    assert.equal(stopped.failure.error.exitCode, ExitCode.stateConflict);
    assert.ok(!w.events.includes('publish') && !w.events.includes('mark-restored'));
    assert.equal(w.lock('bootstrap').record?.owner, 'i-other');
  });

  it('--dry-run plans the restore and changes nothing (no lease, no file, no kubeadm init)', async () => {
    const w = new LostWorld();
    const run = await w.runRecovery(true);
    assert.equal(run.result.outcome, 'planned');
    assert.deepEqual(
      run.planned.map((step) => step.step),
      [
        'leftover-configs',
        'bootstrap-lease',
        'recheck-lost',
        'write-pki',
        'restore-snapshot',
        'write-init-config',
        'hardening-files',
        'kubeadm-init',
        'node-client-auto-approval-off',
        'ca-cert-hash',
        'membership-file',
        'publish-join-material',
        'member-record',
      ],
    );
    assert.deepEqual(w.fs.paths(), []);
    assert.equal(w.lock('bootstrap').calls.length, 0);
    assert.deepEqual(w.commands(), ['version']);
  });

  const stops: [string, string, true | undefined][] = [
    ['probe', 'recheck-lost', undefined],
    ['restore', 'restore-snapshot', undefined],
    ['publish', 'publish-join-material', undefined],
    ['restore', 'restore-snapshot', true],
    ['publish', 'publish-join-material', true],
  ];
  for (const [port, step, steal] of stops) {
    it(`${steal ? 'the lease taken over' : 'SIGTERM'} at ${step}: everything undone, the lease ${steal ? 'left to its new holder' : 'released'}, the record unchanged`, async () => {
      const w = new LostWorld();
      w.stopOn = { port, ...(steal ? { steal } : {}) };
      const stopped = await w.stoppedRecovery();
      if (steal) {
        // Noticed at the next renewal, or at the latest by the fenced write: nothing recorded.
        assert.ok(['lease-lost', 'failed'].includes(stopped.failure.cause), stopped.failure.cause);
        assert.equal(stopped.failure.error.exitCode, ExitCode.stateConflict);
        const names = recoverControlPlaneFlow.steps.map((candidate) => candidate.name);
        assert.ok(
          names.indexOf(stopped.failure.step) >= names.indexOf(step),
          `stopped at ${stopped.failure.step}`,
        );
      } else {
        assert.equal(stopped.failure.cause, 'interrupted');
        assert.ok(stopped.failure.error instanceof InterruptedError);
        // A port that does not watch the signal finishes; the runner stops before the next step.
        const names = recoverControlPlaneFlow.steps.map((candidate) => candidate.name);
        assert.ok(
          [step, names[names.indexOf(step) + 1]].includes(stopped.failure.step),
          `stopped at ${stopped.failure.step}`,
        );
      }
      assert.deepEqual(
        w.fs.paths().filter((p) => p.startsWith(PKI_DIR)),
        [],
        'the PKI removed',
      );
      assert.deepEqual([...w.written.keys()], [], 'no restored data or download left');
      assert.equal(w.lock('bootstrap').record?.owner, steal ? 'i-other' : undefined);
      assert.equal(w.record?.initialized?.fence, 4);
      assert.equal(w.record?.restoredFrom, undefined);
      assert.equal(w.stamps.length, 0);
    });
  }
});
