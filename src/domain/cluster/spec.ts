/**
 * The cluster spec: the YAML file `kboot cluster plan|create` reads (`-f/--spec`). Validated with
 * a strict schema (an unknown field is an error naming its path), then the network ranges are
 * checked with the `kboot cidr` rules (inside the VPC, no overlaps), all before any AWS call.
 * Pure: text in, a typed spec or a ConfigError naming every bad field out. Every field carries a
 * description: README's spec reference table is generated from them (specFieldDocs).
 */

import { parseDocument } from 'yaml';
import { z } from 'zod';
import { ConfigError, isKbootError } from '../../core/errors.js';
import { checkNetwork } from '../cidr/check.js';
import type { CidrInputNames } from '../cidr/names.js';
import { AddonsSchema, HardeningSchema } from '../config/node-config.js';
import { yamlData } from '../config/yaml.js';
import { DEFAULT_TABLE } from '../iam/scope.js';
import { AWS_REGION_PATTERN } from '../irsa/issuer.js';
import { BackupSpecSchema } from './spec-backup.js';

export const DEFAULT_POD_CIDR = '10.244.0.0/16';
export const DEFAULT_SERVICE_CIDR = '10.96.0.0/12';

/**
 * Lowercase letters, digits and hyphens, at most 28 characters: the cluster name goes into AWS
 * names with tighter rules than a cluster tag (a load balancer or target group name is at most 32
 * characters: `<name>-api`).
 */
export const SPEC_CLUSTER_NAME = /^[a-z0-9](?:[a-z0-9-]{0,26}[a-z0-9])?$/;
const GROUP_NAME = /^[a-z0-9](?:[a-z0-9-]{0,18}[a-z0-9])?$/;

const cidr = z
  .string()
  .regex(/^\d{1,3}(\.\d{1,3}){3}\/\d{1,2}$/, { message: 'expected an IPv4 CIDR like 10.0.0.0/16' });

const instanceType = z
  .string()
  .regex(/^[a-z][a-z0-9-]*\.[a-z0-9]+$/, { message: 'expected an EC2 instance type like m6i.large' });

const amiId = z.string().regex(/^ami-[0-9a-f]{8,17}$/, { message: 'expected an AMI id like ami-0abc1234' });

const amiQuery = z
  .strictObject({
    tags: z
      .record(z.string().min(1), z.string())
      .default({})
      .describe('image tags to match (key: value), like `kboot ami --tag`'),
    owners: z
      .array(
        z.string().regex(/^(self|amazon|\d{12})$/, { message: 'expected self, amazon or an account id' }),
      )
      .default([])
      .describe('image owners (`self`, `amazon` or account ids), like `kboot ami --owner`'),
    arch: z.enum(['x86_64', 'arm64']).optional().describe('image architecture'),
  })
  .describe(
    "the newest available image matching these filters and tagged kboot.io/kubernetes-version with the spec's Kubernetes version (like `kboot ami`), resolved at create time",
  );

const ami = z
  .union([amiId, amiQuery], {
    error: (issue) =>
      issue.code === 'invalid_union'
        ? 'expected an AMI id (ami-…) or a query { tags, owners, arch }'
        : undefined,
  })
  .describe('an AMI id, or a query for the newest kboot AMI (`tags`, `owners`, `arch`)');

const subnet = z.strictObject({
  id: z
    .string()
    .regex(/^subnet-[0-9a-f]{8,17}$/, { message: 'expected a subnet id like subnet-0abc1234' })
    .describe('subnet id'),
  az: z
    .string()
    .regex(/^[a-z]{2}(-[a-z]+)+-\d{1,2}[a-z]$/, { message: 'expected an availability zone like eu-west-1a' })
    .describe('its availability zone'),
  cidr: cidr.optional().describe('its range: checked to be inside vpcCidr and apart from the others'),
});

const workerGroup = z
  .strictObject({
    name: z
      .string()
      .regex(GROUP_NAME, {
        message: 'expected a name of lowercase letters, digits and hyphens, at most 20 characters',
      })
      .describe('group name (in ASG and launch template names)'),
    instanceType: instanceType.describe('EC2 instance type'),
    ami: ami.optional().describe("the group's AMI (default: controlPlane.ami)"),
    placement: z
      .enum(['across-subnets', 'per-az'])
      .default('across-subnets')
      .describe('`across-subnets`: one Auto Scaling group over every subnet; `per-az`: one group per subnet'),
    min: z.int().min(0).max(1000).describe('minimum size (per group)'),
    max: z.int().min(0).max(1000).describe('maximum size (per group)'),
    desired: z.int().min(0).max(1000).optional().describe('desired capacity (default: min)'),
  })
  .superRefine((group, ctx) => {
    if (group.min > group.max)
      ctx.addIssue({ code: 'custom', path: ['min'], message: 'must not exceed max' });
    if (group.desired !== undefined && (group.desired < group.min || group.desired > group.max)) {
      ctx.addIssue({ code: 'custom', path: ['desired'], message: 'must be between min and max' });
    }
  });

