/**
 * What the network and compute providers of `kboot cluster create` share: their settings (clients,
 * logger, clock, how long a delete may wait), tag conversions, the record they return, and a
 * bounded poll for deletes that take a while (an NLB going away, an ASG draining to zero).
 */

import type { AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import type { EC2Client } from '@aws-sdk/client-ec2';
import type { ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import type { IAMClient } from '@aws-sdk/client-iam';
import type { S3Client } from '@aws-sdk/client-s3';
import { type Clock, systemClock } from '../../../core/clock.js';
import { ClusterTimeoutError, StateConflictError } from '../../../core/errors.js';
import type { Logger } from '../../../core/logger.js';
import {
  type DesiredResource,
  RESOURCE_TAGS,
  type ResourceContext,
  type ResourceRecord,
} from '../../../domain/cluster/resource.js';
import { awsErrorName, rethrowAws } from '../errors.js';

/** The clients these providers use (AwsClients has them all). */
export interface ClusterClients {
  ec2(): Promise<EC2Client>;
  elbv2(): Promise<ElasticLoadBalancingV2Client>;
  autoScaling(): Promise<AutoScalingClient>;
  /** S3 in a bucket's own region (CreateBucket must go there). */
  s3In(region: string): Promise<S3Client>;
  iam(): Promise<IAMClient>;
}

export interface ProviderSettings {
  clients: ClusterClients;
  logger: Logger;
  clock?: Clock;
  /** How long a delete waits for AWS to finish (an ASG draining, an NLB going away). Default 20 min. */
  deleteTimeoutMs?: number;
  /** Between two looks while waiting. Default 5 s. */
  pollIntervalMs?: number;
}

export interface ResolvedSettings {
  clients: ClusterClients;
  logger: Logger;
  clock: Clock;
  deleteTimeoutMs: number;
  pollIntervalMs: number;
}

export function resolveSettings(settings: ProviderSettings): ResolvedSettings {
  return {
    clients: settings.clients,
    logger: settings.logger,
    clock: settings.clock ?? systemClock,
    deleteTimeoutMs: settings.deleteTimeoutMs ?? 20 * 60_000,
    pollIntervalMs: settings.pollIntervalMs ?? 5000,
  };
}

export interface AwsTag {
  Key: string;
  Value: string;
}

export function toAwsTags(tags: Readonly<Record<string, string>>): AwsTag[] {
  return Object.entries(tags).map(([Key, Value]) => ({ Key, Value }));
}

export function fromAwsTags(
  tags: readonly { Key?: string | undefined; Value?: string | undefined }[] | undefined,
): Record<string, string> {
  return Object.fromEntries((tags ?? []).map((tag) => [tag.Key ?? '', tag.Value ?? '']));
}

/** Whether these tags say kboot made the resource for this key of this cluster. */
export function madeByKboot(tags: Readonly<Record<string, string>>, cluster: string, key: string): boolean {
  return tags[RESOURCE_TAGS.cluster] === cluster && tags[RESOURCE_TAGS.resource] === key;
}

/**
 * A resource with kboot's deterministic name exists, but kboot's tags say it is not this one:
 * made by hand or by another tool. kboot neither adopts nor replaces it.
 */
function nameTaken(what: string, name: string, desired: DesiredResource<unknown>, cluster: string): Error {
  return new StateConflictError(
    `${what} ${name} exists but was not made by kboot for ${desired.key} of cluster "${cluster}" (its ${RESOURCE_TAGS.cluster} / ${RESOURCE_TAGS.resource} tags differ)`,
    {
      hint: `delete or rename the existing ${what}, or choose another cluster name; kboot does not take over resources it did not make`,
      details: { name, key: desired.key },
    },
  );
}

/**
 * Find by name, then refuse: throws `nameTaken` unless these tags say kboot made the resource for
 * `desired` in this cluster.
 */
export function refuseUnlessOurs(
  tags: Readonly<Record<string, string>>,
  what: string,
  name: string,
  desired: DesiredResource<unknown>,
  context: ResourceContext,
): void {
  if (!madeByKboot(tags, context.cluster, desired.key)) throw nameTaken(what, name, desired, context.cluster);
}

/** The found record, marked adopted (used, never deleted) unless these tags say kboot made it. */
export function ownOrAdopted(
  tags: Readonly<Record<string, string>>,
  found: ResourceRecord,
  desired: DesiredResource<unknown>,
  context: ResourceContext,
): ResourceRecord {
  return madeByKboot(tags, context.cluster, desired.key) ? found : { ...found, adopted: true };
}

/**
 * What `look` answers, or undefined when AWS says the resource is not there (its error name is one
 * of `notFound`): a resource never made, or already gone.
 */
export async function unlessNotFound<T>(
  notFound: ReadonlySet<string>,
  look: () => Promise<T>,
): Promise<T | undefined> {
  try {
    return await look();
  } catch (error) {
    if (notFound.has(awsErrorName(error) ?? '')) return undefined;
    throw error;
  }
}

/**
 * Sends `command` on any SDK client with the signal. An abort throws the signal's reason; an error
 * named in `notFound` is thrown as it came, for the caller to take as "not there"; any other
 * failure is classified (rethrowAws) with what kboot was doing and the permission it needs.
 */
export async function sendClassified<T>(
  client: { send: unknown },
  command: unknown,
  call: { signal: AbortSignal; doing: string; permission: string; notFound: ReadonlySet<string> },
): Promise<T> {
  try {
    return await (client.send as (c: unknown, o: unknown) => Promise<T>).call(client, command, {
      abortSignal: call.signal,
    });
  } catch (error) {
    if (call.signal.aborted) throw call.signal.reason;
    if (call.notFound.has(awsErrorName(error) ?? '')) throw error;
    rethrowAws(error, call.doing, call.permission);
  }
}

export function record(
  desired: DesiredResource<unknown>,
  id: string,
  outputs: Record<string, string>,
  clock: Clock,
  arn?: string,
): ResourceRecord {
  return {
    key: desired.key,
    kind: desired.kind,
    id,
    ...(arn === undefined ? {} : { arn }),
    dependsOn: [...desired.dependsOn],
    outputs,
    createdAt: new Date(clock.nowMs()).toISOString(),
  };
}

/** One output of a dependency, with an error naming both when it is missing. */
export function dependencyOutput(context: ResourceContext, key: string, names: readonly string[]): string {
  const outputs = context.outputsOf(key);
  for (const name of names) {
    const value = outputs[name];
    if (value !== undefined && value !== '') return value;
  }
  throw new StateConflictError(`the recorded outputs of ${key} have no ${names.join(' or ')}`, {
    hint: `run 'kboot cluster create' again so ${key} is looked up and recorded anew`,
    details: { key, outputs: Object.keys(outputs) },
  });
}

/**
 * Polls `done` until it says true, at most `timeoutMs`, logging progress (what it is waiting for)
 * at most once a minute besides the first look. Throws ClusterTimeoutError naming `what`.
 */
export async function waitUntil(
  settings: ResolvedSettings,
  what: string,
  done: () => Promise<{ done: boolean; progress: string }>,
  signal?: AbortSignal,
): Promise<void> {
  const { clock, logger, deleteTimeoutMs, pollIntervalMs } = settings;
  const startMs = clock.nowMs();
  let lastLogMs = Number.NEGATIVE_INFINITY;
  for (;;) {
    const look = await done();
    if (look.done) return;
    const nowMs = clock.nowMs();
    if (nowMs - lastLogMs >= 60_000) {
      logger.info({ waitedMs: nowMs - startMs }, `waiting for ${what}: ${look.progress}`);
      lastLogMs = nowMs;
    }
    if (nowMs - startMs >= deleteTimeoutMs) {
      throw new ClusterTimeoutError(
        `gave up waiting for ${what} after ${Math.round(deleteTimeoutMs / 1000)} s (${look.progress})`,
        { hint: "look at the resource in the AWS console, then run 'kboot cluster destroy' again" },
      );
    }
    await clock.sleepMs(pollIntervalMs, signal);
  }
}

/** Drift of one scalar field, or nothing when equal. */
export function differs(
  field: string,
  want: unknown,
  have: unknown,
): { field: string; want: string; have: string }[] {
  const w = JSON.stringify(want ?? null);
  const h = JSON.stringify(have ?? null);
  return w === h
    ? []
    : [{ field, want: typeof want === 'string' ? want : w, have: typeof have === 'string' ? have : h }];
}
