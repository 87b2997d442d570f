/**
 * The cluster's resources as a graph (pure: spec in, `DesiredResource[]` out). Keys are stable
 * and readable; `dependsOn` names what must exist first because its outputs feed this resource
 * (read by the provider through `ResourceContext.outputsOf`). Every resource depends, directly
 * or through another, on the DynamoDB table: its record is written there the moment it exists.
 *
 * The property shapes of the state, key, secret and IAM kinds are defined here, those of the
 * network and compute kinds in compute.ts: the AWS adapters' cluster providers read them.
 */

import { clusterAddonsFromConfig } from '../addons/settings.js';
import { irsaIssuerUrl } from '../irsa/issuer.js';
import type { ClusterAddons } from '../state/cluster-record.js';
import {
  API_PORT,
  type AsgProperties,
  type BackupBucketProperties,
  elbName,
  groupName,
  type IrsaBucketProperties,
  type LaunchTemplateProperties,
  type NlbListenerProperties,
  type NlbProperties,
  type NlbTargetGroupProperties,
  type OidcProviderProperties,
  type UserDataNodeConfig,
} from './compute.js';
import { type DesiredResource, RESOURCE_TAGS } from './resource.js';
import {
  controlPlaneRules,
  type SecurityGroupProperties,
  type SecurityGroupRulesProperties,
  workerRules,
} from './security-groups.js';
import type { ClusterSpec } from './spec.js';
import { BACKUP_NONCURRENT_DAYS } from './spec-backup.js';

/** Keys of the resources every cluster has. */
export const KEYS = {
  table: 'dynamodb-table',
  record: 'cluster-record',
  kmsKey: 'kms-key',
  secret: (name: SecretName) => `secret/${name}`,
  role: (role: NodeRole) => `iam-role/${role}`,
  instanceProfile: (role: NodeRole) => `iam-instance-profile/${role}`,
  nlb: 'nlb',
  targetGroup: 'nlb-target-group/api',
  listener: 'nlb-listener/api',
  launchTemplate: (name: string) => `launch-template/${name}`,
  asg: (name: string) => `asg/${name}`,
  irsaBucket: 'irsa-bucket',
  backupBucket: 'backup-bucket',
  oidcProvider: 'oidc-provider',
  securityGroup: (role: NodeRole) => `security-group/${role}`,
  securityGroupRules: (role: NodeRole) => `security-group-rules/${role}`,
} as const;

export type NodeRole = 'control-plane' | 'worker';
/**
 * The cluster's secrets (src/domain/join/secret-ids.ts), created empty: the masters publish them.
 * (No `node-leave` any more: an older kboot's is deleted by destroy through its record.)
 */
export const SECRET_NAMES = ['join', 'control-plane', 'admin.conf', 'pki'] as const;
export type SecretName = (typeof SECRET_NAMES)[number];

/** `dynamodb-table`: created when missing (pk/sk strings, on demand); adopted (never deleted) when it exists. */
export interface DynamoDbTableProperties {
  name: string;
}

/** `cluster-record`: the metadata item (sk=meta), written if absent. */
export interface ClusterRecordProperties {
  table: string;
  clusterName: string;
  region: string;
  podCidr: string;
  serviceCidr: string;
  kubernetesVersion: string;
  /** The API endpoint host is the `dnsName` output of this resource; the port is `apiPort`. */
  apiEndpointFrom: string;
  apiPort: number;
  /** The KMS key id is the `keyId` output of this resource. */
  kmsKeyFrom: string;
  /** The addons that bind the whole cluster (spec `addons.cni`, `addons.cloudController`). */
  addons: ClusterAddons;
}

/** `kms-key`: a symmetric key for the cluster's secrets, with an alias; outputs keyId, arn, alias. */
export interface KmsKeyProperties {
  alias: string;
  description: string;
}

/** `secret`: created without a value (the first master publishes it), encrypted with the key; outputs arn, name. */
export interface SecretProperties {
  name: string;
  description: string;
  /** The key is the `arn` output of this resource. */
  kmsKeyFrom: string;
}

