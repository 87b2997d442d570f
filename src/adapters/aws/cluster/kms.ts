/**
 * `kms-key`: the symmetric key the cluster's secrets are encrypted with, tagged for the cluster,
 * with the alias `alias/kboot/<cluster>`. Found again by its alias, or (a create killed between
 * CreateKey and CreateAlias) by kboot's tags among the account's keys, then given its alias
 * (`complete`).
 * Destroy removes the alias and schedules the key's deletion (KMS's shortest window, 7 days).
 */

import {
  CreateAliasCommand,
  CreateKeyCommand,
  DeleteAliasCommand,
  DescribeKeyCommand,
  type KeyMetadata,
  type KMSClient,
  ListKeysCommand,
  ListResourceTagsCommand,
  ScheduleKeyDeletionCommand,
} from '@aws-sdk/client-kms';
import { type Clock, systemClock } from '../../../core/clock.js';
import type { KmsKeyProperties } from '../../../domain/cluster/graph.js';
import type {
  DeleteOutcome,
  DesiredResource,
  ResourceContext,
  ResourceProvider,
  ResourceRecord,
} from '../../../domain/cluster/resource.js';
import { awsErrorName } from '../errors.js';
import { madeByKboot, ownOrAdopted, record, sendClassified } from './provider-kit.js';

const NOT_FOUND = new Set(['NotFoundException']);

export interface KmsProviderSettings {
  clients: { kms(): Promise<KMSClient> };
  clock?: Clock;
  /** Days before a scheduled key is deleted (7 to 30); default 7. */
  pendingWindowDays?: number;
}

/** At most this many keys are looked at when searching by tags. */
const MAX_KEYS_SEARCHED = 1000;

function tagsOf(tags: readonly { TagKey?: string; TagValue?: string }[] | undefined): Record<string, string> {
  return Object.fromEntries((tags ?? []).map((t) => [t.TagKey ?? '', t.TagValue ?? '']));
}

function usable(key: KeyMetadata | undefined): key is KeyMetadata & { KeyId: string; Arn: string } {
  return (
    key?.KeyId !== undefined &&
    key.Arn !== undefined &&
    key.KeyState !== 'PendingDeletion' &&
    key.KeyState !== 'PendingReplicaDeletion'
  );
}

export class KmsKeyProvider implements ResourceProvider<KmsKeyProperties> {
  readonly kind = 'kms-key';
  readonly #settings: KmsProviderSettings;
  readonly #clock: Clock;

  constructor(settings: KmsProviderSettings) {
    this.#settings = settings;
    this.#clock = settings.clock ?? systemClock;
  }

