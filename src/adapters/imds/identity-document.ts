/**
 * The instance identity document (/latest/dynamic/instance-identity/document): one JSON object
 * carrying what would otherwise take five metadata GETs (instance id, region, AZ, private IP,
 * instance type, image, account). Pure: text in, fields out, or an error naming what is missing.
 */

import { AwsUnavailableError } from '../../core/errors.js';

export const IDENTITY_DOCUMENT_PATH = '/latest/dynamic/instance-identity/document';

export interface IdentityDocument {
  instanceId: string;
  region: string;
  availabilityZone: string;
  privateIp: string;
  accountId: string;
  instanceType: string;
  imageId: string;
  architecture: string;
  /** pendingTime: when the instance launched. Optional: absent or unparsable, it is left out. */
  launchedAtMs?: number;
}

const REQUIRED = [
  'instanceId',
  'region',
  'availabilityZone',
  'privateIp',
  'accountId',
  'instanceType',
  'imageId',
  'architecture',
] as const satisfies readonly (keyof IdentityDocument)[];

export function parseIdentityDocument(text: string, endpoint: string): IdentityDocument {
  const malformed = (what: string, cause?: unknown) =>
    new AwsUnavailableError(
      `the instance metadata service at ${endpoint} served a malformed identity document: ${what}`,
      {
        cause,
        hint: 'check that AWS_EC2_METADATA_SERVICE_ENDPOINT points at an EC2 instance metadata service',
      },
    );
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw malformed('not JSON', error);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed))
    throw malformed('not a JSON object');
  const fields = parsed as Record<string, unknown>;
  const missing = REQUIRED.filter((key) => typeof fields[key] !== 'string' || fields[key] === '');
  if (missing.length > 0) throw malformed(`missing ${missing.join(', ')}`);
  const out = {} as IdentityDocument;
  for (const key of REQUIRED) out[key] = fields[key] as string;
  const launchedAtMs = typeof fields.pendingTime === 'string' ? Date.parse(fields.pendingTime) : Number.NaN;
  if (Number.isFinite(launchedAtMs)) out.launchedAtMs = launchedAtMs;
  return out;
}