/** `iam-role`: assumable by EC2, with the inline policy `kboot iam-policy` prints for the role; outputs arn, name. */
export interface IamRoleProperties {
  name: string;
  path: string;
  description: string;
  /** The node role whose policy (src/domain/iam/policy.ts) is attached inline, scoped to the cluster. */
  policyRole: NodeRole;
  policyName: string;
  /** Scope of the policy beyond the cluster: its table, region, IRSA bucket. */
  scope: { cluster: string; table: string; region: string; irsaBucket?: string; backupBucket?: string };
  /** The policy names the key that is the `arn` output of this resource. */
  kmsKeyFrom: string;
  /** control-plane with `addons.cloudController`: the policy also grants the AWS cloud-controller-manager's actions. */
  cloudController?: boolean;
}

/** `iam-instance-profile`: holding the role; outputs arn, name. */
export interface IamInstanceProfileProperties {
  name: string;
  path: string;
  /** The role is the `name` output of this resource. */
  roleFrom: string;
}

function resource<P>(key: string, kind: string, dependsOn: string[], properties: P): DesiredResource {
  return { key, kind, dependsOn, properties: properties as unknown as Record<string, unknown> };
}

/** `kboot-<cluster>-<suffix>`: the names of the cluster's IAM roles and instance profiles. */
function iamName(spec: Pick<ClusterSpec, 'name'>, suffix: string): string {
  return `kboot-${spec.name}-${suffix}`;
}

interface WorkerAsg {
  /** "workers-general" or "workers-general-eu-west-1a". */
  group: string;
  template: string;
  spec: ClusterSpec['workers']['groups'][number];
  subnetIds: string[];
}

/** The worker ASGs a group makes: one across every subnet, or one per subnet. */
function workerAsgs(spec: ClusterSpec): WorkerAsg[] {
  return spec.workers.groups.flatMap((group) => {
    const template = `workers-${group.name}`;
    return group.placement === 'per-az'
      ? spec.network.subnets.map((subnet) => ({
          group: `${template}-${subnet.az}`,
          template,
          spec: group,
          subnetIds: [subnet.id],
        }))
      : [{ group: template, template, spec: group, subnetIds: spec.network.subnets.map((s) => s.id) }];
  });
}

/** The spec's addon settings the first master reads from its node config (not the cluster record). */
function nodeAddons(spec: ClusterSpec): Pick<UserDataNodeConfig, 'addons'> {
  const { manifestsDir, images } = spec.addons ?? {};
  const kept = Object.fromEntries(Object.entries(images ?? {}).filter(([, value]) => value !== undefined));
  const addons = {
    ...(manifestsDir === undefined ? {} : { manifestsDir }),
    ...(Object.keys(kept).length === 0 ? {} : { images: kept }),
  };
  return Object.keys(addons).length === 0 ? {} : { addons };
}

