/**
 * Where IMDS is, by the AWS SDK's own conventions (DESIGN.md "AWS endpoints"):
 * - AWS_EC2_METADATA_DISABLED: any value but "false" (or empty) turns IMDS off;
 * - AWS_EC2_METADATA_SERVICE_ENDPOINT: the endpoint (tests point it at their own server);
 * - AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE: IPv4 (default, http://169.254.169.254) or IPv6
 *   (http://[fd00:ec2::254]), used when no endpoint is given.
 */

import { ConfigError } from '../../core/errors.js';

export const IMDS_DISABLED_ENV = 'AWS_EC2_METADATA_DISABLED';
export const IMDS_ENDPOINT_ENV = 'AWS_EC2_METADATA_SERVICE_ENDPOINT';
export const IMDS_ENDPOINT_MODE_ENV = 'AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE';
export const IMDS_IPV4_ENDPOINT = 'http://169.254.169.254';
export const IMDS_IPV6_ENDPOINT = 'http://[fd00:ec2::254]';

export type ImdsEndpointSetting =
  | { disabled: false; endpoint: string }
  /** `value` is what AWS_EC2_METADATA_DISABLED was set to, for the error message. */
  | { disabled: true; value: string };

export function imdsEndpointFromEnv(env: NodeJS.ProcessEnv): ImdsEndpointSetting {
  const disabled = env[IMDS_DISABLED_ENV]?.trim();
  if (disabled !== undefined && disabled !== '' && disabled.toLowerCase() !== 'false') {
    return { disabled: true, value: disabled };
  }
  const given = env[IMDS_ENDPOINT_ENV]?.trim();
  if (given !== undefined && given !== '') return { disabled: false, endpoint: parseEndpoint(given) };
  const mode = env[IMDS_ENDPOINT_MODE_ENV]?.trim().toLowerCase();
  if (mode === undefined || mode === '' || mode === 'ipv4')
    return { disabled: false, endpoint: IMDS_IPV4_ENDPOINT };
  if (mode === 'ipv6') return { disabled: false, endpoint: IMDS_IPV6_ENDPOINT };
  throw new ConfigError(`${IMDS_ENDPOINT_MODE_ENV} is "${env[IMDS_ENDPOINT_MODE_ENV]}"`, {
    hint: `set it to IPv4 or IPv6, or unset it`,
  });
}

/** The endpoint's origin (scheme, host, port), as the SDK uses it. */
function parseEndpoint(text: string): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch (error) {
    throw new ConfigError(`${IMDS_ENDPOINT_ENV} is not a URL: "${text}"`, {
      cause: error,
      hint: `set it to an http URL such as ${IMDS_IPV4_ENDPOINT}, or unset it on EC2`,
    });
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new ConfigError(`${IMDS_ENDPOINT_ENV} must be an http(s) URL, not "${text}"`, {
      hint: `set it to an http URL such as ${IMDS_IPV4_ENDPOINT}, or unset it on EC2`,
    });
  }
  return url.origin;
}

/** The error every IMDS read gives when AWS_EC2_METADATA_DISABLED turns IMDS off. */
export function imdsDisabledError(value: string, doing: string): ConfigError {
  return new ConfigError(
    `the EC2 instance metadata service is disabled (${IMDS_DISABLED_ENV}=${value}), and kboot needs it for ${doing}`,
    {
      hint:
        `on an EC2 instance, unset ${IMDS_DISABLED_ENV} (or set it to false); to use another metadata server, ` +
        `set ${IMDS_ENDPOINT_ENV}; off EC2, pass --region (or set AWS_REGION) to commands that need only the region`,
      details: { env: IMDS_DISABLED_ENV },
    },
  );
}
