/**
 * Where a cluster's service account tokens say they come from, for IAM Roles for Service Accounts:
 * the issuer is the HTTPS base of an S3 bucket, `https://<bucket>.s3.<region>.amazonaws.com`
 * (`.amazonaws.com.cn` in China), where the first master publishes the OIDC discovery document and
 * the JWKS under the paths the API server serves them at itself. Pure.
 */

import type { ServiceAccountIssuerInput } from '../kubeadm/types.js';

/** The object keys, relative to the issuer: the same paths kube-apiserver serves. */
export const OIDC_DISCOVERY_KEY = '.well-known/openid-configuration';
export const OIDC_JWKS_KEY = 'openid/v1/jwks';
export const OIDC_OBJECT_KEYS = [OIDC_DISCOVERY_KEY, OIDC_JWKS_KEY] as const;

/** The audience AWS STS expects in a web identity token (the IAM OIDC provider's client id). */
export const STS_AUDIENCE = 'sts.amazonaws.com';

/**
 * An S3 bucket name usable in a virtual-hosted HTTPS URL: 3 to 63 lowercase letters, digits and
 * hyphens, starting and ending with a letter or digit. No dots: S3's certificate covers
 * `*.s3.<region>.amazonaws.com`, one label only, so IAM could not fetch from a dotted bucket.
 */
export const IRSA_BUCKET_PATTERN = /^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/;
export const AWS_REGION_PATTERN = /^[a-z]{2}(-[a-z]+)+-\d{1,2}$/;

/** What the node config's `addons.irsa` holds. */
export interface IrsaConfig {
  bucket: string;
  /** The bucket's region; default: the cluster's region. */
  region?: string | undefined;
  /** More audiences the API server accepts, after the issuer. */
  audiences?: readonly string[] | undefined;
}

/** IRSA resolved for one cluster: the bucket, the issuer and what the API server is given. */
export interface IrsaSettings {
  bucket: string;
  region: string;
  issuer: string;
  jwksUri: string;
  /** `--api-audiences`: the issuer (kube-apiserver's own default), then the configured ones. */
  apiAudiences: string[];
}

/** The issuer URL of a bucket: `https://<bucket>.s3.<region>.amazonaws.com`, no trailing slash. */
export function irsaIssuerUrl(bucket: string, region: string): string {
  const domain = region.startsWith('cn-') ? 'amazonaws.com.cn' : 'amazonaws.com';
  return `https://${bucket}.s3.${region}.${domain}`;
}

/** The URL of one object under the issuer. */
export function issuerObjectUrl(issuer: string, key: string): string {
  return `${issuer}/${key}`;
}

export function resolveIrsa(config: IrsaConfig, clusterRegion: string): IrsaSettings {
  const region = config.region ?? clusterRegion;
  const issuer = irsaIssuerUrl(config.bucket, region);
  return {
    bucket: config.bucket,
    region,
    issuer,
    jwksUri: issuerObjectUrl(issuer, OIDC_JWKS_KEY),
    apiAudiences: [...new Set([issuer, ...(config.audiences ?? [])])],
  };
}

/** The API server flags of the cluster's InitConfiguration. */
export function serviceAccountIssuer(irsa: IrsaSettings): ServiceAccountIssuerInput {
  return { issuer: irsa.issuer, apiAudiences: irsa.apiAudiences, jwksUri: irsa.jwksUri };
}
