/**
 * Which provider makes each kind of cluster resource (`DesiredResource.kind` → provider). The
 * engine asks it before it starts: a kind without a provider stops plan and create before any
 * change.
 */

import type { Clock } from '../../../core/clock.js';
import type { Logger } from '../../../core/logger.js';
import type { ProviderLookup } from '../../../domain/cluster/engine-types.js';
import type { ResourceProvider } from '../../../domain/cluster/resource.js';
import type { AwsClients } from '../clients.js';
import { AsgProvider } from './asg.js';
import { BackupBucketProvider } from './backup-bucket.js';
import { ClusterRecordProvider, DynamoDbTableProvider } from './dynamodb.js';
import { IamInstanceProfileProvider, IamRoleProvider } from './iam.js';
import { IrsaBucketProvider, OidcProviderProvider } from './irsa.js';
import { KmsKeyProvider } from './kms.js';
import { LaunchTemplateProvider } from './launch-template.js';
import { NlbProvider } from './nlb.js';
import { NlbListenerProvider } from './nlb-listener.js';
import { NlbTargetGroupProvider } from './nlb-target-group.js';
import { SecretProvider } from './secrets.js';
import { SecurityGroupProvider, SecurityGroupRulesProvider } from './security-group.js';

export interface RegistrySettings {
  clients: AwsClients;
  logger: Logger;
  clock?: Clock;
  /** How long a delete may wait (an ASG draining, an NLB going away). */
  deleteTimeoutMs?: number;
  pollIntervalMs?: number;
}

export class ProviderRegistry implements ProviderLookup {
  readonly #providers = new Map<string, ResourceProvider>();

  add(provider: ResourceProvider<never>): this {
    this.#providers.set(provider.kind, provider as unknown as ResourceProvider);
    return this;
  }

  get(kind: string): ResourceProvider | undefined {
    return this.#providers.get(kind);
  }

  kinds(): string[] {
    return [...this.#providers.keys()].sort();
  }
}

/** Every provider of this kboot. */
export function awsProviders(settings: RegistrySettings): ProviderRegistry {
  const { clients, logger, clock } = settings;
  const common = {
    clients,
    logger,
    ...(clock === undefined ? {} : { clock }),
    ...(settings.deleteTimeoutMs === undefined ? {} : { deleteTimeoutMs: settings.deleteTimeoutMs }),
    ...(settings.pollIntervalMs === undefined ? {} : { pollIntervalMs: settings.pollIntervalMs }),
  };
  return new ProviderRegistry()
    .add(new DynamoDbTableProvider(common))
    .add(new ClusterRecordProvider(common))
    .add(new KmsKeyProvider(common))
    .add(new SecretProvider(common))
    .add(new IamRoleProvider(common))
    .add(new IamInstanceProfileProvider(common))
    .add(new NlbProvider(common))
    .add(new NlbTargetGroupProvider(common))
    .add(new NlbListenerProvider(common))
    .add(new SecurityGroupProvider(common))
    .add(new SecurityGroupRulesProvider(common))
    .add(new LaunchTemplateProvider(common))
    .add(new AsgProvider(common))
    .add(new IrsaBucketProvider(common))
    .add(new OidcProviderProvider(common))
    .add(new BackupBucketProvider(common));
}
