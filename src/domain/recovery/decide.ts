/**
 * Whether a control-plane instance may restore a cluster that lost its whole control plane
 * (docs/backup.md "Automatic recovery"). Pure: facts in, a verdict out. It restores only when
 * every one of these holds, and otherwise waits, naming each check that failed:
 *   1. the cluster is initialized, and at least one control-plane member is recorded (the member
 *      records, and the instance the record says initialized it);
 *   2. EC2 says every recorded member is `terminated`, or does not know it (absent): any other
 *      state (pending, running, stopping, stopped, shutting-down) may still hold a live etcd;
 *   3. every recorded member has an address to probe, and none of their etcd client URLs
 *      (`https://<ip>:2379`) completes a TLS handshake with a server certificate signed by the
 *      cluster's etcd CA (from the PKI secret) within the probe timeout;
 *   4. the API endpoint (through its load balancer) completes no TLS handshake with a certificate
 *      of the cluster CA either.
 * "Nothing there" is: connection refused, host or network unreachable, no such DNS name, timed
 * out, or a server whose certificate the cluster's CA did not sign (an address EC2 gave to another
 * instance, a proxy). Any other failure is inconclusive: in doubt, wait. The probes run only once
 * EC2 says every member is gone (the cheap check, and the common case is that one is not).
 */

import type { Ec2InstanceState, InstanceLookup } from '../cleanup/ports.js';

/** A recorded control-plane member, as the registry (or the record's `initialized.by`) has it. */
export interface RecordedMaster {
  instanceId: string;
  nodeName: string | undefined;
  privateIp: string | undefined;
}

export interface ProbeResult {
  /** A TLS handshake completed: something serves there. */
  answers: boolean;
  /** What happened: "connection refused", "timed out after 2 s", "TLS handshake completed". */
  detail: string;
  /** False when the probe failed in a way that does not show nothing is there (a DNS server failure). */
  conclusive: boolean;
}

export interface LivenessFacts {
  initialized: boolean;
  masters: readonly RecordedMaster[];
  instances: InstanceLookup;
  /** By etcd client URL; a master without an address has none. */
  etcd: ReadonlyMap<string, ProbeResult>;
  api: { endpoint: string; result: ProbeResult };
}

export type Verdict =
  | { restore: true; checks: string[] }
  | { restore: false; reasons: string[]; checks: string[] };

const GONE: readonly (Ec2InstanceState | 'absent')[] = ['terminated', 'absent'];

/** etcd's client port on a member, as kubeadm's stacked etcd serves it. */
export const ETCD_CLIENT_PORT = 2379;

/** The address a recorded master's etcd served on: its recorded IP, else the one EC2's `ip-a-b-c-d` node name spells. */
export function masterAddress(master: RecordedMaster): string | undefined {
  if (master.privateIp !== undefined) return master.privateIp;
  const match = /^ip-(\d{1,3})-(\d{1,3})-(\d{1,3})-(\d{1,3})(\.|$)/.exec(master.nodeName ?? '');
  return match === null ? undefined : `${match[1]}.${match[2]}.${match[3]}.${match[4]}`;
}

export function etcdClientUrl(address: string): string {
  return `https://${address.includes(':') ? `[${address}]` : address}:${ETCD_CLIENT_PORT}`;
}

/** EC2's state of a recorded master, or `absent`. */
export function ec2State(instances: InstanceLookup, instanceId: string): Ec2InstanceState | 'absent' {
  return instances.byId.get(instanceId)?.state ?? 'absent';
}

/** Whether EC2 says every master is gone: the cheap first check, made before any probe. */
export function everyMasterGone(masters: readonly RecordedMaster[], instances: InstanceLookup): boolean {
  return masters.length > 0 && masters.every((m) => GONE.includes(ec2State(instances, m.instanceId)));
}

function masterName(master: RecordedMaster): string {
  return `${master.instanceId}${master.nodeName === undefined ? '' : ` (${master.nodeName})`}`;
}

export function decideRecovery(facts: LivenessFacts): Verdict {
  const reasons: string[] = [];
  const checks: string[] = [];
  if (!facts.initialized) reasons.push('the cluster is not initialized: there is nothing to restore');
  if (facts.masters.length === 0)
    reasons.push('no control-plane member is recorded: kboot cannot tell that they are all gone');
  for (const master of facts.masters) {
    const state = ec2State(facts.instances, master.instanceId);
    if (GONE.includes(state)) checks.push(`EC2: ${masterName(master)} is ${state}`);
    else
      reasons.push(`EC2 says control-plane member ${masterName(master)} is ${state}: it may still run etcd`);
  }
  if (reasons.length > 0) return { restore: false, reasons, checks };
  for (const master of facts.masters) {
    const name = masterName(master);
    const address = masterAddress(master);
    if (address === undefined) {
      reasons.push(`control-plane member ${name} has no recorded address: its etcd cannot be probed`);
      continue;
    }
    const url = etcdClientUrl(address);
    const probe = facts.etcd.get(url);
    if (probe === undefined) reasons.push(`etcd of ${name} at ${url} was not probed`);
    else if (probe.answers) reasons.push(`etcd of ${name} at ${url} answers (${probe.detail})`);
    else if (!probe.conclusive)
      reasons.push(`etcd of ${name} at ${url}: the probe was inconclusive (${probe.detail})`);
    else checks.push(`etcd of ${name} at ${url}: ${probe.detail}`);
  }
  const { endpoint, result } = facts.api;
  if (result.answers) reasons.push(`the API endpoint ${endpoint} answers (${result.detail})`);
  else if (!result.conclusive)
    reasons.push(`the API endpoint ${endpoint}: the probe was inconclusive (${result.detail})`);
  else checks.push(`API endpoint ${endpoint}: ${result.detail}`);
  return reasons.length === 0 ? { restore: true, checks } : { restore: false, reasons, checks };
}