/** The node config's addons, reused as is: the spec's addons become every node's config. */
const addons = AddonsSchema.optional();

export const ClusterSpecSchema = z.strictObject({
  name: z
    .string()
    .regex(SPEC_CLUSTER_NAME, {
      message: 'expected lowercase letters, digits and hyphens, at most 28 characters',
    })
    .optional()
    .describe('cluster name (default: --name; when both are given they must agree)'),
  region: z
    .string()
    .regex(AWS_REGION_PATTERN, { message: 'expected an AWS region like eu-west-1' })
    .optional()
    .describe('AWS region (default: --region, else AWS_REGION)'),
  table: z
    .string()
    .regex(/^[a-zA-Z0-9_.-]{3,255}$/, { message: 'expected a DynamoDB table name' })
    .optional()
    .describe(`DynamoDB table holding the state (default: --table, else KBOOT_TABLE, else ${DEFAULT_TABLE})`),
  kubernetesVersion: z
    .string()
    .regex(/^v?\d+\.\d+\.\d+$/, { message: 'expected a version like 1.31.2' })
    .describe('Kubernetes version (the cluster record; the AMI query matches it)'),
  network: z
    .strictObject({
      vpcId: z
        .string()
        .regex(/^vpc-[0-9a-f]{8,17}$/, { message: 'expected a VPC id like vpc-0abc1234' })
        .describe('the VPC the cluster runs in'),
      vpcCidr: cidr.describe("the VPC's range"),
      subnets: z
        .array(subnet)
        .min(1, { message: 'give at least one subnet' })
        .describe('subnets, one per AZ'),
      podCidr: cidr.default(DEFAULT_POD_CIDR).describe('pod range: outside the VPC and the service range'),
      serviceCidr: cidr
        .default(DEFAULT_SERVICE_CIDR)
        .describe('service range: outside the VPC and the pod range'),
      nodePortCidrs: z
        .array(cidr)
        .default([])
        .describe(
          "ranges the workers' security group admits to NodePort services (TCP 30000-32767); none by default",
        ),
      securityGroupIds: z
        .array(
          z
            .string()
            .regex(/^sg-[0-9a-f]{8,17}$/, { message: 'expected a security group id like sg-0abc1234' }),
        )
        .max(4, {
          message:
            "at most 4: instances also get the cluster's own group, and EC2 allows 5 a network interface",
        })
        .default([])
        .describe(
          "existing security groups every instance gets besides the cluster's own (control plane or workers)",
        ),
    })
    .describe('where the cluster runs'),
  controlPlane: z
    .strictObject({
      count: z
        .union([z.literal(1), z.literal(3)], { error: 'expected 1 or 3 (etcd needs an odd number)' })
        .describe('control-plane instances: 1 or 3'),
      instanceType: instanceType.describe('EC2 instance type'),
      ami: ami,
    })
    .describe('the control-plane Auto Scaling group'),
  workers: z
    .strictObject({
      groups: z.array(workerGroup).default([]).describe('worker groups'),
    })
    .default({ groups: [] })
    .describe('worker Auto Scaling groups'),
  apiEndpoint: z
    .strictObject({
      scheme: z
        .enum(['internal', 'internet-facing'])
        .default('internal')
        .describe('the network load balancer in front of the API servers (port 6443)'),
    })
    .default({ scheme: 'internal' })
    .describe('the API endpoint: the DNS name of this load balancer goes into the cluster record'),
  addons: addons.describe('add-ons, as in the node config\'s `addons` (README "Node config")'),
  backup: BackupSpecSchema.optional(),
  hardening: HardeningSchema.optional().describe(
    "the hardened control plane, as in the node config's `hardening` (docs/nodes.md); every setting on unless turned off",
  ),
  tags: z
    .record(
      z
        .string()
        .min(1)
        .max(128)
        .refine((key) => !/^(aws:|kboot\.io\/|kubernetes\.io\/cluster\/)/.test(key), {
          message: 'aws:, kboot.io/ and kubernetes.io/cluster/ tags are set by kboot',
        }),
      z.string().max(256),
    )
    .default({})
    .describe('extra tags on every resource that takes tags'),
});

