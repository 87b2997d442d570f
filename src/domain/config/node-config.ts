/**
 * The node config file (`/etc/kboot/config.yaml`, written by user-data or baked into the AMI):
 * optional, validated with a schema, rejected field by field. Unknown fields are errors (a typo
 * must not be silently ignored). Precedence is applied by the caller:
 * flags > environment > config file > tags > discovery > defaults.
 */

import { parseDocument } from 'yaml';
import { z } from 'zod';
import { describeBounds, parseDurationMs } from '../../core/duration.js';
import { ConfigError } from '../../core/errors.js';
import { AWS_REGION_PATTERN, IRSA_BUCKET_PATTERN } from '../irsa/issuer.js';
import { RECORD_FIELD_SCHEMAS } from '../state/cluster-record.js';
import { boundsOf, DEFAULT_DURATION_LIMITS, type DurationField, type DurationLimits } from './durations.js';
import { yamlData } from './yaml.js';

export { DEFAULT_CONFIG_PATH } from './defaults.js';

/** A duration field: the syntax, then the field's bounds (config/durations.ts), named in the message. */
function duration(field: DurationField, limits: DurationLimits) {
  const bounds = boundsOf(field, limits);
  return z.string().superRefine((text, context) => {
    try {
      parseDurationMs(text, field, { minMs: 0, maxMs: Number.POSITIVE_INFINITY });
    } catch {
      context.addIssue({ code: 'custom', message: 'expected a duration like 90s, 10m or 1h' });
      return;
    }
    try {
      parseDurationMs(text, field, bounds);
    } catch {
      context.addIssue({
        code: 'custom',
        message: `expected a duration ${describeBounds(bounds)}, got ${text}`,
      });
    }
  });
}

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

/** A container image reference: registry/repository[:tag][@sha256:digest]. */
const image = z
  .string()
  .regex(/^[a-z0-9][a-z0-9.-]*(:\d+)?(\/[a-z0-9._-]+)+(:[\w.-]+)?(@sha256:[a-f0-9]{64})?$/, {
    message: 'expected an image reference like registry.example.com/cilium/cilium:v1.20.2',
  });

/**
 * Post-init addons the first master applies (README "Addons"). `kboot cluster create` reuses this
 * schema in its cluster spec. cni and cloudController bind the whole cluster (they are written to
 * the cluster record); manifestsDir and images are read on the master that applies them.
 */
