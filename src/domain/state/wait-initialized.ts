/**
 * Waiting for the first master to initialize the cluster: one consistent read per poll, so a
 * worker that finds the cluster initialized makes exactly one call. Copes with the record not
 * existing yet (the first master may still be writing it) and with transient AWS failures;
 * gives up at the deadline with a ClusterTimeoutError that says what to check.
 */

import type { Clock } from '../../core/clock.js';
import { formatDurationMs } from '../../core/duration.js';
import { AwsThrottledError, AwsUnavailableError, ClusterTimeoutError } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import type { ClusterRecord } from './cluster-record.js';
import type { ClusterRecordReader } from './cluster-store.js';
import { jitteredMs, progressTicker } from './polling.js';

export interface WaitForInitializedOptions {
  /** Instant (clock ms) after which to give up. */
  deadlineMs: number;
  /** Base delay between reads (jittered); default 3 s. */
  pollMs?: number;
  clock: Clock;
  logger: Logger;
  signal?: AbortSignal;
  random?: () => number;
}

export type InitializedClusterRecord = ClusterRecord & {
  initialized: NonNullable<ClusterRecord['initialized']>;
};

const DEFAULT_POLL_MS = 3000;

function isInitialized(record: ClusterRecord | undefined): record is InitializedClusterRecord {
  return record?.initialized !== undefined;
}

export async function waitForInitialized(
  reader: ClusterRecordReader,
  cluster: string,
  options: WaitForInitializedOptions,
): Promise<InitializedClusterRecord> {
  const { clock, logger, deadlineMs, signal } = options;
  const pollMs = options.pollMs ?? DEFAULT_POLL_MS;
  const startMs = clock.nowMs();
  const shouldLog = progressTicker();
  let record: ClusterRecord | undefined;
  let lastError: unknown;
  for (;;) {
    signal?.throwIfAborted();
    try {
      record = await reader.readRecord(cluster, signal);
      lastError = undefined;
    } catch (error) {
      if (!(error instanceof AwsUnavailableError || error instanceof AwsThrottledError)) throw error;
      lastError = error;
      logger.warn({ err: error, cluster }, 'could not read the cluster record; retrying');
    }
    if (isInitialized(record)) return record;
    const nowMs = clock.nowMs();
    const elapsedMs = nowMs - startMs;
    if (nowMs >= deadlineMs) throw timeoutError(reader.tableName, cluster, record, elapsedMs, lastError);
    if (shouldLog(nowMs)) {
      logger.info(
        { cluster, elapsedMs, recordExists: record !== undefined },
        `waiting for cluster ${cluster} to be initialized (${formatDurationMs(elapsedMs)} so far)`,
      );
    }
    await clock.sleepMs(
      Math.max(1, Math.min(jitteredMs(pollMs, options.random), deadlineMs - nowMs)),
      signal,
    );
  }
}

function timeoutError(
  table: string,
  cluster: string,
  record: ClusterRecord | undefined,
  elapsedMs: number,
  lastError: unknown,
): ClusterTimeoutError {
  const state =
    record === undefined
      ? `no cluster record in table ${table} yet`
      : record.lastFailure === undefined
        ? 'the record exists but is not initialized'
        : `last failure: ${record.lastFailure.step} on ${record.lastFailure.by} at ${record.lastFailure.at}: ${record.lastFailure.message}`;
  return new ClusterTimeoutError(
    `cluster ${cluster} was not initialized within ${formatDurationMs(elapsedMs)} (${state})`,
    {
      cause: lastError,
      hint: `check the first master's logs (journalctl -u kboot) and \`kboot status --cluster ${cluster}\``,
      details: { cluster, table, elapsedMs, recordExists: record !== undefined },
    },
  );
}
