/**
 * The one error family of kboot. Every failure a user can meet is a KbootError subclass whose
 * class fixes the process exit code; the message says what was wrong, `hint` says what to do.
 * Messages and hints never contain secrets: callers pass ids and names, never values.
 */

export const ExitCode = {
  ok: 0,
  internal: 1,
  usage: 2,
  awsUnavailable: 3,
  awsDenied: 4,
  awsThrottled: 5,
  clusterTimeout: 6,
  kubeadmFailed: 7,
  stateConflict: 8,
  incompatible: 9,
  kubectlFailed: 10,
  interrupted: 130,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

export interface KbootErrorOptions {
  /** What the user should do about it, one sentence. */
  hint?: string;
  cause?: unknown;
  /** Structured facts for the log line (ids, names, counts; never secret values). */
  details?: Record<string, unknown>;
}

export abstract class KbootError extends Error {
  abstract readonly exitCode: ExitCode;
  /** Short stable identifier of the class, printed in JSON error output. */
  abstract readonly code: string;
  readonly hint: string | undefined;
  readonly details: Record<string, unknown>;

  constructor(message: string, options: KbootErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.hint = options.hint;
    this.details = options.details ?? {};
  }
}

/** Bad flags, arguments, config file or tags: the user must change an input. */
export class UsageError extends KbootError {
  readonly exitCode = ExitCode.usage;
  readonly code = 'usage';
}

export class ConfigError extends KbootError {
  readonly exitCode = ExitCode.usage;
  readonly code = 'config';
}

/** AWS (or IMDS) could not be reached, or answered with a server error after retries. */
export class AwsUnavailableError extends KbootError {
  readonly exitCode = ExitCode.awsUnavailable;
  readonly code = 'aws-unavailable';
}

/** AWS refused: missing credentials, access denied, expired token. */
export class AwsDeniedError extends KbootError {
  readonly exitCode = ExitCode.awsDenied;
  readonly code = 'aws-denied';
}

/** AWS kept throttling after the SDK's retries. */
export class AwsThrottledError extends KbootError {
  readonly exitCode = ExitCode.awsThrottled;
  readonly code = 'aws-throttled';
}

/** Waited for the cluster (initialization, a lock, join material) past the deadline. */
export class ClusterTimeoutError extends KbootError {
  readonly exitCode = ExitCode.clusterTimeout;
  readonly code = 'cluster-timeout';
}

/** kubeadm (or another cluster tool it drives) exited non-zero. */
export class KubeadmError extends KbootError {
  readonly exitCode = ExitCode.kubeadmFailed;
  readonly code = 'kubeadm-failed';
}

/**
 * kubectl exited non-zero or timed out: an addon the API server rejected, a drain that did not
 * finish. Its own code, apart from kubeadm's 7, so an operator (and systemd) can tell "the node
 * could not be set up" from "the cluster refused a manifest or an eviction".
 */
export class KubectlError extends KbootError {
  readonly exitCode = ExitCode.kubectlFailed;
  readonly code = 'kubectl-failed';
}

/** The cluster's recorded state disagrees: a lost lease, a malformed or newer record, a lost race. */
export class StateConflictError extends KbootError {
  readonly exitCode = ExitCode.stateConflict;
  readonly code = 'state-conflict';
}

/** This machine cannot take part as it is: version skew, unsupported kubeadm. */
export class IncompatibleError extends KbootError {
  readonly exitCode = ExitCode.incompatible;
  readonly code = 'incompatible';
}

/** A bug or an unexpected failure; the message says what kboot was doing. */
export class InternalError extends KbootError {
  readonly exitCode = ExitCode.internal;
  readonly code = 'internal';
}

/** Interrupted by SIGINT/SIGTERM. */
export class InterruptedError extends KbootError {
  readonly exitCode = ExitCode.interrupted;
  readonly code = 'interrupted';
}

export function isKbootError(error: unknown): error is KbootError {
  return error instanceof KbootError;
}

/** Wraps anything thrown into a KbootError, keeping the original as `cause`. */
export function toKbootError(error: unknown, doing = 'running the command'): KbootError {
  if (isKbootError(error)) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new InternalError(`unexpected failure while ${doing}: ${message}`, {
    cause: error,
    hint: 'rerun with --log-level debug and report the output if it persists',
  });
}
