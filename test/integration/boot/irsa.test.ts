/**
 * IRSA end to end through the built binary: a first master with `addons.irsa` boots, publishes the
 * OIDC discovery document and JWKS of the cluster's service account key to the bucket in moto, and
 * gives kubeadm the same issuer; a token signed with sa.key as the API server signs it verifies
 * against the JWKS fetched from S3 (jose). A missing bucket fails the `irsa` step cleanly (reset,
 * failure recorded, lease released, exit 7, the bucket named), and a re-run after creating the
 * bucket succeeds.
 */

import assert from 'node:assert/strict';
import { createPrivateKey, generateKeyPairSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import {
  CreateBucketCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutBucketPolicyCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { createLocalJWKSet, decodeProtectedHeader, type JSONWebKeySet, jwtVerify, SignJWT } from 'jose';
import { parseAllDocuments } from 'yaml';
import { clientConfig, testDynamo } from '../../support/aws.js';
import { useBootSuite } from '../../support/boot-suite.js';
import type { SimCluster, SimInstance } from '../../support/cluster-sim.js';

const BUCKET = 'sim-oidc';
const ISSUER = `https://${BUCKET}.s3.us-east-1.amazonaws.com`;
const NODE_CONFIG = `apiEndpoint: api.example.com\naddons: { irsa: { bucket: ${BUCKET} } }\n`;

interface StoredObject {
  contentType: string | undefined;
  body: string;
}

describe('IRSA: OIDC documents for the service account issuer', () => {
  const boot = useBootSuite();
  const moto = boot.moto;
  let s3: S3Client;

  before(() => {
    s3 = new S3Client({ ...clientConfig(moto), forcePathStyle: true });
  });
  after(() => s3.destroy());

  function cluster(name: string, env: Record<string, string> = {}): Promise<SimCluster> {
    return boot.cluster({ name, nodeConfig: NODE_CONFIG, env });
  }

  /** The bucket, with the policy docs/nodes.md "IRSA" gives: anyone may read the two documents. */
  async function createBucket(): Promise<void> {
    await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
    const policy = {
      Version: '2012-10-17',
      Statement: [
        {
          Sid: 'PublicReadOidcDocuments',
          Effect: 'Allow',
          Principal: '*',
          Action: 's3:GetObject',
          Resource: [
            `arn:aws:s3:::${BUCKET}/.well-known/openid-configuration`,
            `arn:aws:s3:::${BUCKET}/openid/v1/jwks`,
          ],
        },
      ],
    };
    await s3.send(new PutBucketPolicyCommand({ Bucket: BUCKET, Policy: JSON.stringify(policy) }));
  }

  async function getObject(key: string): Promise<StoredObject> {
    const out = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
    return { contentType: out.ContentType, body: (await out.Body?.transformToString()) ?? '' };
  }

  async function readItem(name: string, sk: string): Promise<Record<string, unknown> | undefined> {
    const dynamodb = testDynamo(moto);
    try {
      const out = await dynamodb.send(
        new GetItemCommand({
          TableName: 'kboot',
          Key: { pk: { S: `cluster#${name}` }, sk: { S: sk } },
          ConsistentRead: true,
        }),
      );
      return out.Item === undefined ? undefined : unmarshall(out.Item);
    } finally {
      dynamodb.destroy();
    }
  }

  /** The API server's extraArgs in the ClusterConfiguration kubeadm init was given (v1beta4: a list). */
  function apiServerArgs(sim: SimCluster): Record<string, string> {
    const init = sim.invocations().find((i) => i.command === 'init' && i.exitCode === 0);
    assert.ok(init?.config, 'kubeadm init ran with a config');
    const clusterConfig = parseAllDocuments(init.config.text)
      .map(
        (doc) =>
          doc.toJS() as { kind?: string; apiServer?: { extraArgs?: { name: string; value: string }[] } },
      )
      .find((doc) => doc?.kind === 'ClusterConfiguration');
    return Object.fromEntries(
      (clusterConfig?.apiServer?.extraArgs ?? []).map((arg) => [arg.name, arg.value]),
    );
  }

  /** A service account token as kube-apiserver signs it: sa.key, the JWKS kid, the issuer. */
  async function serviceAccountToken(master: SimInstance, alg: string, kid: string): Promise<string> {
    const saKey = readFileSync(path.join(master.root, 'etc/kubernetes/pki/sa.key'), 'utf8');
    return new SignJWT({ 'kubernetes.io': { namespace: 'default', serviceaccount: { name: 'app' } } })
      .setProtectedHeader({ alg, kid, typ: 'JWT' })
      .setIssuer(ISSUER)
      .setAudience('sts.amazonaws.com')
      .setSubject('system:serviceaccount:default:app')
      .setIssuedAt()
      .setExpirationTime('1h')
      .sign(createPrivateKey(saKey));
  }

  const keyTypes = [
    // real kubeadm's default service account key; the fake's default is ECDSA-P256 (faster)
    { algorithm: 'RSA-2048', alg: 'RS256', kty: 'RSA' },
    { algorithm: 'ECDSA-P256', alg: 'ES256', kty: 'EC' },
  ];
  for (const { algorithm, alg, kty } of keyTypes) {
    it(`publishes the documents of a ${algorithm} service account key; an ${alg} token verifies against them`, async () => {
      await createBucket();
      const sim = await cluster(`irsa-${kty.toLowerCase()}`, { FAKE_KUBEADM_KEY_ALGORITHM: algorithm });
      const master = await sim.addInstance('control-plane');
      const result = await sim.run(master, ['bootstrap-master', '--output', 'json']);
      assert.equal(result.exitCode, 0, result.stderr.slice(-2000));
      assert.equal(JSON.parse(result.stdout).outcome, 'initialized');

      const discoveryObject = await getObject('.well-known/openid-configuration');
      const jwksObject = await getObject('openid/v1/jwks');
      assert.equal(discoveryObject.contentType, 'application/json');
      assert.equal(jwksObject.contentType, 'application/json');
      const discovery = JSON.parse(discoveryObject.body) as Record<string, unknown>;
      assert.deepEqual(discovery, {
        issuer: ISSUER,
        jwks_uri: `${ISSUER}/openid/v1/jwks`,
        response_types_supported: ['id_token'],
        subject_types_supported: ['public'],
        id_token_signing_alg_values_supported: [alg],
      });

      // The issuer kubeadm gave the API server is the one published.
      const args = apiServerArgs(sim);
      assert.equal(args['service-account-issuer'], discovery.issuer);
      assert.equal(args['service-account-jwks-uri'], discovery.jwks_uri);
      assert.equal(args['api-audiences'], ISSUER);

      // Fetched from moto's S3 over plain HTTP, as a relying party fetches it.
      const fetched = await fetch(`${moto.endpoint}/${BUCKET}/openid/v1/jwks`);
      assert.equal(fetched.status, 200);
      const jwks = (await fetched.json()) as JSONWebKeySet;
      assert.equal(jwks.keys.length, 1);
      const jwk = jwks.keys[0];
      assert.equal(jwk?.kty, kty);
      assert.equal(jwk?.alg, alg);
      assert.equal(jwk?.use, 'sig');
      const kid = jwk?.kid as string;
      assert.match(kid, /^[A-Za-z0-9_-]{43}$/, 'base64url SHA-256');

      const token = await serviceAccountToken(master, alg, kid);
      assert.equal(decodeProtectedHeader(token).kid, kid);
      const { payload } = await jwtVerify(token, createLocalJWKSet(jwks), {
        issuer: ISSUER,
        audience: 'sts.amazonaws.com',
        algorithms: [alg],
      });
      assert.equal(payload.sub, 'system:serviceaccount:default:app');

      // The same claims and kid signed with another key, or for another audience, do not verify.
      const forged = await new SignJWT({})
        .setProtectedHeader({ alg, kid })
        .setIssuer(ISSUER)
        .setAudience('sts.amazonaws.com')
        .setSubject('system:serviceaccount:default:app')
        .setExpirationTime('1h')
        .sign(
          kty === 'RSA'
            ? generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey
            : generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey,
        );
      await assert.rejects(
        jwtVerify(forged, createLocalJWKSet(jwks), { issuer: ISSUER, audience: 'sts.amazonaws.com' }),
        /signature verification failed/,
      );
      await assert.rejects(
        jwtVerify(token, createLocalJWKSet(jwks), { issuer: ISSUER, audience: 'other' }),
        /unexpected "aud" claim value/,
      );
      const record = await readItem(sim.name, 'meta');
      assert.equal((record?.initialized as { by?: string } | undefined)?.by, master.instanceId);
    });
  }

  it('leaves the cluster uninitialized when the bucket is missing; a re-run after creating it succeeds', async () => {
    const sim = await cluster('irsa-missing');
    const master = await sim.addInstance('control-plane');
    const failed = await sim.run(master, ['bootstrap-master']);
    assert.equal(failed.exitCode, 7, failed.stderr.slice(-2000));
    assert.match(failed.error?.msg ?? '', /failed at irsa: S3 bucket sim-oidc does not exist/);
    assert.match(failed.error?.hint ?? '', /create bucket sim-oidc/);
    assert.ok(
      sim.invocations().some((i) => i.command === 'reset'),
      'kubeadm reset ran',
    );
    const lock = await readItem(sim.name, 'lock#bootstrap');
    assert.equal(lock?.owner, undefined, 'the lease was released');
    const record = await readItem(sim.name, 'meta');
    assert.equal(record?.initialized, undefined);
    const lastFailure = record?.lastFailure as { step: string; message: string } | undefined;
    assert.equal(lastFailure?.step, 'irsa');
    assert.match(lastFailure?.message ?? '', /sim-oidc/);

    await createBucket();
    const retry = await sim.run(master, ['bootstrap-master', '--output', 'json']);
    assert.equal(retry.exitCode, 0, retry.stderr.slice(-2000));
    assert.equal(JSON.parse(retry.stdout).outcome, 'initialized');
    const listed = await s3.send(new ListObjectsV2Command({ Bucket: BUCKET }));
    assert.deepEqual((listed.Contents ?? []).map((object) => object.Key).sort(), [
      '.well-known/openid-configuration',
      'openid/v1/jwks',
    ]);
    const discovery = JSON.parse((await getObject('.well-known/openid-configuration')).body);
    assert.equal(discovery.issuer, apiServerArgs(sim)['service-account-issuer']);
  });
});
