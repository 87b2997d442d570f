/**
 * The cluster PKI in AWS Secrets Manager, `kboot/<cluster>/pki` (the PkiSecretStore port,
 * src/domain/pki/store.ts): PutSecretValue, else CreateSecret with the cluster's tags and KMS key
 * (and PutSecretValue again when another master created it meanwhile); GetSecretValue of the
 * version the cluster record names. The value goes to the SDK and nowhere else: logs and errors carry the
 * secret id only.
 */

import {
  CreateSecretCommand,
  GetSecretValueCommand,
  PutSecretValueCommand,
} from '@aws-sdk/client-secrets-manager';
import { AwsDeniedError, InternalError } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import { CLUSTER_TAG_PREFIX, KBOOT_CLUSTER_TAG } from '../../domain/identity/tags.js';
import { JoinMaterialMissingError } from '../../domain/join/errors.js';
import { pkiSecretId } from '../../domain/join/secret-ids.js';
import type { PublishedSecret, PublishOptions } from '../../domain/join/store.js';
import { type PkiBundle, parsePkiBundle, serializePkiBundle } from '../../domain/pki/bundle.js';
import type { PkiSecretStore } from '../../domain/pki/store.js';
import { awsErrorName, classifyAwsError } from './errors.js';
import type { SecretsManagerSource } from './secrets-join-material.js';

export interface SecretsPkiStoreSettings {
  clients: SecretsManagerSource;
  logger: Logger;
  signal?: AbortSignal;
}

export class SecretsPkiStore implements PkiSecretStore {
  readonly #settings: SecretsPkiStoreSettings;

  constructor(settings: SecretsPkiStoreSettings) {
    this.#settings = settings;
  }

  async write(cluster: string, bundle: PkiBundle, options: PublishOptions = {}): Promise<PublishedSecret> {
    const secretId = pkiSecretId(cluster);
    const text = serializePkiBundle(bundle).reveal();
    const put = async (): Promise<PublishedSecret> => {
      const output = await this.#send<{ VersionId?: string }>(
        new PutSecretValueCommand({ SecretId: secretId, SecretString: text }),
        `writing a new version of secret ${secretId}`,
        `secretsmanager:PutSecretValue on secret ${secretId}`,
        true,
      );
      this.#settings.logger.debug({ secretId, versionId: output.VersionId }, 'put a new secret version');
      return { secretId, versionId: output.VersionId, created: false };
    };
    try {
      return await put();
    } catch (error) {
      if (awsErrorName(error) !== 'ResourceNotFoundException') throw error;
    }
    try {
      const output = await this.#send<{ VersionId?: string }>(
        new CreateSecretCommand({
          Name: secretId,
          Description: `kboot: the CAs and service-account keys of cluster ${cluster} (for restoring it)`,
          SecretString: text,
          KmsKeyId: options.kmsKeyId,
          Tags: [
            { Key: `${CLUSTER_TAG_PREFIX}${cluster}`, Value: 'owned' },
            { Key: KBOOT_CLUSTER_TAG, Value: cluster },
          ],
        }),
        `creating secret ${secretId}`,
        `secretsmanager:CreateSecret and secretsmanager:TagResource on secret ${secretId}`,
        true,
      );
      this.#settings.logger.debug({ secretId, versionId: output.VersionId }, 'created secret');
      return { secretId, versionId: output.VersionId, created: true };
    } catch (error) {
      if (awsErrorName(error) !== 'ResourceExistsException') throw error;
    }
    return put();
  }

  async read(cluster: string, versionId?: string): Promise<PkiBundle> {
    const secretId = pkiSecretId(cluster);
    let output: { SecretString?: string };
    try {
      output = await this.#send(
        new GetSecretValueCommand(
          versionId === undefined
            ? { SecretId: secretId, VersionStage: 'AWSCURRENT' }
            : { SecretId: secretId, VersionId: versionId },
        ),
        `reading secret ${secretId}`,
        `secretsmanager:GetSecretValue on secret ${secretId}`,
        true,
      );
    } catch (error) {
      if (awsErrorName(error) === 'ResourceNotFoundException') {
        throw new JoinMaterialMissingError(
          cluster,
          secretId,
          (await this.#region()) ?? 'the configured region',
        );
      }
      if (awsErrorName(error) === 'DecryptionFailure') {
        throw new AwsDeniedError(`AWS could not decrypt secret ${secretId} with its KMS key`, {
          cause: error,
          hint: "grant kms:Decrypt on the secret's KMS key to the control-plane role (see 'kboot iam-policy')",
          details: { secretId },
        });
      }
      throw error;
    }
    return parsePkiBundle(output.SecretString ?? '', `secret ${secretId}`);
  }

  async #region(): Promise<string | undefined> {
    const { region } = this.#settings.clients;
    if (region !== undefined) return region;
    try {
      return await (await this.#settings.clients.secretsManager()).config.region();
    } catch {
      return undefined;
    }
  }

  /** One call; AWS's failures become kboot's classes, except those the caller handles itself (`passThrough`). */
  async #send<T>(command: unknown, doing: string, permission: string, passThrough: boolean): Promise<T> {
    const client = await this.#settings.clients.secretsManager();
    const send = client.send.bind(client) as (command: unknown, options: unknown) => Promise<T>;
    try {
      return await send(command, { abortSignal: this.#settings.signal });
    } catch (error) {
      const name = awsErrorName(error);
      if (
        passThrough &&
        (name === 'ResourceNotFoundException' ||
          name === 'ResourceExistsException' ||
          name === 'DecryptionFailure')
      )
        throw error;
      if (name === 'ResourceNotFoundException') throw error;
      throw (
        classifyAwsError(error, doing, permission) ??
        new InternalError(`AWS rejected ${doing}: ${name ?? 'error'}`, {
          cause: error,
          hint: 'rerun with --log-level debug and report the output if it persists',
        })
      );
    }
  }
}
