/**
 * Maps what the AWS SDK throws onto kboot's error family, so every AWS failure exits with the
 * code of its class (unavailable, denied, throttled) and a hint. Errors the domain handles itself
 * (a conditional check that failed, a missing item) are returned unchanged.
 */

import {
  AwsDeniedError,
  AwsThrottledError,
  AwsUnavailableError,
  isKbootError,
  type KbootError,
  UsageError,
} from '../../core/errors.js';

const DENIED = new Set([
  'AccessDenied',
  'AccessDeniedException',
  'UnauthorizedOperation',
  'UnrecognizedClientException',
  'InvalidClientTokenId',
  'ExpiredToken',
  'ExpiredTokenException',
  'InvalidSignatureException',
  'SignatureDoesNotMatch',
  'CredentialsProviderError',
  'AuthFailure',
  'MissingAuthenticationToken',
]);

const THROTTLED = new Set([
  'ThrottlingException',
  'Throttling',
  'RequestLimitExceeded',
  'TooManyRequestsException',
  'ProvisionedThroughputExceededException',
  'RequestThrottled',
  'SlowDown',
]);

const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EPIPE',
]);

interface SdkErrorShape {
  name?: string;
  code?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number };
  $fault?: 'client' | 'server';
}

/** What AWS calls this failure (the exception name), for messages and tests. */
export function awsErrorName(error: unknown): string | undefined {
  return (error as SdkErrorShape | undefined)?.name;
}

/**
 * Classifies an SDK failure. `doing` says what kboot was doing ("reading the cluster record from
 * DynamoDB table kboot"); `permission` names the IAM action needed, for the denied hint.
 */
export function classifyAwsError(error: unknown, doing: string, permission?: string): KbootError | undefined {
  if (isKbootError(error)) return error;
  const shape = (error ?? {}) as SdkErrorShape;
  if (/region is missing/i.test(shape.message ?? '')) {
    return new UsageError(`no AWS region is set for ${doing}`, {
      cause: error,
      hint: 'pass --region, set AWS_REGION, or set a region in your AWS profile',
    });
  }
  const name = shape.name ?? '';
  const status = shape.$metadata?.httpStatusCode;
  const detail = shape.message ? `: ${name}: ${shape.message}` : name ? `: ${name}` : '';
  if (DENIED.has(name) || status === 403 || name.includes('Credential')) {
    return new AwsDeniedError(`AWS refused ${doing}${detail}`, {
      cause: error,
      hint:
        permission === undefined
          ? 'check the credentials in use (aws sts get-caller-identity) and their IAM policy'
          : `grant ${permission} to the instance role or the credentials in use (see 'kboot iam-policy')`,
    });
  }
  if (THROTTLED.has(name) || status === 429) {
    return new AwsThrottledError(`AWS kept throttling ${doing} after retries${detail}`, {
      cause: error,
      hint: 'retry later, or lower the number of instances booting at once',
    });
  }
  if (
    NETWORK_CODES.has(shape.code ?? '') ||
    NETWORK_CODES.has(name) ||
    name === 'TimeoutError' ||
    name === 'RequestTimeout' ||
    name === 'AbortError' ||
    shape.$fault === 'server' ||
    (status !== undefined && status >= 500)
  ) {
    return new AwsUnavailableError(`AWS was unavailable while ${doing}${detail}`, {
      cause: error,
      hint: 'check network access to the AWS endpoints (VPC endpoints, NAT, proxy) and AWS_ENDPOINT_URL',
    });
  }
  return undefined;
}

/** Classifies and throws; rethrows the original error when it is not an availability/auth failure. */
export function rethrowAws(error: unknown, doing: string, permission?: string): never {
  throw classifyAwsError(error, doing, permission) ?? error;
}
