/**
 * The node config file (`/etc/kboot/config.yaml`, written by user-data or baked into the AMI):
 * optional, validated with a schema, rejected field by field. Unknown fields are errors (a typo
 * must not be silently ignored). Precedence is applied by the caller:
 * flags > environment > config file > tags > discovery > defaults.
 */

import { parseDocument } from 'yaml';
import { z } from 'zod';
import { parseDurationMs } from '../../core/duration.js';
import { ConfigError } from '../../core/errors.js';
import { AWS_REGION_PATTERN, IRSA_BUCKET_PATTERN } from '../irsa/issuer.js';

export const DEFAULT_CONFIG_PATH = '/etc/kboot/config.yaml';

const duration = z.string().refine(
  (text) => {
    try {
      parseDurationMs(text);
      return true;
    } catch {
      return false;
    }
  },
  { message: 'expected a duration like 90s, 10m or 1h' },
);

const cidr = z
  .string()
  .regex(/^\d{1,3}(\.\d{1,3}){3}\/\d{1,2}$/, { message: 'expected an IPv4 CIDR like 10.244.0.0/16' });

/**
 * IAM Roles for Service Accounts: the S3 bucket the first master publishes the OIDC documents to
 * (the cluster record has no bucket yet, so the node config names it). `false` (the placeholder of
 * earlier versions) means off, like leaving it out.
 */
const irsa = z.preprocess(
  (value) => (value === false ? undefined : value),
  z
    .strictObject(
      {
        bucket: z.string().regex(IRSA_BUCKET_PATTERN, {
          message: 'expected an S3 bucket name: 3-63 lowercase letters, digits and hyphens (no dots)',
        }),
        /** The bucket's region; default: the cluster's. */
        region: z
          .string()
          .regex(AWS_REGION_PATTERN, { message: 'expected an AWS region like eu-west-1' })
          .optional(),
        /** More API server audiences, after the issuer. */
        audiences: z
          .array(
            z.string().regex(/^[^,\s]+$/, { message: 'expected one audience, without commas or spaces' }),
          )
          .optional(),
      },
      {
        error: (issue) =>
          issue.code === 'invalid_type' ? 'expected { bucket, region?, audiences? } or false' : undefined,
      },
    )
    .optional(),
);

export const NodeConfigSchema = z.strictObject({
  /** DynamoDB table holding cluster state. */
  table: z
    .string()
    .regex(/^[a-zA-Z0-9_.-]{3,255}$/, { message: 'expected a DynamoDB table name' })
    .optional(),
  /** API endpoint (host or host:port); default: the DNS name of the cluster's load balancer. */
  apiEndpoint: z
    .string()
    .regex(/^[a-zA-Z0-9.-]+(:\d{1,5})?$/, { message: 'expected host or host:port' })
    .optional(),
  podCidr: cidr.optional(),
  serviceCidr: cidr.optional(),
  kubernetesVersion: z
    .string()
    .regex(/^v?\d+\.\d+\.\d+$/, { message: 'expected a version like 1.31.2' })
    .optional(),
  externalDns: z.string().optional(),
  certSANs: z.array(z.string().min(1)).optional(),
  timeouts: z
    .strictObject({
      /** How long a joiner waits for the cluster to be initialized. */
      waitForInit: duration.optional(),
      /** Bootstrap and control-plane-join lease length. */
      lease: duration.optional(),
      /** How long kubeadm init or join may take. */
      kubeadm: duration.optional(),
    })
    .optional(),
  kubeadm: z
    .strictObject({
      /** Directory of YAML documents merged over the rendered kubeadm config, by kind. */
      patchesDir: z.string().optional(),
    })
    .optional(),
  addons: z
    .strictObject({
      cni: z.enum(['cilium', 'none']).optional(),
      cloudController: z.boolean().optional(),
      irsa,
      manifestsDir: z.string().optional(),
    })
    .optional(),
});

export type NodeConfig = z.infer<typeof NodeConfigSchema>;

function fieldPath(path: readonly PropertyKey[]): string {
  return path.length === 0 ? '(top level)' : path.map(String).join('.');
}

/** Parses and validates config text; every problem is named by its field path. */
export function parseNodeConfig(text: string, source: string): NodeConfig {
  const document = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (document.errors.length > 0) {
    const first = document.errors[0];
    throw new ConfigError(`${source} is not valid YAML: ${first?.message.split('\n')[0]}`, {
      hint: 'fix the YAML syntax (kboot config check shows every problem)',
    });
  }
  const data: unknown = document.toJS() ?? {};
  const result = NodeConfigSchema.safeParse(data);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => {
    if (issue.code === 'unrecognized_keys') {
      return `unknown field ${issue.keys.map((key) => fieldPath([...issue.path, key])).join(', ')}`;
    }
    return `field ${fieldPath(issue.path)}: ${issue.message}`;
  });
  throw new ConfigError(`${source} is invalid: ${problems.join('; ')}`, {
    hint: 'correct the named fields (see README "Node config")',
    details: { problems },
  });
}
