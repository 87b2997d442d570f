/**
 * A PKCS #10 certificate signing request, as the kubelet sends it for its client or serving
 * certificate: its subject (CN, O), the names and addresses it asks for (the subjectAltName of its
 * extensionRequest), its public key's type, and whether it is signed by the key it carries. Parsed with
 * @peculiar/asn1-csr (ASN.1 schemas of RFC 2986 and RFC 5280; Node's crypto parses certificates,
 * not requests); the signature is checked with Node's crypto. Errors say what is wrong, never
 * quote the request.
 */

import { createPublicKey, type KeyObject, verify } from 'node:crypto';
import { CertificationRequest } from '@peculiar/asn1-csr';
import { AsnConvert } from '@peculiar/asn1-schema';
import { Extensions, id_ce_subjectAltName, SubjectAlternativeName } from '@peculiar/asn1-x509';

const OID_COMMON_NAME = '2.5.4.3';
const OID_ORGANIZATION = '2.5.4.10';
const OID_EXTENSION_REQUEST = '1.2.840.113549.1.9.14';

/** Signature algorithms a kubelet's key can use: ECDSA and RSA (PKCS #1 v1.5) with SHA-2. */
const SIGNATURE_HASHES: Readonly<Record<string, string>> = {
  '1.2.840.10045.4.3.2': 'sha256',
  '1.2.840.10045.4.3.3': 'sha384',
  '1.2.840.10045.4.3.4': 'sha512',
  '1.2.840.113549.1.1.11': 'sha256',
  '1.2.840.113549.1.1.12': 'sha384',
  '1.2.840.113549.1.1.13': 'sha512',
};

/** The public key a request carries: `ec` with its curve (`prime256v1` is P-256), `rsa` with its size. */
export interface CsrPublicKey {
  readonly type: string;
  readonly curve?: string;
  readonly bits?: number;
}

export interface ParsedCsr {
  readonly commonNames: readonly string[];
  readonly organizations: readonly string[];
  readonly dnsNames: readonly string[];
  readonly ipAddresses: readonly string[];
  /** The request is signed by the private key of the public key it carries. */
  readonly signatureValid: boolean;
  /** Undefined when Node's crypto cannot read the key. */
  readonly publicKey: CsrPublicKey | undefined;
}

export class CsrParseError extends Error {
  override name = 'CsrParseError';
}

/** The DER of the first CERTIFICATE REQUEST block of a PEM text. */
function pemToDer(pem: string): Buffer {
  const match =
    /-----BEGIN (?:NEW )?CERTIFICATE REQUEST-----([A-Za-z0-9+/=\s]+)-----END (?:NEW )?CERTIFICATE REQUEST-----/.exec(
      pem,
    );
  if (match?.[1] === undefined) throw new CsrParseError('it holds no PEM CERTIFICATE REQUEST block');
  return Buffer.from(match[1].replace(/\s+/g, ''), 'base64');
}

function publicKeyOf(csr: CertificationRequest): KeyObject | undefined {
  try {
    return createPublicKey({
      key: Buffer.from(AsnConvert.serialize(csr.certificationRequestInfo.subjectPKInfo)),
      format: 'der',
      type: 'spki',
    });
  } catch {
    return undefined;
  }
}

function describeKey(key: KeyObject | undefined): CsrPublicKey | undefined {
  if (key?.asymmetricKeyType === undefined) return undefined;
  const details = key.asymmetricKeyDetails ?? {};
  return {
    type: key.asymmetricKeyType,
    ...(details.namedCurve === undefined ? {} : { curve: details.namedCurve }),
    ...(details.modulusLength === undefined ? {} : { bits: details.modulusLength }),
  };
}

function checkSignature(csr: CertificationRequest, key: KeyObject | undefined): boolean {
  const hash = SIGNATURE_HASHES[csr.signatureAlgorithm.algorithm];
  const signed = csr.certificationRequestInfoRaw;
  if (hash === undefined || signed === undefined || key === undefined) return false;
  try {
    return verify(hash, Buffer.from(signed), key, Buffer.from(csr.signature));
  } catch {
    return false;
  }
}

/** Parses a PEM certificate request (`spec.request` of a CertificateSigningRequest, decoded). */
export function parseCsr(pem: string): ParsedCsr {
  let csr: CertificationRequest;
  try {
    csr = AsnConvert.parse(pemToDer(pem), CertificationRequest);
  } catch (error) {
    if (error instanceof CsrParseError) throw error;
    throw new CsrParseError('it is not a valid PKCS #10 certificate request');
  }
  const info = csr.certificationRequestInfo;
  const commonNames: string[] = [];
  const organizations: string[] = [];
  for (const rdn of info.subject) {
    for (const attribute of rdn) {
      if (attribute.type === OID_COMMON_NAME) commonNames.push(attribute.value.toString());
      if (attribute.type === OID_ORGANIZATION) organizations.push(attribute.value.toString());
    }
  }
  const dnsNames: string[] = [];
  const ipAddresses: string[] = [];
  for (const attribute of info.attributes ?? []) {
    if (attribute.type !== OID_EXTENSION_REQUEST) continue;
    for (const value of attribute.values) {
      for (const extension of AsnConvert.parse(value, Extensions)) {
        if (extension.extnID !== id_ce_subjectAltName) continue;
        for (const name of AsnConvert.parse(extension.extnValue, SubjectAlternativeName)) {
          if (name.dNSName !== undefined) dnsNames.push(name.dNSName);
          else if (name.iPAddress !== undefined) ipAddresses.push(name.iPAddress);
          else
            throw new CsrParseError(
              'it asks for a subjectAltName that is neither a DNS name nor an IP address',
            );
        }
      }
    }
  }
  const key = publicKeyOf(csr);
  return {
    commonNames,
    organizations,
    dnsNames,
    ipAddresses,
    signatureValid: checkSignature(csr, key),
    publicKey: describeKey(key),
  };
}
