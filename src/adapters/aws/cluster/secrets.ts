/**
 * `secret`: one of the cluster's three Secrets Manager secrets, created without a value (the
 * first master publishes it: PutSecretValue on a secret without versions makes its first
 * AWSCURRENT version), encrypted with the cluster's KMS key and tagged for the cluster. Found
 * again by its name. Destroy deletes it without a recovery window, so a cluster of the same name
 * can be created again at once.
 */

import {
  CreateSecretCommand,
  DeleteSecretCommand,
  DescribeSecretCommand,
  type DescribeSecretCommandOutput,
  type SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { type Clock, systemClock } from '../../../core/clock.js';
import { StateConflictError } from '../../../core/errors.js';
import type { SecretProperties } from '../../../domain/cluster/graph.js';
import type {
  DeleteOutcome,
  DesiredResource,
  Drift,
  ResourceContext,
  ResourceProvider,
  ResourceRecord,
} from '../../../domain/cluster/resource.js';
import { awsErrorName } from '../errors.js';
import {
  dependencyOutput,
  fromAwsTags,
  ownOrAdopted,
  record,
  sendClassified,
  toAwsTags,
} from './provider-kit.js';

const NOT_FOUND = new Set(['ResourceNotFoundException']);

export interface SecretProviderSettings {
  clients: { secretsManager(): Promise<SecretsManagerClient> };
  clock?: Clock;
}

export class SecretProvider implements ResourceProvider<SecretProperties> {
  readonly kind = 'secret';
  readonly #settings: SecretProviderSettings;
  readonly #clock: Clock;

  constructor(settings: SecretProviderSettings) {
    this.#settings = settings;
    this.#clock = settings.clock ?? systemClock;
  }

  async #send<T>(command: unknown, signal: AbortSignal, doing: string, permission: string): Promise<T> {
    const client = await this.#settings.clients.secretsManager();
    return sendClassified<T>(client, command, { signal, doing, permission, notFound: NOT_FOUND });
  }

  async #describe(name: string, signal: AbortSignal): Promise<DescribeSecretCommandOutput | undefined> {
    try {
      return await this.#send<DescribeSecretCommandOutput>(
        new DescribeSecretCommand({ SecretId: name }),
        signal,
        `describing secret ${name}`,
        'secretsmanager:DescribeSecret',
      );
    } catch (error) {
      if (awsErrorName(error) === 'ResourceNotFoundException') return undefined;
      throw error;
    }
  }

  #record(desired: DesiredResource<SecretProperties>, arn: string): ResourceRecord {
    return record(desired, desired.properties.name, { name: desired.properties.name, arn }, this.#clock, arn);
  }

  async find(desired: DesiredResource<SecretProperties>, context: ResourceContext) {
    const { name } = desired.properties;
    const secret = await this.#describe(name, context.signal);
    if (secret?.ARN === undefined) return undefined;
    if (secret.DeletedDate !== undefined) {
      throw new StateConflictError(`secret ${name} is scheduled for deletion, so kboot cannot create it`, {
        hint: `restore it (aws secretsmanager restore-secret --secret-id ${name}) or delete it for good (aws secretsmanager delete-secret --force-delete-without-recovery --secret-id ${name})`,
      });
    }
    const found = this.#record(desired, secret.ARN);
    // Published by a first master of a cluster made by another tool: used, never deleted.
    return ownOrAdopted(fromAwsTags(secret.Tags), found, desired, context);
  }

  async create(desired: DesiredResource<SecretProperties>, context: ResourceContext) {
    const { name, description, kmsKeyFrom } = desired.properties;
    const kmsKeyId = dependencyOutput(context, kmsKeyFrom, ['arn']);
    const out = await this.#send<{ ARN?: string }>(
      new CreateSecretCommand({
        Name: name,
        Description: description,
        KmsKeyId: kmsKeyId,
        Tags: toAwsTags(context.tagsFor(desired.key)),
      }),
      context.signal,
      `creating secret ${name}`,
      `secretsmanager:CreateSecret and secretsmanager:TagResource on secret ${name}`,
    );
    return this.#record(desired, out.ARN ?? name);
  }

  async drift(
    desired: DesiredResource<SecretProperties>,
    _record: ResourceRecord,
    context: ResourceContext,
  ): Promise<Drift[]> {
    const secret = await this.#describe(desired.properties.name, context.signal);
    if (secret === undefined) return [{ field: 'secret', want: 'present', have: 'missing' }];
    const want = context.outputsOf(desired.properties.kmsKeyFrom);
    const have = secret.KmsKeyId ?? '(the AWS managed key)';
    return have === want.arn || have === want.keyId || have === want.alias
      ? []
      : [{ field: 'kmsKeyId', want: want.arn ?? '', have }];
  }

  async delete(record: ResourceRecord, context: ResourceContext): Promise<DeleteOutcome> {
    try {
      await this.#send(
        new DeleteSecretCommand({ SecretId: record.id, ForceDeleteWithoutRecovery: true }),
        context.signal,
        `deleting secret ${record.id}`,
        'secretsmanager:DeleteSecret',
      );
      return 'deleted';
    } catch (error) {
      if (awsErrorName(error) === 'ResourceNotFoundException') return 'already-gone';
      throw error;
    }
  }
}
