/**
 * What the upgrade roll (roll-flow.ts) needs besides the cluster itself (ports.ts): the cluster's
 * Auto Scaling groups and their instances, the launch templates' new version, the member records
 * (who joined), the record's `upgrade` field written under the upgrade lease, and the lease. The
 * CLI edge builds the real ones (src/cli/upgrade/); unit tests pass fakes.
 */

import type { Clock } from '../../core/clock.js';
import type { LeaseLock, LeaseRef } from '../state/lease.js';
import type { MemberRecord } from '../state/member.js';
import type { ClusterInstance } from './plan.js';
import type { ClusterConfiguration, ClusterHealth, VersionedAddons } from './ports.js';
import type { UpgradeRecord } from './record.js';

/** An instance of one of the cluster's groups, as the roll sees it. */
export interface FleetInstance extends ClusterInstance {
  /** The Auto Scaling group's name. */
  groupName: string;
  /** Auto Scaling's lifecycle state: InService, Pending, Terminating:Wait, ... */
  lifecycleState: string;
  /** The EC2 private DNS name: the Node's name once it joined. */
  privateDns: string;
}

export interface Fleet {
  /** Every instance of the cluster's groups (terminating ones too, until Auto Scaling drops them). */
  instances(signal: AbortSignal): Promise<FleetInstance[]>;
  /** One more instance in the group (its maximum raised to fit): surge before removal. */
  surge(groupName: string, signal: AbortSignal): Promise<{ desired: number }>;
  /**
   * Terminates an instance through its group: the termination lifecycle hook holds it while
   * `kboot leave` drains it and removes it from etcd. With `decrement` the group does not replace
   * it (and its maximum comes back down to the desired size).
   */
  terminate(instanceId: string, decrement: boolean, signal: AbortSignal): Promise<void>;
}

/** The launch templates' new version with the target's AMI and version, which the groups launch from then on. */
export interface LaunchTemplates {
  /** What prepare would change, one line per group, for --dry-run. */
  describe(): string;
  /** Idempotent: nothing is made again when the groups already launch the target. */
  prepare(signal: AbortSignal): Promise<{ changed: string[] }>;
}

export interface UpgradeRecorder {
  /** Writes the record's `upgrade` only while `lease` (the upgrade lease) is still held. */
  write(upgrade: UpgradeRecord, lease: LeaseRef, signal: AbortSignal): Promise<void>;
  /** The last write: `upgrade` at phase done and the record's kubernetesVersion the target, one fenced write. */
  finish(upgrade: UpgradeRecord, lease: LeaseRef, signal: AbortSignal): Promise<void>;
  /**
   * Notes why the roll stopped (after the lease is released: conditional on the same roll's
   * startedAt, never fenced); a record whose upgrade is another's is left alone.
   */
  stopped(
    startedAt: string,
    stopped: NonNullable<UpgradeRecord['stopped']>,
    signal: AbortSignal,
  ): Promise<void>;
}

export interface Members {
  /** The cluster's member records (who joined, with which node name). */
  list(signal: AbortSignal): Promise<MemberRecord[]>;
}

export interface RollPorts {
  fleet: Fleet;
  templates: LaunchTemplates;
  members: Members;
  recorder: UpgradeRecorder;
  lock: LeaseLock;
  health: ClusterHealth;
  configuration: ClusterConfiguration;
  addons: VersionedAddons;
}

export interface RollSettings {
  cluster: string;
  /** Who holds the upgrade lease and is recorded as startedBy (the operator's host and user). */
  owner: string;
  leaseMs: number;
  pollMs: number;
  /** How long a new instance may take to be recorded as joined. */
  joinTimeoutMs: number;
  /** How long the health gate may take to pass after a replacement. */
  gateTimeoutMs: number;
  /** How long an old instance may take to leave its group (the lifecycle hook's `kboot leave`). */
  leaveTimeoutMs: number;
}

export interface RollDeps {
  ports: RollPorts;
  clock: Clock;
  settings: RollSettings;
}