  async #send<T>(command: unknown, signal: AbortSignal, doing: string, permission: string): Promise<T> {
    const kms = await this.#settings.clients.kms();
    return sendClassified<T>(kms, command, { signal, doing, permission, notFound: NOT_FOUND });
  }

  async #describe(keyId: string, signal: AbortSignal): Promise<KeyMetadata | undefined> {
    try {
      const out = await this.#send<{ KeyMetadata?: KeyMetadata }>(
        new DescribeKeyCommand({ KeyId: keyId }),
        signal,
        `describing KMS key ${keyId}`,
        'kms:DescribeKey',
      );
      return out.KeyMetadata;
    } catch (error) {
      if (awsErrorName(error) === 'NotFoundException') return undefined;
      throw error;
    }
  }

  #record(desired: DesiredResource<KmsKeyProperties>, key: { KeyId: string; Arn: string }): ResourceRecord {
    return record(
      desired,
      key.KeyId,
      { keyId: key.KeyId, arn: key.Arn, alias: desired.properties.alias },
      this.#clock,
      key.Arn,
    );
  }

  async #tags(keyId: string, signal: AbortSignal): Promise<Record<string, string>> {
    const out = await this.#send<{ Tags?: { TagKey?: string; TagValue?: string }[] }>(
      new ListResourceTagsCommand({ KeyId: keyId }),
      signal,
      `reading the tags of KMS key ${keyId}`,
      'kms:ListResourceTags',
    );
    return tagsOf(out.Tags);
  }

  async find(desired: DesiredResource<KmsKeyProperties>, context: ResourceContext) {
    const byAlias = await this.#describe(desired.properties.alias, context.signal);
    if (usable(byAlias)) {
      const tags = await this.#tags(byAlias.KeyId, context.signal);
      const found = this.#record(desired, byAlias);
      return ownOrAdopted(tags, found, desired, context);
    }
    // Made, then killed before the alias: find it by kboot's tags and give it its alias.
    let marker: string | undefined;
    let searched = 0;
    do {
      const page = await this.#send<{
        Keys?: { KeyId?: string }[];
        NextMarker?: string;
        Truncated?: boolean;
      }>(
        new ListKeysCommand({ Marker: marker, Limit: 100 }),
        context.signal,
        'listing KMS keys',
        'kms:ListKeys',
      );
      for (const { KeyId } of page.Keys ?? []) {
        if (KeyId === undefined) continue;
        searched += 1;
        let tags: Record<string, string>;
        try {
          tags = await this.#tags(KeyId, context.signal);
        } catch (error) {
          // Keys of other owners may refuse ListResourceTags: not ours, then.
          if (awsErrorName(error) === 'NotFoundException') continue;
          if ((error as { code?: string }).code === 'aws-denied') continue;
          throw error;
        }
        if (!madeByKboot(tags, context.cluster, desired.key)) continue;
        const key = await this.#describe(KeyId, context.signal);
        if (!usable(key)) continue;
        return this.#record(desired, key);
      }
      marker = page.Truncated === true ? page.NextMarker : undefined;
    } while (marker !== undefined && searched < MAX_KEYS_SEARCHED);
    return undefined;
  }

  /** A key found by its tags gets its alias (create only). */
  async complete(
    desired: DesiredResource<KmsKeyProperties>,
    found: ResourceRecord,
    context: ResourceContext,
  ) {
    const byAlias = await this.#describe(desired.properties.alias, context.signal);
    if (byAlias?.KeyId !== found.id) await this.#alias(desired, found.id, context.signal);
    return found;
  }

  async #alias(desired: DesiredResource<KmsKeyProperties>, keyId: string, signal: AbortSignal) {
    await this.#send(
      new CreateAliasCommand({ AliasName: desired.properties.alias, TargetKeyId: keyId }),
      signal,
      `creating KMS alias ${desired.properties.alias}`,
      'kms:CreateAlias',
    );
  }

  async create(desired: DesiredResource<KmsKeyProperties>, context: ResourceContext) {
    const out = await this.#send<{ KeyMetadata?: KeyMetadata }>(
      new CreateKeyCommand({
        Description: desired.properties.description,
        KeyUsage: 'ENCRYPT_DECRYPT',
        KeySpec: 'SYMMETRIC_DEFAULT',
        Tags: Object.entries(context.tagsFor(desired.key)).map(([TagKey, TagValue]) => ({
          TagKey,
          TagValue,
        })),
      }),
      context.signal,
      'creating the KMS key of the cluster',
      'kms:CreateKey and kms:TagResource',
    );
    const key = out.KeyMetadata;
    if (key?.KeyId === undefined || key.Arn === undefined) {
      throw new Error('KMS CreateKey returned no key id');
    }
    await this.#alias(desired, key.KeyId, context.signal);
    return this.#record(desired, { KeyId: key.KeyId, Arn: key.Arn });
  }

  async delete(record: ResourceRecord, context: ResourceContext): Promise<DeleteOutcome> {
    const alias = record.outputs.alias;
    if (alias !== undefined) {
      try {
        await this.#send(
          new DeleteAliasCommand({ AliasName: alias }),
          context.signal,
          `deleting KMS alias ${alias}`,
          'kms:DeleteAlias',
        );
      } catch (error) {
        if (awsErrorName(error) !== 'NotFoundException') throw error;
      }
    }
    const key = await this.#describe(record.id, context.signal);
    if (!usable(key)) return 'already-gone';
    await this.#send(
      new ScheduleKeyDeletionCommand({
        KeyId: record.id,
        PendingWindowInDays: this.#settings.pendingWindowDays ?? 7,
      }),
      context.signal,
      `scheduling the deletion of KMS key ${record.id}`,
      'kms:ScheduleKeyDeletion',
    );
    return 'deleted';
  }
}
