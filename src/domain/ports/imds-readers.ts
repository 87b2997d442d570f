/**
 * Typed reads of single metadata paths, over any `Imds` (the HTTP client or a fake). Each is one
 * GET (plus the token PUT when the client has no fresh token). Optional data (lifecycle state,
 * spot action) absent → undefined; data every instance has (local-hostname, mac) absent → error.
 */

import { AwsUnavailableError } from '../../core/errors.js';
import type { Imds } from './imds.js';

export const LIFECYCLE_STATE_PATH = 'autoscaling/target-lifecycle-state';
export const SPOT_ACTION_PATH = 'spot/instance-action';

/**
 * The state Auto Scaling is moving this instance to ("InService", "Terminated", "Warmed:Stopped",
 * ...), or undefined when the instance is not in an Auto Scaling group (IMDS answers 404).
 */
export async function lifecycleState(imds: Imds): Promise<string | undefined> {
  const text = await imds.get(LIFECYCLE_STATE_PATH);
  const state = text?.trim();
  return state === '' ? undefined : state;
}

export interface SpotInstanceAction {
  action: 'terminate' | 'stop' | 'hibernate';
  /** When EC2 will act, as IMDS gave it (ISO-8601 UTC). */
  time: string;
  timeMs: number;
}

const SPOT_ACTIONS = new Set(['terminate', 'stop', 'hibernate']);

/** The pending spot interruption, or undefined when none is scheduled (IMDS answers 404). */
export async function spotInstanceAction(imds: Imds): Promise<SpotInstanceAction | undefined> {
  const text = await imds.get(SPOT_ACTION_PATH);
  if (text === undefined) return undefined;
  let parsed: { action?: unknown; time?: unknown };
  try {
    parsed = JSON.parse(text) as { action?: unknown; time?: unknown };
  } catch (error) {
    throw malformedSpotAction('not JSON', error);
  }
  const { action, time } = parsed ?? {};
  if (typeof action !== 'string' || !SPOT_ACTIONS.has(action))
    throw malformedSpotAction(`action ${String(action)}`);
  const timeMs = typeof time === 'string' ? Date.parse(time) : Number.NaN;
  if (Number.isNaN(timeMs)) throw malformedSpotAction(`time ${String(time)}`);
  return { action: action as SpotInstanceAction['action'], time: time as string, timeMs };
}

/**
 * The instance's private DNS name (local-hostname, e.g. ip-10-0-1-10.ec2.internal): the node
 * name Kubernetes uses on AWS. With several DHCP domain names IMDS lists several names; the
 * first is the instance's own.
 */
export async function privateDnsName(imds: Imds): Promise<string> {
  const name = (await imds.get('local-hostname'))?.trim().split(/\s+/)[0];
  if (name === undefined || name === '') {
    throw new AwsUnavailableError('the instance metadata service has no local-hostname', {
      hint: 'check that AWS_EC2_METADATA_SERVICE_ENDPOINT (if set) points at an EC2 instance metadata service',
    });
  }
  return name;
}

/** The MAC address of the primary network interface (key of network/interfaces/macs/). */
export async function primaryMac(imds: Imds): Promise<string> {
  const mac = (await imds.get('mac'))?.trim();
  if (mac === undefined || mac === '') {
    throw new AwsUnavailableError('the instance metadata service has no mac', {
      hint: 'check that AWS_EC2_METADATA_SERVICE_ENDPOINT (if set) points at an EC2 instance metadata service',
    });
  }
  return mac;
}

function malformedSpotAction(what: string, cause?: unknown): AwsUnavailableError {
  return new AwsUnavailableError(
    `the instance metadata service served a malformed ${SPOT_ACTION_PATH}: ${what}`,
    {
      cause,
      hint: 'check that AWS_EC2_METADATA_SERVICE_ENDPOINT (if set) points at an EC2 instance metadata service',
    },
  );
}
