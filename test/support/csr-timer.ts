/**
 * The simulated cluster's kboot-approve-csrs.timer: the AMI runs `kboot approve-csrs` every 30 s
 * on each control-plane member that finished joining (the unit's conditions: a kube-apiserver
 * manifest and kboot's membership file). Here it runs on the first such member, every
 * `periodMs`, and only when a certificate request is pending in the simulated API server (a new
 * request at once, one still pending at most every `retryMs`), so an idle cluster costs no
 * process. Without it, no join of a cluster kboot initialized would complete: kboot removes
 * kubeadm's auto-approval at init.
 */

import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { RunResult } from './cli.js';

const CSR_DIR = ['objects', 'certificates.k8s.io', 'CertificateSigningRequest', '_cluster'];

export interface CsrTimerRun {
  instance: string;
  startedAtMs: number;
  endedAtMs: number;
  exitCode: number | null;
  approved: { kind: string; name: string; nodeName: string }[];
  refused: { kind: string; name: string; reason: string }[];
}

export interface CsrTimerHost {
  clusterDir: string;
  instances: readonly { name: string; role: string; root: string }[];
  runOn(instanceName: string, args: readonly string[]): Promise<RunResult>;
}

interface PendingCsr {
  name: string;
  createdAtMs: number;
}

/** Pending requests of every API server the simulated cluster had. */
export function pendingCsrs(clusterDir: string): PendingCsr[] {
  const apiDir = path.join(clusterDir, 'api');
  if (!existsSync(apiDir)) return [];
  const out: PendingCsr[] = [];
  for (const id of readdirSync(apiDir)) {
    const dir = path.join(apiDir, id, ...CSR_DIR);
    if (!existsSync(dir)) continue;
    for (const file of readdirSync(dir)) {
      if (!file.endsWith('.json')) continue;
      try {
        const { object } = JSON.parse(readFileSync(path.join(dir, file), 'utf8')) as {
          object: {
            metadata: { name: string; creationTimestamp: string };
            status?: { conditions?: unknown[] };
          };
        };
        if ((object.status?.conditions ?? []).length > 0) continue;
        out.push({ name: object.metadata.name, createdAtMs: Date.parse(object.metadata.creationTimestamp) });
      } catch {
        // being written (temp file + rename): the next tick reads it
      }
    }
  }
  return out;
}

export class CsrTimer {
  readonly runs: CsrTimerRun[] = [];
  readonly #host: CsrTimerHost;
  readonly #periodMs: number;
  readonly #retryMs: number;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  #seen = new Set<string>();
  #lastRunMs = 0;
  #stopped = false;

  constructor(host: CsrTimerHost, options: { periodMs?: number; retryMs?: number } = {}) {
    this.#host = host;
    this.#periodMs = options.periodMs ?? 250;
    this.#retryMs = options.retryMs ?? 2000;
  }

  start(): void {
    if (this.#timer !== undefined || this.#stopped) return;
    const tick = () => {
      if (this.#stopped) return;
      if (this.#running === undefined) {
        this.#running = this.#tick().finally(() => {
          this.#running = undefined;
        });
      }
      this.#timer = setTimeout(tick, this.#periodMs);
      this.#timer.unref();
    };
    tick();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    await this.#running;
  }

  /** The member the timer runs on: the first control-plane instance that finished joining. */
  #member() {
    return this.#host.instances.find(
      (instance) =>
        instance.role === 'control-plane' &&
        existsSync(path.join(instance.root, 'etc/kubernetes/manifests/kube-apiserver.yaml')) &&
        existsSync(path.join(instance.root, 'var/lib/kboot/membership.json')),
    );
  }

  async #tick(): Promise<void> {
    const pending = pendingCsrs(this.#host.clusterDir);
    if (pending.length === 0) return;
    const fresh = pending.some((csr) => !this.#seen.has(csr.name));
    if (!fresh && Date.now() - this.#lastRunMs < this.#retryMs) return;
    const member = this.#member();
    if (member === undefined) return;
    for (const csr of pending) this.#seen.add(csr.name);
    this.#lastRunMs = Date.now();
    const startedAtMs = Date.now();
    const result = await this.#host.runOn(member.name, ['approve-csrs', '--output', 'json']);
    let report: Pick<CsrTimerRun, 'approved' | 'refused'> = { approved: [], refused: [] };
    try {
      report = JSON.parse(result.stdout) as typeof report;
    } catch {
      // a failed run prints no report; its exit code says so
    }
    this.runs.push({
      instance: member.name,
      startedAtMs,
      endedAtMs: Date.now(),
      exitCode: result.exitCode,
      approved: report.approved ?? [],
      refused: report.refused ?? [],
    });
  }
}