/** Every resource of the cluster, in a stable order (dependencies before dependents). */
export function clusterGraph(spec: ClusterSpec): DesiredResource[] {
  const out: DesiredResource[] = [];
  const table = KEYS.table;
  const subnetIds = spec.network.subnets.map((subnet) => subnet.id);
  out.push(resource<DynamoDbTableProperties>(table, 'dynamodb-table', [], { name: spec.table }));

  out.push(
    resource<KmsKeyProperties>(KEYS.kmsKey, 'kms-key', [table], {
      alias: `alias/kboot/${spec.name}`,
      description: `kboot: secrets of cluster ${spec.name}`,
    }),
  );
  for (const name of SECRET_NAMES) {
    out.push(
      resource<SecretProperties>(KEYS.secret(name), 'secret', [KEYS.kmsKey], {
        name: `kboot/${spec.name}/${name}`,
        description: `kboot: ${name} of cluster ${spec.name} (its value is published by the first master)`,
        kmsKeyFrom: KEYS.kmsKey,
      }),
    );
  }

  const irsa = spec.addons?.irsa;
  const backup = spec.backup;
  for (const role of ['control-plane', 'worker'] as const) {
    out.push(
      resource<IamRoleProperties>(KEYS.role(role), 'iam-role', [KEYS.kmsKey], {
        name: iamName(spec, role),
        path: '/kboot/',
        description: `kboot: ${role} instances of cluster ${spec.name}`,
        policyRole: role,
        policyName: `kboot-${role}`,
        scope: {
          cluster: spec.name,
          table: spec.table,
          region: spec.region,
          ...(irsa === undefined ? {} : { irsaBucket: irsa.bucket }),
          // The masters take the snapshots: only their policy names the bucket.
          ...(backup === undefined || role !== 'control-plane' ? {} : { backupBucket: backup.bucket }),
        },
        kmsKeyFrom: KEYS.kmsKey,
        ...(role === 'control-plane' && spec.addons?.cloudController === true
          ? { cloudController: true }
          : {}),
      }),
    );
    out.push(
      resource<IamInstanceProfileProperties>(
        KEYS.instanceProfile(role),
        'iam-instance-profile',
        [KEYS.role(role)],
        { name: iamName(spec, role), path: '/kboot/', roleFrom: KEYS.role(role) },
      ),
    );
  }

  out.push(
    resource<NlbProperties>(KEYS.nlb, 'nlb', [table], {
      name: elbName(spec.name, 'api'),
      scheme: spec.apiEndpoint.scheme,
      subnetIds,
    }),
  );
  out.push(
    resource<NlbTargetGroupProperties>(KEYS.targetGroup, 'nlb-target-group', [table], {
      name: elbName(spec.name, 'api'),
      vpcId: spec.network.vpcId,
      subnetIds,
      healthCheck: 'tcp',
    }),
  );
  out.push(
    resource<NlbListenerProperties>(KEYS.listener, 'nlb-listener', [KEYS.nlb, KEYS.targetGroup], {
      loadBalancer: KEYS.nlb,
      targetGroup: KEYS.targetGroup,
    }),
  );

  out.push(
    resource<ClusterRecordProperties>(KEYS.record, 'cluster-record', [table, KEYS.kmsKey, KEYS.nlb], {
      table: spec.table,
      clusterName: spec.name,
      region: spec.region,
      podCidr: spec.network.podCidr,
      serviceCidr: spec.network.serviceCidr,
      kubernetesVersion: spec.kubernetesVersion,
      apiEndpointFrom: KEYS.nlb,
      apiPort: API_PORT,
      kmsKeyFrom: KEYS.kmsKey,
      addons: clusterAddonsFromConfig(spec.addons),
    }),
  );

  // Each group's rules name the other group: both groups first, then their rules.
  const groupKeys = {
    controlPlane: KEYS.securityGroup('control-plane'),
    workers: KEYS.securityGroup('worker'),
  };
  for (const role of ['control-plane', 'worker'] as const) {
    out.push(
      resource<SecurityGroupProperties>(KEYS.securityGroup(role), 'security-group', [table], {
        name: groupName(spec.name, role === 'worker' ? 'workers' : role),
        description: `kboot: ${role} instances of cluster ${spec.name}`,
        vpcId: spec.network.vpcId,
      }),
    );
  }
  for (const role of ['control-plane', 'worker'] as const) {
    out.push(
      resource<SecurityGroupRulesProperties>(
        KEYS.securityGroupRules(role),
        'security-group-rules',
        [groupKeys.controlPlane, groupKeys.workers],
        {
          group: KEYS.securityGroup(role),
          rules: role === 'control-plane' ? controlPlaneRules(spec, groupKeys) : workerRules(spec, groupKeys),
        },
      ),
    );
  }

  const bucketKeys: string[] = [];
  if (irsa !== undefined) {
    const region = irsa.region ?? spec.region;
    out.push(
      resource<IrsaBucketProperties>(KEYS.irsaBucket, 'irsa-bucket', [table], {
        bucket: irsa.bucket,
        region,
      }),
    );
    out.push(
      resource<OidcProviderProperties>(KEYS.oidcProvider, 'oidc-provider', [KEYS.irsaBucket], {
        issuer: irsaIssuerUrl(irsa.bucket, region),
      }),
    );
    bucketKeys.push(KEYS.irsaBucket, KEYS.oidcProvider);
  }
  if (backup !== undefined) {
    out.push(
      // A given bucket is used as it is: it waits for nothing but the table its record goes to.
      resource<BackupBucketProperties>(
        KEYS.backupBucket,
        'backup-bucket',
        [backup.create ? KEYS.kmsKey : table],
        {
          bucket: backup.bucket,
          region: spec.region,
          prefix: `${spec.name}/etcd/`,
          create: backup.create,
          noncurrentDays: BACKUP_NONCURRENT_DAYS,
          kmsKeyFrom: KEYS.kmsKey,
        },
      ),
    );
    bucketKeys.push(KEYS.backupBucket);
  }

  const nodeConfig: UserDataNodeConfig = {
    table: spec.table,
    podCidr: spec.network.podCidr,
    serviceCidr: spec.network.serviceCidr,
    kubernetesVersion: spec.kubernetesVersion,
    ...(irsa === undefined
      ? {}
      : { irsa: { bucket: irsa.bucket, ...(irsa.region === undefined ? {} : { region: irsa.region }) } }),
    ...nodeAddons(spec),
    ...(spec.hardening === undefined ? {} : { hardening: spec.hardening }),
    ...(backup === undefined ? {} : { backup: { bucket: backup.bucket } }),
  };

  // Instances read the record, the secrets and (masters) the IRSA bucket at boot: their groups
  // come after all of those.
  const templates: {
    key: string;
    role: 'control-plane' | 'worker';
    group: string;
    ami: ClusterSpec['controlPlane']['ami'];
    instanceType: string;
  }[] = [
    {
      key: KEYS.launchTemplate('control-plane'),
      role: 'control-plane',
      group: 'control-plane',
      ami: spec.controlPlane.ami,
      instanceType: spec.controlPlane.instanceType,
    },
    ...spec.workers.groups.map((group) => ({
      key: KEYS.launchTemplate(`workers-${group.name}`),
      role: 'worker' as const,
      group: `workers-${group.name}`,
      ami: group.ami ?? spec.controlPlane.ami,
      instanceType: group.instanceType,
    })),
  ];
  for (const template of templates) {
    out.push(
      resource<LaunchTemplateProperties>(
        template.key,
        'launch-template',
        [
          KEYS.instanceProfile(template.role),
          KEYS.nlb,
          KEYS.securityGroup(template.role),
          KEYS.securityGroupRules(template.role),
        ],
        {
          name: groupName(spec.name, template.group),
          role: template.role,
          group: template.group,
          ami: template.ami,
          kubernetesVersion: spec.kubernetesVersion,
          instanceType: template.instanceType,
          instanceProfile: KEYS.instanceProfile(template.role),
          securityGroupsFrom: [KEYS.securityGroup(template.role)],
          ...(spec.network.securityGroupIds.length === 0
            ? {}
            : { securityGroupIds: [...spec.network.securityGroupIds] }),
          metadataHopLimit: 1,
          nodeConfig,
          apiEndpointFrom: KEYS.nlb,
        },
      ),
    );
  }
  const ready = [KEYS.record, ...SECRET_NAMES.map(KEYS.secret)];
  out.push(
    resource<AsgProperties>(
      KEYS.asg('control-plane'),
      'asg',
      [KEYS.launchTemplate('control-plane'), KEYS.targetGroup, KEYS.listener, ...ready, ...bucketKeys],
      {
        name: groupName(spec.name, 'control-plane'),
        role: 'control-plane',
        launchTemplate: KEYS.launchTemplate('control-plane'),
        subnetIds,
        minSize: spec.controlPlane.count,
        maxSize: spec.controlPlane.count,
        desiredCapacity: spec.controlPlane.count,
        targetGroup: KEYS.targetGroup,
        table: spec.table,
      },
    ),
  );
  for (const asg of workerAsgs(spec)) {
    const template = KEYS.launchTemplate(asg.template);
    out.push(
      resource<AsgProperties>(KEYS.asg(asg.group), 'asg', [template, ...ready], {
        name: groupName(spec.name, asg.group),
        role: 'worker',
        launchTemplate: template,
        subnetIds: asg.subnetIds,
        minSize: asg.spec.min,
        maxSize: asg.spec.max,
        desiredCapacity: asg.spec.desired ?? asg.spec.min,
        table: spec.table,
      }),
    );
  }
  return out;
}

/** Tags on every resource of the cluster: the spec's own, then kboot's (which win). */
export function resourceTags(spec: Pick<ClusterSpec, 'name' | 'tags'>, key: string): Record<string, string> {
  return {
    ...spec.tags,
    [`kubernetes.io/cluster/${spec.name}`]: 'owned',
    [RESOURCE_TAGS.cluster]: spec.name,
    [RESOURCE_TAGS.resource]: key,
    [RESOURCE_TAGS.managedBy]: 'kboot',
  };
}
