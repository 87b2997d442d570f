/**
 * The NodeLeaveStore port over Secrets Manager: `kboot/<cluster>/node-leave`, read with
 * GetSecretValue (AWSCURRENT), published with PutSecretValue, or CreateSecret (tagged for the
 * cluster, with its KMS key) when it does not exist yet. The value goes to the SDK only.
 */

import {
  CreateSecretCommand,
  GetSecretValueCommand,
  PutSecretValueCommand,
  type SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { InternalError } from '../../core/errors.js';
import { CLUSTER_TAG_PREFIX, KBOOT_CLUSTER_TAG } from '../../domain/identity/tags.js';
import { nodeLeaveSecretId } from '../../domain/join/secret-ids.js';
import {
  type NodeLeaveSecret,
  parseNodeLeaveSecret,
  serializeNodeLeaveSecret,
} from '../../domain/leave/node-leave-credential.js';
import type { NodeLeaveStore } from '../../domain/leave/node-leave-store.js';
import { awsErrorName, classifyAwsError } from './errors.js';

function failure(error: unknown, doing: string, permission: string): Error {
  const message = error instanceof Error ? error.message : String(error);
  return (
    classifyAwsError(error, doing, permission) ??
    new InternalError(`AWS rejected ${doing}: ${awsErrorName(error) ?? 'error'}: ${message}`, {
      cause: error,
      hint: 'rerun with --log-level debug and report the output if it persists',
    })
  );
}

export class SecretsNodeLeaveStore implements NodeLeaveStore {
  readonly #client: SecretsManagerClient;
  readonly #signal: AbortSignal | undefined;

  constructor(client: SecretsManagerClient, signal?: AbortSignal) {
    this.#client = client;
    this.#signal = signal;
  }

  async read(cluster: string): Promise<NodeLeaveSecret | undefined> {
    const secretId = nodeLeaveSecretId(cluster);
    let text: string | undefined;
    try {
      const out = await this.#client.send(
        new GetSecretValueCommand({ SecretId: secretId, VersionStage: 'AWSCURRENT' }),
        { abortSignal: this.#signal },
      );
      text = out.SecretString;
    } catch (error) {
      if (awsErrorName(error) === 'ResourceNotFoundException') return undefined;
      throw failure(
        error,
        `reading secret ${secretId}`,
        `secretsmanager:GetSecretValue on secret ${secretId}`,
      );
    }
    return text === undefined ? undefined : parseNodeLeaveSecret(text, `secret ${secretId}`);
  }

  async publish(
    cluster: string,
    secret: NodeLeaveSecret,
    options: { kmsKeyId?: string } = {},
  ): Promise<void> {
    const secretId = nodeLeaveSecretId(cluster);
    const text = serializeNodeLeaveSecret(secret);
    try {
      await this.#client.send(new PutSecretValueCommand({ SecretId: secretId, SecretString: text }), {
        abortSignal: this.#signal,
      });
      return;
    } catch (error) {
      if (awsErrorName(error) !== 'ResourceNotFoundException') {
        throw failure(
          error,
          `writing secret ${secretId}`,
          `secretsmanager:PutSecretValue on secret ${secretId}`,
        );
      }
    }
    try {
      await this.#client.send(
        new CreateSecretCommand({
          Name: secretId,
          Description: `kboot: least-privilege kubeconfig for nodes of cluster ${cluster} to drain and delete themselves`,
          SecretString: text,
          KmsKeyId: options.kmsKeyId,
          Tags: [
            { Key: `${CLUSTER_TAG_PREFIX}${cluster}`, Value: 'owned' },
            { Key: KBOOT_CLUSTER_TAG, Value: cluster },
          ],
        }),
        { abortSignal: this.#signal },
      );
    } catch (error) {
      if (awsErrorName(error) !== 'ResourceExistsException') {
        throw failure(
          error,
          `creating secret ${secretId}`,
          `secretsmanager:CreateSecret and secretsmanager:TagResource on secret ${secretId}`,
        );
      }
      await this.#client.send(new PutSecretValueCommand({ SecretId: secretId, SecretString: text }), {
        abortSignal: this.#signal,
      });
    }
  }
}