export type ClusterSpecInput = z.input<typeof ClusterSpecSchema>;
type ParsedSpec = z.output<typeof ClusterSpecSchema>;

/** A validated spec with the name, region and table settled. */
export type ClusterSpec = Omit<ParsedSpec, 'name' | 'region' | 'table'> & {
  name: string;
  region: string;
  table: string;
};

export interface SpecDefaults {
  /** --name */
  name: string;
  /** --region (must agree with the spec's region when both are given) */
  region?: string | undefined;
  /** AWS_REGION or the profile's region: used when neither the spec nor --region gives one */
  fallbackRegion?: string | undefined;
  /** --table or KBOOT_TABLE (must agree with the spec's table when both are given) */
  table?: string | undefined;
}

function fieldPath(path: readonly PropertyKey[]): string {
  let text = '';
  for (const key of path)
    text += typeof key === 'number' ? `[${key}]` : text === '' ? String(key) : `.${String(key)}`;
  return text === '' ? '(top level)' : text;
}

function invalid(source: string, problems: string[]): ConfigError {
  return new ConfigError(`${source} is invalid: ${problems.join('; ')}`, {
    hint: 'correct the named fields (see README "Creating a cluster: kboot cluster")',
    details: { problems },
  });
}

/** The ranges checked with the `kboot cidr` rules, named by their spec fields. */
function checkRanges(spec: ParsedSpec, source: string): void {
  const names: CidrInputNames = {
    vpc: 'network.vpcCidr',
    azs: 'network.subnets',
    pod: 'network.podCidr',
    service: 'network.serviceCidr',
    subnet: 'network.subnets[].cidr',
    podsInVpc: 'network.podsInVpc',
  };
  const subnets = spec.network.subnets.flatMap((s) => (s.cidr === undefined ? [] : [s.cidr]));
  try {
    checkNetwork(
      {
        vpcCidr: spec.network.vpcCidr,
        podCidr: spec.network.podCidr,
        serviceCidr: spec.network.serviceCidr,
        subnets,
      },
      names,
    );
  } catch (error) {
    if (!isKbootError(error)) throw error;
    throw new ConfigError(`${source} is invalid: field ${error.message}`, {
      cause: error,
      hint: error.hint ?? 'correct the named fields',
    });
  }
}

function checkConsistency(spec: ParsedSpec): string[] {
  const problems: string[] = [];
  const seen = new Map<string, number>();
  spec.network.subnets.forEach((subnet, index) => {
    const earlier = seen.get(subnet.id);
    if (earlier !== undefined) {
      problems.push(
        `field network.subnets[${index}].id: ${subnet.id} is already network.subnets[${earlier}]`,
      );
    }
    seen.set(subnet.id, index);
  });
  const groups = new Map<string, number>();
  spec.workers.groups.forEach((group, index) => {
    const earlier = groups.get(group.name);
    if (earlier !== undefined) {
      problems.push(
        `field workers.groups[${index}].name: "${group.name}" is already workers.groups[${earlier}]`,
      );
    }
    groups.set(group.name, index);
  });
  return problems;
}

/** Parses and validates spec text; every problem is named by its field path. */
export function parseClusterSpec(text: string, source: string, defaults: SpecDefaults): ClusterSpec {
  const document = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (document.errors.length > 0) {
    const first = document.errors[0];
    throw new ConfigError(`${source} is not valid YAML: ${first?.message.split('\n')[0]}`, {
      hint: 'fix the YAML syntax',
    });
  }
  const data: unknown = yamlData(document, source) ?? {};
  const result = ClusterSpecSchema.safeParse(data);
  if (!result.success) {
    throw invalid(
      source,
      result.error.issues.map((issue) => {
        if (issue.code === 'unrecognized_keys') {
          return `unknown field ${issue.keys.map((key) => fieldPath([...issue.path, key])).join(', ')}`;
        }
        if (issue.code === 'invalid_type' && issue.input === undefined) {
          return `field ${fieldPath(issue.path)}: required`;
        }
        return `field ${fieldPath(issue.path)}: ${issue.message}`;
      }),
    );
  }
  const parsed = result.data;
  const problems = checkConsistency(parsed);
  if (parsed.name !== undefined && parsed.name !== defaults.name) {
    problems.unshift(`field name: "${parsed.name}" differs from --name "${defaults.name}"`);
  }
  if (!SPEC_CLUSTER_NAME.test(defaults.name)) {
    problems.unshift(
      `--name "${defaults.name}": expected lowercase letters, digits and hyphens, at most 28 characters`,
    );
  }
  const region = parsed.region ?? defaults.region ?? defaults.fallbackRegion;
  if (region === undefined || region === '') {
    problems.push('field region: required (or pass --region, or set AWS_REGION)');
  } else if (
    parsed.region !== undefined &&
    defaults.region !== undefined &&
    parsed.region !== defaults.region
  ) {
    problems.push(`field region: "${parsed.region}" differs from --region "${defaults.region}"`);
  }
  if (parsed.table !== undefined && defaults.table !== undefined && parsed.table !== defaults.table) {
    problems.push(`field table: "${parsed.table}" differs from --table or KBOOT_TABLE "${defaults.table}"`);
  }
  if (problems.length > 0) throw invalid(source, problems);
  checkRanges(parsed, source);
  return {
    ...parsed,
    name: defaults.name,
    region: region as string,
    table: parsed.table ?? defaults.table ?? DEFAULT_TABLE,
  };
}

