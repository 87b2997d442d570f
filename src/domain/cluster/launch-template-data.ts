/**
 * The launch template data of one group (EC2's `LaunchTemplateData`, as plain data), and how an
 * existing version differs from it. Pure: the adapter sends it as is.
 *
 * - IMDSv2 only (`HttpTokens=required`), with instance metadata tags on, so identity costs five
 *   IMDS requests and no `ec2:DescribeTags` (README "Instance metadata").
 * - Hop limit 1 for every role, masters included: kboot, kubelet and the control-plane static pods
 *   run in the host's network namespace, so IMDS answers them at one hop; 1 keeps pods (one hop
 *   further, behind their veth) away from the instance role. The spec can raise it only where
 *   pods must reach IMDS themselves.
 * - Instance (and volume) tags in IMDS-safe spellings only: with instance metadata tags on, AWS
 *   refuses to launch an instance with a tag key containing "/" (README "Tagging instances").
 *   `KubernetesCluster` is the AWS cloud provider's legacy cluster tag, which it still honours on
 *   instances in place of `kubernetes.io/cluster/<name>`.
 */

import { DEFAULT_TABLE } from '../iam/scope.js';
import {
  KBOOT_CLUSTER_TAG_IMDS,
  LEGACY_CLUSTER_TAG,
  ROLE_TAG_IMDS,
  type Role,
  TABLE_TAG_IMDS,
} from '../identity/tags.js';
import type { Drift } from './resource.js';

const DEFAULT_HOP_LIMIT = 1;

export interface LaunchTemplateInput {
  cluster: string;
  role: Role;
  table: string;
  imageId: string;
  instanceType: string;
  /** The instance profile's ARN (or its name when the ARN is not known). */
  instanceProfile: string;
  securityGroupIds?: readonly string[] | undefined;
  keyName?: string | undefined;
  hopLimit?: number | undefined;
  /** The user-data text (cloud-config); base64-encoded here. */
  userData: string;
  /** Extra tags from the spec, put on instances and volumes when their keys are IMDS-safe. */
  extraTags?: Readonly<Record<string, string>> | undefined;
}

export interface Tag {
  Key: string;
  Value: string;
}

/** EC2's RequestLaunchTemplateData, the fields kboot sets. */
export interface LaunchTemplateData {
  ImageId: string;
  InstanceType: string;
  IamInstanceProfile: { Arn: string } | { Name: string };
  SecurityGroupIds?: string[];
  KeyName?: string;
  MetadataOptions: {
    HttpEndpoint: 'enabled';
    HttpTokens: 'required';
    HttpPutResponseHopLimit: number;
    InstanceMetadataTags: 'enabled';
  };
  TagSpecifications: { ResourceType: 'instance' | 'volume'; Tags: Tag[] }[];
  UserData: string;
}

/** A tag key IMDS can serve: letters, digits and `+ - = . , _ : @`, no "/" or space. */
export function imdsSafeKey(key: string): boolean {
  return /^[a-zA-Z0-9+\-=.,_:@]+$/.test(key);
}

/** The tags every instance of the group carries, in IMDS-safe spellings (README "Tagging instances"). */
export function instanceTags(
  cluster: string,
  role: Role,
  table: string,
  extra: Readonly<Record<string, string>> = {},
): Record<string, string> {
  const tags: Record<string, string> = {};
  for (const [key, value] of Object.entries(extra)) if (imdsSafeKey(key)) tags[key] = value;
  tags[LEGACY_CLUSTER_TAG] = cluster;
  tags[KBOOT_CLUSTER_TAG_IMDS] = cluster;
  tags[ROLE_TAG_IMDS] = role;
  if (table !== DEFAULT_TABLE) tags[TABLE_TAG_IMDS] = table;
  return tags;
}

