import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  irsaIssuerUrl,
  OIDC_DISCOVERY_KEY,
  OIDC_JWKS_KEY,
  resolveIrsa,
  serviceAccountIssuer,
} from '../../../../src/domain/irsa/issuer.js';

describe('IRSA issuer', () => {
  const urls: [string, string, string][] = [
    ['eu-west-1', 'kboot-oidc', 'https://kboot-oidc.s3.eu-west-1.amazonaws.com'],
    // us-east-1 too takes the regional form (a valid S3 endpoint), not the legacy global one
    ['us-east-1', 'prod-irsa', 'https://prod-irsa.s3.us-east-1.amazonaws.com'],
    ['us-gov-west-1', 'gov-oidc', 'https://gov-oidc.s3.us-gov-west-1.amazonaws.com'],
    ['cn-north-1', 'cn-oidc', 'https://cn-oidc.s3.cn-north-1.amazonaws.com.cn'],
  ];
  for (const [region, bucket, expected] of urls) {
    it(`is ${expected} for bucket ${bucket} in ${region}`, () => {
      assert.equal(irsaIssuerUrl(bucket, region), expected);
    });
  }

  it('keeps the paths kube-apiserver serves the documents at', () => {
    assert.equal(OIDC_DISCOVERY_KEY, '.well-known/openid-configuration');
    assert.equal(OIDC_JWKS_KEY, 'openid/v1/jwks');
  });

  it("takes the cluster's region unless the bucket's is given", () => {
    assert.equal(
      resolveIrsa({ bucket: 'b-1' }, 'eu-central-1').issuer,
      'https://b-1.s3.eu-central-1.amazonaws.com',
    );
    const elsewhere = resolveIrsa({ bucket: 'b-1', region: 'us-west-2' }, 'eu-central-1');
    assert.equal(elsewhere.region, 'us-west-2');
    assert.equal(elsewhere.issuer, 'https://b-1.s3.us-west-2.amazonaws.com');
  });

  it('gives the API server the issuer, the JWKS URI under it, and the issuer first among audiences', () => {
    const irsa = resolveIrsa(
      { bucket: 'oidc', audiences: ['https://kubernetes.default.svc', 'oidc-x'] },
      'eu-west-1',
    );
    assert.deepEqual(serviceAccountIssuer(irsa), {
      issuer: 'https://oidc.s3.eu-west-1.amazonaws.com',
      jwksUri: 'https://oidc.s3.eu-west-1.amazonaws.com/openid/v1/jwks',
      apiAudiences: ['https://oidc.s3.eu-west-1.amazonaws.com', 'https://kubernetes.default.svc', 'oidc-x'],
    });
    assert.deepEqual(resolveIrsa({ bucket: 'oidc' }, 'eu-west-1').apiAudiences, [
      'https://oidc.s3.eu-west-1.amazonaws.com',
    ]);
  });
});