/** One row of the README spec reference. */
export interface SpecFieldDoc {
  path: string;
  type: string;
  required: boolean;
  default?: string;
  description: string;
}

interface JsonSchemaNode {
  type?: string | string[];
  description?: string;
  default?: unknown;
  enum?: unknown[];
  const?: unknown;
  properties?: Record<string, JsonSchemaNode>;
  required?: string[];
  items?: JsonSchemaNode;
  anyOf?: JsonSchemaNode[];
  additionalProperties?: JsonSchemaNode | boolean;
}

function typeOf(node: JsonSchemaNode): string {
  if (node.anyOf !== undefined) return node.anyOf.map(typeOf).join(' or ');
  if (node.enum !== undefined) return node.enum.map((v) => JSON.stringify(v)).join(' \\| ');
  if (node.const !== undefined) return JSON.stringify(node.const);
  if (node.type === 'array') return `list of ${node.items === undefined ? 'values' : typeOf(node.items)}`;
  if (
    node.type === 'object' &&
    node.properties === undefined &&
    typeof node.additionalProperties === 'object'
  ) {
    return 'map of strings';
  }
  return Array.isArray(node.type) ? node.type.join(' or ') : (node.type ?? 'value');
}

function walk(
  node: JsonSchemaNode,
  path: string,
  required: boolean,
  rows: SpecFieldDoc[],
  inherited = '',
): void {
  const objectNode = node.anyOf?.find((n) => n.properties !== undefined) ?? node;
  if (path !== '') {
    rows.push({
      path,
      type: objectNode.properties !== undefined && node.anyOf === undefined ? 'object' : typeOf(node),
      required,
      ...(node.default === undefined ? {} : { default: JSON.stringify(node.default) }),
      description: node.description ?? objectNode.description ?? inherited,
    });
  }
  const items = node.type === 'array' ? node.items : undefined;
  const container = items ?? objectNode;
  const prefix = items === undefined ? path : `${path}[]`;
  for (const [key, child] of Object.entries(container.properties ?? {})) {
    // The addons schema is the node config's: its fields are described there.
    const note = path === 'addons' || inherited !== '' ? 'as in the node config (README "Node config")' : '';
    walk(
      child,
      prefix === '' ? key : `${prefix}.${key}`,
      (container.required ?? []).includes(key),
      rows,
      note,
    );
  }
}

/** Every field of the spec with its type, default and description (the README table's rows). */
export function specFieldDocs(): SpecFieldDoc[] {
  const schema = z.toJSONSchema(ClusterSpecSchema, {
    io: 'input',
    unrepresentable: 'any',
  }) as JsonSchemaNode;
  const rows: SpecFieldDoc[] = [];
  walk(schema, '', true, rows);
  return rows;
}

/** The README spec reference: a Markdown table. */
export function renderSpecReference(): string {
  const lines = ['| field | type | required | default | description |', '| --- | --- | --- | --- | --- |'];
  for (const row of specFieldDocs()) {
    const cell = (text: string) => text.replaceAll('|', '\\|');
    lines.push(
      `| \`${row.path}\` | ${row.type} | ${row.required ? 'yes' : 'no'} | ${row.default === undefined ? '' : `\`${row.default}\``} | ${cell(row.description)} |`,
    );
  }
  return `${lines.join('\n')}\n`;
}
