/** The join material as rotate finds it: present, missing or unreadable (both: renew it). */

import { StateConflictError } from '../../../core/errors.js';
import { JoinMaterialMissingError } from '../../join/errors.js';
import type { ControlPlaneSecret, JoinMaterialUpdate, JoinSecret } from '../../join/material.js';
import { controlPlaneSecretId, joinSecretId } from '../../join/secret-ids.js';
import type { CurrentExpiry } from '../rotate-plan.js';
import { publishOptions, type Rotation } from './rotation.js';

/** The parse error of a secret written by a newer kboot: never overwritten by this one. */
const NEWER_SCHEMA = /newer than this kboot/;

export type Current<T> = { state: 'present'; value: T } | { state: 'missing' } | { state: 'unreadable' };

export interface CurrentMaterial {
  join: Current<JoinSecret>;
  controlPlane: Current<ControlPlaneSecret>;
}

/** Reads a secret; a missing or malformed one is something to renew, not a failure. */
async function readCurrent<T>(
  rotation: Rotation,
  secretId: string,
  read: () => Promise<T>,
): Promise<Current<T>> {
  try {
    return { state: 'present', value: await read() };
  } catch (error) {
    if (error instanceof JoinMaterialMissingError) {
      rotation.deps.logger.warn({ secretId }, 'the secret does not exist; kboot rotate publishes it');
      return { state: 'missing' };
    }
    if (error instanceof StateConflictError && !NEWER_SCHEMA.test(error.message)) {
      rotation.deps.logger.warn(
        { secretId, problem: error.message },
        'the secret is unreadable; kboot rotate replaces it',
      );
      return { state: 'unreadable' };
    }
    throw error;
  }
}

export async function readCurrentMaterial(rotation: Rotation): Promise<CurrentMaterial> {
  const { store, cluster } = rotation;
  const [join, controlPlane] = await Promise.all([
    readCurrent(rotation, joinSecretId(cluster), () => store.readJoin(cluster)),
    readCurrent(rotation, controlPlaneSecretId(cluster), () => store.readControlPlane(cluster)),
  ]);
  return { join, controlPlane };
}

function expiryOf<T>(material: Current<T>, expiresAt: (value: T) => string): CurrentExpiry {
  return material.state === 'present'
    ? { state: 'present', expiresAtMs: Date.parse(expiresAt(material.value)) }
    : { state: material.state };
}

export function expiries(current: CurrentMaterial): { token: CurrentExpiry; certificateKey: CurrentExpiry } {
  return {
    token: expiryOf(current.join, (join) => join.tokenExpiresAt),
    certificateKey: expiryOf(current.controlPlane, (controlPlane) => controlPlane.certificateKeyExpiresAt),
  };
}

export async function publish(rotation: Rotation, update: JoinMaterialUpdate): Promise<void> {
  await rotation.store.publish(rotation.cluster, update, publishOptions(rotation.record));
}