export const AddonsSchema = z.strictObject({
  /** The pod network: Cilium rendered for the pod CIDR, or none (bring your own, e.g. in addons.d). */
  cni: z.enum(['cilium', 'none']).optional(),
  /** The AWS cloud-controller-manager; kubelets then run with cloud-provider: external. */
  cloudController: z.boolean().optional(),
  irsa,
  /** Extra manifests applied after the others, in name order (default /etc/kboot/addons.d). */
  manifestsDir: z
    .string()
    .regex(/^\//, { message: 'expected an absolute path like /etc/kboot/addons.d' })
    .optional(),
  /** Image overrides (a registry mirror, a newer patch release). */
  images: z
    .strictObject({
      cilium: image.optional(),
      ciliumOperator: image.optional(),
      cloudController: image.optional(),
    })
    .optional(),
});

export type AddonsConfig = z.infer<typeof AddonsSchema>;

const count = (max: number) =>
  z
    .number()
    .int()
    .min(1, { message: 'expected at least 1' })
    .max(max, { message: `expected at most ${max}` });

/**
 * A hardened control plane (docs/security.md "CIS Kubernetes Benchmark"): everything is on by
 * default; each setting can be turned off. Read by the first master at init (it writes the
 * ClusterConfiguration and the kubelets' configuration) and by every joining master (it writes
 * the files the API server reads): give every master the same settings. `kboot cluster create`
 * reuses this schema in its cluster spec.
 */
export const HardeningSchema = z.strictObject({
  /** Profiling endpoints of the API server, controller-manager and scheduler (default false). */
  profiling: z
    .boolean()
    .optional()
    .describe('profiling of the API server, controller-manager and scheduler (default false)'),
  /** The lowest TLS version the API server and kubelets accept (default VersionTLS12). */
  tlsMinVersion: z
    .enum(['VersionTLS12', 'VersionTLS13'])
    .optional()
    .describe('the lowest TLS version the API server and kubelets accept (default VersionTLS12)'),
  /** health-only (default): anonymous requests reach /livez, /readyz and /healthz only (Kubernetes 1.32+). */
  anonymousAuth: z
    .enum(['health-only', 'kubeadm-default'])
    .optional()
    .describe(
      'health-only (default): anonymous requests reach /livez, /readyz and /healthz only (Kubernetes 1.32+)',
    ),
  /** The API server's audit log (default on, rotated); false turns it off. */
  audit: z
    .union([
      z.literal(false),
      z.strictObject({
        maxAgeDays: count(3650).optional().describe('audit-log-maxage, days (default 30)'),
        maxBackups: count(1000).optional().describe('audit-log-maxbackup (default 10)'),
        maxSizeMb: count(100_000).optional().describe('audit-log-maxsize, MB (default 100)'),
      }),
    ])
    .optional()
    .describe('the API server audit policy and rotated log (default on); false turns it off'),
  /**
   * Encryption at rest of Secrets (default on, secretbox with a key made at init); provider kms
   * uses a KMS v2 plugin the user runs on every master; false turns it off.
   */
  encryptionAtRest: z
    .union([
      z.literal(false),
      z.strictObject({
        provider: z
          .enum(['secretbox', 'kms'])
          .optional()
          .describe('secretbox (default; key made at init) or kms (a KMS v2 plugin you run on every master)'),
        kms: z
          .strictObject({
            /** The plugin's socket, e.g. unix:///var/run/kmsplugin/socket.sock. */
            endpoint: z
              .string()
              .regex(/^unix:\/\/\/[A-Za-z0-9._/-]+\.sock$/, {
                message: 'expected a unix socket like unix:///var/run/kmsplugin/socket.sock',
              })
              .describe("the KMS v2 plugin's socket"),
            name: z
              .string()
              .regex(/^[a-z0-9][a-z0-9-]{0,62}$/, {
                message: 'expected lowercase letters, digits and hyphens',
              })
              .optional()
              .describe('the provider name (default aws-encryption-provider)'),
          })
          .optional()
          .describe('with provider kms: the plugin'),
      }),
    ])
    .optional()
    .describe('encryption at rest of Secrets (default on, secretbox); false turns it off'),
  /**
   * kubelet serving certificates signed by the cluster CA (serverTLSBootstrap, default true),
   * approved by kboot approve-csrs on the masters for this cluster's instances only.
   */
  kubeletServingCertificates: z
    .boolean()
    .optional()
    .describe('kubelet serverTLSBootstrap, approved by kboot approve-csrs (default true)'),
});

export type HardeningConfigInput = z.infer<typeof HardeningSchema>;

/** The node config schema; `limits` lowers the lease minimum for tests (config/durations.ts). */
export function nodeConfigSchema(limits: DurationLimits = DEFAULT_DURATION_LIMITS) {
  return z.strictObject({
    /** DynamoDB table holding cluster state. */
    table: z
      .string()
      .regex(/^[a-zA-Z0-9_.-]{3,255}$/, { message: 'expected a DynamoDB table name' })
      .optional(),
    /** API endpoint (host or host:port); default: the DNS name of the cluster's load balancer. */
    // Each field also passes the cluster record's own check (the first master writes it there).
    apiEndpoint: z
      .string()
      .regex(/^[a-zA-Z0-9.-]+(:\d{1,5})?$/, { message: 'expected host or host:port' })
      .pipe(RECORD_FIELD_SCHEMAS.apiEndpoint)
      .optional(),
    podCidr: cidr.pipe(RECORD_FIELD_SCHEMAS.podCidr).optional(),
    serviceCidr: cidr.pipe(RECORD_FIELD_SCHEMAS.serviceCidr).optional(),
    kubernetesVersion: z
      .string()
      .regex(/^v?\d+\.\d+\.\d+$/, { message: 'expected a version like 1.31.2' })
      .pipe(RECORD_FIELD_SCHEMAS.kubernetesVersion)
      .optional(),
    externalDns: RECORD_FIELD_SCHEMAS.externalDns.optional(),
    certSANs: z.array(z.string().min(1)).optional(),
    timeouts: z
      .strictObject({
        /** How long a joiner waits for the cluster to be initialized. */
        waitForInit: duration('timeouts.waitForInit', limits).optional(),
        /** Bootstrap and control-plane-join lease length. */
        lease: duration('timeouts.lease', limits).optional(),
        /** How long kubeadm init or join may take. */
        kubeadm: duration('timeouts.kubeadm', limits).optional(),
        /** How long one addon's kubectl apply may take. */
        addons: duration('timeouts.addons', limits).optional(),
      })
      .optional(),
    kubeadm: z
      .strictObject({
        /** Directory of YAML documents merged over the rendered kubeadm config, by kind. */
        patchesDir: z.string().optional(),
      })
      .optional(),
    addons: AddonsSchema.optional(),
    hardening: HardeningSchema.optional(),
  });
}

export const NodeConfigSchema = nodeConfigSchema();

export type NodeConfig = z.infer<typeof NodeConfigSchema>;

function fieldPath(path: readonly PropertyKey[]): string {
  return path.length === 0 ? '(top level)' : path.map(String).join('.');
}

/** Parses and validates config text; every problem is named by its field path. */
export function parseNodeConfig(
  text: string,
  source: string,
  limits: DurationLimits = DEFAULT_DURATION_LIMITS,
): NodeConfig {
  const document = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (document.errors.length > 0) {
    const first = document.errors[0];
    throw new ConfigError(`${source} is not valid YAML: ${first?.message.split('\n')[0]}`, {
      hint: 'fix the YAML syntax (kboot config check shows every problem)',
    });
  }
  const data: unknown = yamlData(document, source) ?? {};
  const result = (limits === DEFAULT_DURATION_LIMITS ? NodeConfigSchema : nodeConfigSchema(limits)).safeParse(
    data,
  );
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