export function launchTemplateData(input: LaunchTemplateInput): LaunchTemplateData {
  const tags = Object.entries(instanceTags(input.cluster, input.role, input.table, input.extraTags)).map(
    ([Key, Value]) => ({ Key, Value }),
  );
  return {
    ImageId: input.imageId,
    InstanceType: input.instanceType,
    IamInstanceProfile: input.instanceProfile.startsWith('arn:')
      ? { Arn: input.instanceProfile }
      : { Name: input.instanceProfile },
    ...(input.securityGroupIds !== undefined && input.securityGroupIds.length > 0
      ? { SecurityGroupIds: [...input.securityGroupIds] }
      : {}),
    ...(input.keyName === undefined ? {} : { KeyName: input.keyName }),
    MetadataOptions: {
      HttpEndpoint: 'enabled',
      HttpTokens: 'required',
      HttpPutResponseHopLimit: input.hopLimit ?? DEFAULT_HOP_LIMIT,
      InstanceMetadataTags: 'enabled',
    },
    TagSpecifications: [
      { ResourceType: 'instance', Tags: tags },
      { ResourceType: 'volume', Tags: tags },
    ],
    UserData: Buffer.from(input.userData, 'utf8').toString('base64'),
  };
}

/** What EC2 says a version holds (ResponseLaunchTemplateData, loosely typed). */
export interface ExistingTemplateData {
  ImageId?: string | undefined;
  InstanceType?: string | undefined;
  IamInstanceProfile?: { Arn?: string | undefined; Name?: string | undefined } | undefined;
  SecurityGroupIds?: string[] | undefined;
  KeyName?: string | undefined;
  MetadataOptions?:
    | {
        HttpEndpoint?: string | undefined;
        HttpTokens?: string | undefined;
        HttpPutResponseHopLimit?: number | undefined;
        InstanceMetadataTags?: string | undefined;
      }
    | undefined;
  TagSpecifications?:
    | {
        ResourceType?: string | undefined;
        Tags?: { Key?: string | undefined; Value?: string | undefined }[] | undefined;
      }[]
    | undefined;
  UserData?: string | undefined;
}

function text(value: unknown): string {
  if (value === undefined || value === null) return '(none)';
  return typeof value === 'string' ? value : JSON.stringify(value);
}

function compare(drifts: Drift[], field: string, want: unknown, have: unknown): void {
  if (text(want) !== text(have)) drifts.push({ field, want: text(want), have: text(have) });
}

function tagsOf(data: ExistingTemplateData | LaunchTemplateData, type: string): string {
  const spec = data.TagSpecifications?.find((s) => s.ResourceType === type);
  const pairs = (spec?.Tags ?? []).map((t) => `${t.Key ?? ''}=${t.Value ?? ''}`).sort();
  return pairs.join(',');
}

/** How an existing version differs from the wanted data, field by field (empty: no change). */
export function launchTemplateDrift(want: LaunchTemplateData, have: ExistingTemplateData): Drift[] {
  const drifts: Drift[] = [];
  compare(drifts, 'imageId', want.ImageId, have.ImageId);
  compare(drifts, 'instanceType', want.InstanceType, have.InstanceType);
  const profileWant =
    'Arn' in want.IamInstanceProfile ? want.IamInstanceProfile.Arn : want.IamInstanceProfile.Name;
  const profileHave =
    'Arn' in want.IamInstanceProfile ? have.IamInstanceProfile?.Arn : have.IamInstanceProfile?.Name;
  compare(drifts, 'iamInstanceProfile', profileWant, profileHave);
  compare(
    drifts,
    'securityGroupIds',
    [...(want.SecurityGroupIds ?? [])].sort().join(','),
    [...(have.SecurityGroupIds ?? [])].sort().join(','),
  );
  compare(drifts, 'keyName', want.KeyName, have.KeyName);
  const m = have.MetadataOptions ?? {};
  compare(
    drifts,
    'metadataOptions.httpEndpoint',
    want.MetadataOptions.HttpEndpoint,
    m.HttpEndpoint ?? 'enabled',
  );
  compare(drifts, 'metadataOptions.httpTokens', want.MetadataOptions.HttpTokens, m.HttpTokens);
  compare(
    drifts,
    'metadataOptions.httpPutResponseHopLimit',
    want.MetadataOptions.HttpPutResponseHopLimit,
    m.HttpPutResponseHopLimit,
  );
  compare(
    drifts,
    'metadataOptions.instanceMetadataTags',
    want.MetadataOptions.InstanceMetadataTags,
    m.InstanceMetadataTags,
  );
  compare(drifts, 'tags.instance', tagsOf(want, 'instance'), tagsOf(have, 'instance'));
  compare(drifts, 'tags.volume', tagsOf(want, 'volume'), tagsOf(have, 'volume'));
  if (want.UserData !== (have.UserData ?? '')) {
    drifts.push({ field: 'userData', want: 'the rendered user-data', have: 'different user-data' });
  }
  return drifts;
}
