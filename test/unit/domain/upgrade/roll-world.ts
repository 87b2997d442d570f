/**
 * A fake world for the upgrade roll: Auto Scaling groups that launch at their template's image,
 * instances that join (are recorded as members) the first time the roll looks after their
 * launch, a health gate that can be told to fail, and a recorder that keeps the record's
 * `upgrade` — every call logged in order.
 */

import { systemClock } from '../../../../src/core/clock.js';
import { StateConflictError } from '../../../../src/core/errors.js';
import { parseClusterRecord } from '../../../../src/domain/state/cluster-record.js';
import type { MemberRecord } from '../../../../src/domain/state/member.js';
import { planUpgrade, type UpgradeTarget } from '../../../../src/domain/upgrade/plan.js';
import type { HealthExpectation } from '../../../../src/domain/upgrade/ports.js';
import type { UpgradeRecord } from '../../../../src/domain/upgrade/record.js';
import { beginRoll } from '../../../../src/domain/upgrade/roll-begin.js';
import type { RollInput } from '../../../../src/domain/upgrade/roll-flow.js';
import type { FleetInstance, RollDeps } from '../../../../src/domain/upgrade/roll-ports.js';
import { FakeLeaseLock } from '../state/fake-lease-lock.js';
import { sampleRecord } from '../state/records.js';

export const OLD_AMI = 'ami-0aaaaaaaaaaaaaaa1';
export const NEW_AMI = 'ami-0bbbbbbbbbbbbbbb1';

export class RollWorld {
  readonly log: string[] = [];
  instances: FleetInstance[] = [];
  members: MemberRecord[] = [];
  version = '1.31.2';
  upgrade: UpgradeRecord | undefined;
  /** The image each group launches (the launch template's default version). */
  groupImage = new Map<string, string>();
  /** Returns problems to fail the gate with; empty: healthy. */
  gateProblems: (expect: HealthExpectation) => string[] = () => [];
  /** Called after each recorder write. */
  afterWrite: (upgrade: UpgradeRecord) => void = () => {};
  /** Fewest control-plane instances in service seen after a removal. */
  minControlPlane = Number.POSITIVE_INFINITY;
  readonly lock = new FakeLeaseLock('prod', 'upgrade');
  #next = 0;
  #clockMs = Date.parse('2026-12-01T00:00:00.000Z');

  constructor(controlPlane: number, workers: number) {
    for (let i = 0; i < controlPlane; i += 1) this.launch('prod-control-plane', 'control-plane', OLD_AMI);
    for (let i = 0; i < workers; i += 1) this.launch('prod-workers-apps', 'worker', OLD_AMI);
    for (const instance of this.instances) this.join(instance);
    this.groupImage.set('prod-control-plane', OLD_AMI);
    this.groupImage.set('prod-workers-apps', OLD_AMI);
  }

