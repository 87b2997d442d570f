/**
 * Join material in AWS Secrets Manager (DESIGN.md "Join material"): the JoinMaterialStore port
 * over three secrets per cluster, `kboot/<cluster>/{join,control-plane,admin.conf}`.
 * - publish: PutSecretValue (one call once the secret exists: a new AWSCURRENT version, which
 *   readers see atomically); on ResourceNotFound, CreateSecret with the cluster's tags and KMS
 *   key; when another master created it meanwhile (ResourceExists), PutSecretValue again.
 * - read: one GetSecretValue per secret, naming the VersionId the cluster record recorded under
 *   the fence (join material a holder that lost its lease wrote is never read), or, for a record
 *   that names none, VersionStage AWSCURRENT.
 * Secret values go to the SDK and nowhere else: logs and errors carry secret ids only.
 */

import {
  CreateSecretCommand,
  GetSecretValueCommand,
  PutSecretValueCommand,
  type SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { AwsDeniedError, InternalError, StateConflictError } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import { Secret } from '../../core/secrets.js';
import { CLUSTER_TAG_PREFIX, KBOOT_CLUSTER_TAG } from '../../domain/identity/tags.js';
import { JoinMaterialMissingError } from '../../domain/join/errors.js';
import {
  type ControlPlaneSecret,
  type JoinMaterialUpdate,
  type JoinSecret,
  parseControlPlaneSecret,
  parseJoinSecret,
  serializeControlPlaneSecret,
  serializeJoinSecret,
} from '../../domain/join/material.js';
import { adminConfSecretId, controlPlaneSecretId, joinSecretId } from '../../domain/join/secret-ids.js';
import type { JoinMaterialStore, PublishedSecret, PublishOptions } from '../../domain/join/store.js';
import { awsErrorName, classifyAwsError } from './errors.js';

/** What the store needs from AwsClients. */
export interface SecretsManagerSource {
  /** Undefined when the SDK resolves it (AWS_REGION, the profile). */
  readonly region: string | undefined;
  secretsManager(): Promise<SecretsManagerClient>;
}

export interface SecretsJoinMaterialStoreSettings {
  clients: SecretsManagerSource;
  logger: Logger;
  /** Aborts calls in flight (SIGINT/SIGTERM). */
  signal?: AbortSignal;
}

export interface SecretWrite {
  secretId: string;
  text: string;
  description: string;
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function isScheduledForDeletion(error: unknown): boolean {
  return (
    awsErrorName(error) === 'InvalidRequestException' && /marked (for )?delet/i.test(errorMessage(error))
  );
}

export class SecretsJoinMaterialStore implements JoinMaterialStore {
  readonly #clients: SecretsManagerSource;
  readonly #logger: Logger;
  readonly #signal: AbortSignal | undefined;

  constructor(settings: SecretsJoinMaterialStoreSettings) {
    this.#clients = settings.clients;
    this.#logger = settings.logger;
    this.#signal = settings.signal;
  }

  async publish(
    cluster: string,
    material: JoinMaterialUpdate,
    options: PublishOptions = {},
  ): Promise<PublishedSecret[]> {
    // Serialize (and so validate) everything before writing anything.
    const writes: SecretWrite[] = [];
    if (material.controlPlane !== undefined) {
      writes.push({
        secretId: controlPlaneSecretId(cluster),
        text: serializeControlPlaneSecret(material.controlPlane),
        description: `kboot: certificate key for new control-plane nodes of cluster ${cluster}`,
      });
    }
    if (material.adminConf !== undefined) {
      writes.push({
        secretId: adminConfSecretId(cluster),
        text: material.adminConf.reveal(),
        description: `kboot: admin kubeconfig of cluster ${cluster}`,
      });
    }
    if (material.join !== undefined) {
      writes.push({
        secretId: joinSecretId(cluster),
        text: serializeJoinSecret(material.join),
        description: `kboot: API endpoint, bootstrap token and CA hashes to join cluster ${cluster}`,
      });
    }
    const published: PublishedSecret[] = [];
    for (const write of writes) published.push(await this.#publishOne(cluster, write, options.kmsKeyId));
    return published;
  }

  async readJoin(cluster: string, versionId?: string): Promise<JoinSecret> {
    const secretId = joinSecretId(cluster);
    return parseJoinSecret(await this.#read(cluster, secretId, versionId), `secret ${secretId}`);
  }

  async readControlPlane(cluster: string, versionId?: string): Promise<ControlPlaneSecret> {
    const secretId = controlPlaneSecretId(cluster);
    return parseControlPlaneSecret(await this.#read(cluster, secretId, versionId), `secret ${secretId}`);
  }

  async readAdminConf(cluster: string, versionId?: string): Promise<Secret<string>> {
    return new Secret(await this.#read(cluster, adminConfSecretId(cluster), versionId));
  }

  async #send<T>(command: unknown): Promise<T> {
    const client = await this.#clients.secretsManager();
    const send = client.send.bind(client) as (command: unknown, options: unknown) => Promise<T>;
    return send(command, { abortSignal: this.#signal });
  }

  /** The region calls go to, for messages. */
  async #region(): Promise<string> {
    if (this.#clients.region !== undefined) return this.#clients.region;
    try {
      return await (await this.#clients.secretsManager()).config.region();
    } catch {
      return 'the configured region';
    }
  }

  /** Another of the cluster's secrets (the PKI): a new AWSCURRENT version, or the secret made with the cluster's tags and key. */
  publishSecret(cluster: string, write: SecretWrite, kmsKeyId: string | undefined): Promise<PublishedSecret> {
    return this.#publishOne(cluster, write, kmsKeyId);
  }

  /** Another of the cluster's secrets as text: the version given, else AWSCURRENT; missing, deleted or undecryptable named. */
  readSecret(cluster: string, secretId: string, versionId: string | undefined): Promise<string> {
    return this.#read(cluster, secretId, versionId);
  }

  async #read(cluster: string, secretId: string, versionId: string | undefined): Promise<string> {
    let secretString: string | undefined;
    try {
      const output = await this.#send<{ SecretString?: string; VersionId?: string }>(
        new GetSecretValueCommand(
          versionId === undefined
            ? { SecretId: secretId, VersionStage: 'AWSCURRENT' }
            : { SecretId: secretId, VersionId: versionId },
        ),
      );
      this.#logger.debug({ secretId, versionId: output.VersionId }, 'read secret');
      secretString = output.SecretString;
    } catch (error) {
      if (awsErrorName(error) === 'ResourceNotFoundException') {
        throw new JoinMaterialMissingError(cluster, secretId, await this.#region(), 'missing');
      }
      if (isScheduledForDeletion(error)) {
        throw new JoinMaterialMissingError(cluster, secretId, await this.#region(), 'deleted');
      }
      if (awsErrorName(error) === 'DecryptionFailure') {
        throw new AwsDeniedError(`AWS could not decrypt secret ${secretId} with its KMS key`, {
          cause: error,
          hint: `grant kms:Decrypt on the secret's KMS key to the instance role or the credentials in use (see 'kboot iam-policy')`,
          details: { secretId },
        });
      }
      throw this.#failure(
        error,
        `reading secret ${secretId}`,
        `secretsmanager:GetSecretValue on secret ${secretId}`,
      );
    }
    if (secretString === undefined) {
      throw new StateConflictError(`secret ${secretId} holds binary data, not the text kboot writes`, {
        hint: "republish it from a control-plane node with 'kboot rotate', or check who else writes this secret",
        details: { secretId },
      });
    }
    return secretString;
  }

  async #publishOne(
    cluster: string,
    write: SecretWrite,
    kmsKeyId: string | undefined,
  ): Promise<PublishedSecret> {
    const { secretId } = write;
    try {
      return await this.#putVersion(write);
    } catch (error) {
      if (awsErrorName(error) !== 'ResourceNotFoundException') throw error;
    }
    try {
      const output = await this.#send<{ VersionId?: string }>(
        new CreateSecretCommand({
          Name: secretId,
          Description: write.description,
          SecretString: write.text,
          KmsKeyId: kmsKeyId,
          Tags: [
            { Key: `${CLUSTER_TAG_PREFIX}${cluster}`, Value: 'owned' },
            { Key: KBOOT_CLUSTER_TAG, Value: cluster },
          ],
        }),
      );
      this.#logger.debug({ secretId, versionId: output.VersionId, kmsKeyId }, 'created secret');
      return { secretId, versionId: output.VersionId, created: true };
    } catch (error) {
      if (awsErrorName(error) !== 'ResourceExistsException') {
        throw this.#publishFailure(
          error,
          secretId,
          `creating secret ${secretId}`,
          `secretsmanager:CreateSecret and secretsmanager:TagResource on secret ${secretId}${kmsKeyId === undefined ? '' : ` and kms:GenerateDataKey on key ${kmsKeyId}`}`,
        );
      }
      this.#logger.debug({ secretId }, 'secret was created concurrently; adding a version instead');
    }
    return this.#putVersion(write);
  }

  /** A new AWSCURRENT version; rethrows ResourceNotFoundException unchanged for the caller. */
  async #putVersion(write: SecretWrite): Promise<PublishedSecret> {
    const { secretId } = write;
    try {
      const output = await this.#send<{ VersionId?: string }>(
        new PutSecretValueCommand({ SecretId: secretId, SecretString: write.text }),
      );
      this.#logger.debug({ secretId, versionId: output.VersionId }, 'put a new secret version');
      return { secretId, versionId: output.VersionId, created: false };
    } catch (error) {
      if (awsErrorName(error) === 'ResourceNotFoundException') throw error;
      throw this.#publishFailure(
        error,
        secretId,
        `writing a new version of secret ${secretId}`,
        `secretsmanager:PutSecretValue on secret ${secretId}`,
      );
    }
  }

  #publishFailure(error: unknown, secretId: string, doing: string, permission: string): Error {
    if (isScheduledForDeletion(error)) {
      return new StateConflictError(
        `secret ${secretId} is scheduled for deletion, so kboot cannot write it`,
        {
          cause: error,
          hint: `restore it (aws secretsmanager restore-secret --secret-id ${secretId}) or delete it for good (aws secretsmanager delete-secret --force-delete-without-recovery --secret-id ${secretId})`,
          details: { secretId },
        },
      );
    }
    return this.#failure(error, doing, permission);
  }

  /** AWS's class of failure when it has one; otherwise what AWS said, with the secret id. */
  #failure(error: unknown, doing: string, permission: string): Error {
    return (
      classifyAwsError(error, doing, permission) ??
      new InternalError(`AWS rejected ${doing}: ${awsErrorName(error) ?? 'error'}: ${errorMessage(error)}`, {
        cause: error,
        hint: 'rerun with --log-level debug and report the output if it persists',
      })
    );
  }
}
