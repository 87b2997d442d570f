/**
 * The join material as rotate finds it: present, missing, unreadable, or (the join secret) with
 * CA hashes that do not match this master's ca.crt — all but present: renew it.
 */

import { StateConflictError } from '../../../core/errors.js';
import { JoinMaterialMissingError } from '../../join/errors.js';
import type { ControlPlaneSecret, JoinMaterialUpdate, JoinSecret } from '../../join/material.js';
import { controlPlaneSecretId, joinSecretId } from '../../join/secret-ids.js';
import { publishedVersions } from '../../join/store.js';
import { caCertHash } from '../../kubeadm/ca-hash.js';
import { CA_CERT_PATH } from '../paths.js';
import type { CurrentExpiry } from '../rotate-plan.js';
import { publishOptions, type Rotation } from './rotation.js';

/** The parse error of a secret written by a newer kboot: never overwritten by this one. */
const NEWER_SCHEMA = /newer than this kboot/;

export type Current<T> =
  | { state: 'present'; value: T }
  | { state: 'missing' }
  | { state: 'unreadable' }
  | { state: 'ca-mismatch' };

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
  // The versions the record names (published under a fence), not whatever AWSCURRENT is now.
  const versions = rotation.record.joinMaterial?.versions;
  const [join, controlPlane] = await Promise.all([
    readCurrent(rotation, joinSecretId(cluster), () => store.readJoin(cluster, versions?.join)),
    readCurrent(rotation, controlPlaneSecretId(cluster), () =>
      store.readControlPlane(cluster, versions?.controlPlane),
    ),
  ]);
  return { join: await checkCaHash(rotation, join), controlPlane };
}

/**
 * A join secret whose CA hashes miss this master's ca.crt (published by a holder that lost its
 * lease, or by hand) would make every joiner refuse the API server: rotate republishes it, rebuilt
 * from the record and ca.crt. Without a ca.crt here, there is nothing to compare with.
 */
async function checkCaHash(rotation: Rotation, join: Current<JoinSecret>): Promise<Current<JoinSecret>> {
  if (join.state !== 'present') return join;
  const caPem = await rotation.deps.fs.readText(CA_CERT_PATH);
  if (caPem === undefined) return join;
  const hash = caCertHash(caPem, CA_CERT_PATH);
  if (join.value.caCertHashes.includes(hash)) return join;
  rotation.deps.logger.warn(
    { secretId: joinSecretId(rotation.cluster), caCertHash: hash, published: join.value.caCertHashes },
    "the join secret's CA hash does not match this master's ca.crt; kboot rotate republishes it",
  );
  return { state: 'ca-mismatch' };
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

/** Publishes new versions; their ids go into the stamp the run records under its lease. */
export async function publish(rotation: Rotation, update: JoinMaterialUpdate): Promise<void> {
  const published = await rotation.store.publish(rotation.cluster, update, publishOptions(rotation.record));
  Object.assign(rotation.published, publishedVersions(rotation.cluster, published));
}