  launch(groupName: string, role: 'control-plane' | 'worker', imageId: string): FleetInstance {
    this.#next += 1;
    this.#clockMs += 1000;
    const id = `i-0${String(this.#next).padStart(8, '0')}`;
    const instance: FleetInstance = {
      instanceId: id,
      role,
      ...(role === 'worker' ? { group: 'workers-apps' } : {}),
      arch: 'x86_64',
      imageId,
      launchedAt: new Date(this.#clockMs).toISOString(),
      groupName,
      lifecycleState: 'InService',
      privateDns: `ip-10-0-0-${this.#next}.ec2.internal`,
    };
    this.instances.push(instance);
    return instance;
  }

  join(instance: FleetInstance): void {
    this.members.push({
      instanceId: instance.instanceId,
      role: instance.role,
      joinedAt: new Date(this.#clockMs).toISOString(),
      nodeName: instance.privateDns,
    });
  }

  controlPlaneInService(): number {
    return this.instances.filter((i) => i.role === 'control-plane').length;
  }

  target(): UpgradeTarget {
    return { kubernetesVersion: '1.32.0', images: { x86_64: NEW_AMI } };
  }

  /** The plan from the world as it is now, and what the roll starts from. */
  input(): RollInput {
    const record = sampleRecord({
      kubernetesVersion: this.version,
      ...(this.upgrade === undefined ? {} : { upgrade: this.upgrade }),
    });
    parseClusterRecord(record, { cluster: 'prod', table: 'kboot' });
    const plan = planUpgrade({
      record,
      target: this.target(),
      instances: this.instances,
      nowMs: this.#clockMs,
    });
    if (!plan.ok) throw new Error(plan.refusals.map((r) => r.message).join('; '));
    return beginRoll({
      recorded: record.upgrade,
      from: plan.from,
      to: plan.to,
      steps: plan.steps,
      target: this.target(),
      instances: this.instances,
      nowMs: this.#clockMs,
      startedBy: 'operator@laptop',
    });
  }

  deps(): RollDeps {
    return {
      clock: systemClock,
      settings: {
        cluster: 'prod',
        owner: 'operator@laptop',
        leaseMs: 60_000,
        pollMs: 1,
        joinTimeoutMs: 2_000,
        gateTimeoutMs: 100,
        leaveTimeoutMs: 2_000,
      },
      ports: {
        lock: this.lock,
        fleet: {
          instances: async () => {
            // An instance launched since the last look has booted and joined by now.
            for (const instance of this.instances)
              if (!this.members.some((m) => m.instanceId === instance.instanceId)) this.join(instance);
            return this.instances.map((i) => ({ ...i }));
          },
          surge: async (groupName) => {
            const role = groupName.includes('control-plane') ? 'control-plane' : 'worker';
            const added = this.launch(groupName, role, this.groupImage.get(groupName) ?? OLD_AMI);
            this.log.push(`surge ${groupName} → ${added.instanceId}`);
            return { desired: this.instances.filter((i) => i.groupName === groupName).length };
          },
          terminate: async (instanceId, decrement) => {
            const gone = this.instances.find((i) => i.instanceId === instanceId);
            if (gone === undefined) throw new Error(`terminate of unknown ${instanceId}`);
            this.instances = this.instances.filter((i) => i.instanceId !== instanceId);
            this.members = this.members.filter((m) => m.instanceId !== instanceId);
            this.log.push(`terminate ${instanceId}${decrement ? ' (decrement)' : ''}`);
            if (gone.role === 'control-plane')
              this.minControlPlane = Math.min(this.minControlPlane, this.controlPlaneInService());
            if (!decrement)
              this.launch(gone.groupName, gone.role, this.groupImage.get(gone.groupName) ?? OLD_AMI);
          },
        },
        templates: {
          describe: () => 'make new launch template versions at the target',
          prepare: async () => {
            for (const group of this.groupImage.keys()) this.groupImage.set(group, NEW_AMI);
            this.log.push('launch-templates');
            return { changed: [...this.groupImage.keys()] };
          },
        },
        members: { list: async () => this.members.map((m) => ({ ...m })) },
        recorder: {
          write: async (upgrade, lease) => {
            const held = this.lock.record;
            if (held?.owner !== lease.owner || held.fence !== lease.fence)
              throw new StateConflictError(`not recording: the upgrade lease is held by ${held?.owner}`);
            this.upgrade = structuredClone(upgrade);
            this.afterWrite(upgrade);
          },
          finish: async (upgrade) => {
            this.upgrade = structuredClone(upgrade);
            this.version = upgrade.to.kubernetesVersion;
            this.log.push('finish');
          },
          stopped: async (startedAt, stopped) => {
            if (this.upgrade?.startedAt === startedAt) this.upgrade = { ...this.upgrade, stopped };
          },
        },
        health: {
          check: async (expect) => {
            const problems = this.gateProblems(expect);
            this.log.push(
              `gate cp=${expect.controlPlaneNodes.length} ready=${expect.readyNodes.join(',')}${problems.length > 0 ? ' FAILED' : ''}`,
            );
            return { healthy: problems.length === 0, problems };
          },
        },
        configuration: {
          kubernetesVersion: async () => this.version,
          setKubernetesVersion: async (version) => {
            this.log.push(`cluster-configuration ${version}`);
            return { changed: true };
          },
        },
        addons: {
          upgrade: async (version) => {
            this.log.push(`addons ${version}`);
            return { changed: ['kube-proxy', 'coredns'] };
          },
        },
      },
    };
  }
}
