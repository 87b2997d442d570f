/**
 * Which kubelet serving certificate requests kboot approves (docs/security.md "Kubelet serving
 * certificates"). A request is approved only when every one of these holds:
 *  - it is pending, for signer kubernetes.io/kubelet-serving;
 *  - it was made by a node, `system:node:<name>` in group system:nodes (the kubelet's own
 *    credentials), and its subject says the same (CN system:node:<name>, O system:nodes only);
 *  - its usages are server auth and digital signature (key encipherment allowed), nothing else;
 *  - it is signed by the key it carries;
 *  - <name> is the private DNS name of a pending or running EC2 instance tagged for this cluster,
 *    and every DNS name and IP address it asks for is that instance's private DNS name or private
 *    IP address.
 * Anything else is left pending (never denied: a human may still approve it) and reported with
 * the reason. Pure: requests and EC2 facts in, decisions out.
 */

import type { InstanceLookup } from '../cleanup/ports.js';
import { CsrParseError, type ParsedCsr, parseCsr } from './request.js';

export const KUBELET_SERVING_SIGNER = 'kubernetes.io/kubelet-serving';
const NODE_USER_PREFIX = 'system:node:';
const NODES_GROUP = 'system:nodes';
const ALLOWED_USAGES = new Set(['digital signature', 'key encipherment', 'server auth']);

/** The fields of a CertificateSigningRequest (certificates.k8s.io/v1) kboot reads. */
export interface CsrObject {
  metadata: { name: string; creationTimestamp?: string };
  spec: {
    request: string;
    signerName: string;
    username?: string;
    groups?: string[];
    usages?: string[];
  };
  status?: { conditions?: { type: string }[]; certificate?: string };
}

/** `serving`: a kubelet's serving certificate; `client`: a new kubelet's client certificate. */
export type CsrKind = 'serving' | 'client';

export type CsrDecision =
  | { kind: CsrKind; name: string; nodeName: string; approve: true; instanceId: string }
  | { kind: CsrKind; name: string; nodeName: string | undefined; approve: false; reason: string };

/** Pending kubelet serving requests: no Approved, Denied or Failed condition, no certificate. */
export function isPendingServingCsr(csr: CsrObject): boolean {
  return (
    csr.spec.signerName === KUBELET_SERVING_SIGNER &&
    (csr.status?.conditions ?? []).length === 0 &&
    csr.status?.certificate === undefined
  );
}

/** The node a request claims to be, from its requester. */
export function requestingNode(csr: CsrObject): string | undefined {
  const user = csr.spec.username ?? '';
  return user.startsWith(NODE_USER_PREFIX) ? user.slice(NODE_USER_PREFIX.length) : undefined;
}

function refuse(csr: CsrObject, nodeName: string | undefined, reason: string): CsrDecision {
  return { kind: 'serving', name: csr.metadata.name, nodeName, approve: false, reason };
}

/** One decision; `cluster` is this cluster's name, `instances` the EC2 look-up by DNS name. */
export function decideCsr(csr: CsrObject, cluster: string, instances: InstanceLookup): CsrDecision {
  const nodeName = requestingNode(csr);
  if (nodeName === undefined || nodeName === '') {
    return refuse(csr, undefined, `requested by ${csr.spec.username ?? 'nobody'}, not by a node`);
  }
  if (!(csr.spec.groups ?? []).includes(NODES_GROUP)) {
    return refuse(csr, nodeName, `the requester is not in group ${NODES_GROUP}`);
  }
  const usages = csr.spec.usages ?? [];
  if (!usages.includes('server auth') || usages.some((usage) => !ALLOWED_USAGES.has(usage))) {
    return refuse(csr, nodeName, `usages [${usages.join(', ')}] are not those of a serving certificate`);
  }
  let parsed: ParsedCsr;
  try {
    parsed = parseCsr(Buffer.from(csr.spec.request, 'base64').toString('utf8'));
  } catch (error) {
    if (!(error instanceof CsrParseError)) throw error;
    return refuse(csr, nodeName, `the request cannot be read: ${error.message}`);
  }
  if (parsed.commonNames.length !== 1 || parsed.commonNames[0] !== `${NODE_USER_PREFIX}${nodeName}`) {
    return refuse(csr, nodeName, `its subject CN is not ${NODE_USER_PREFIX}${nodeName}`);
  }
  if (parsed.organizations.length !== 1 || parsed.organizations[0] !== NODES_GROUP) {
    return refuse(csr, nodeName, `its subject O is not ${NODES_GROUP} alone`);
  }
  if (!parsed.signatureValid) return refuse(csr, nodeName, 'it is not signed by the key it carries');
  if (parsed.dnsNames.length + parsed.ipAddresses.length === 0) {
    return refuse(csr, nodeName, 'it asks for no DNS name or IP address');
  }
  const instance = instances.byDnsName.get(nodeName);
  if (instance === undefined || instance.cluster !== cluster) {
    return refuse(
      csr,
      nodeName,
      `no EC2 instance of cluster ${cluster} has the private DNS name ${nodeName}`,
    );
  }
  if (instance.state !== 'running' && instance.state !== 'pending') {
    return refuse(csr, nodeName, `instance ${instance.instanceId} is ${instance.state}`);
  }
  const names = parsed.dnsNames.filter((name) => name !== instance.privateDnsName);
  if (names.length > 0) {
    return refuse(
      csr,
      nodeName,
      `it asks for DNS name(s) ${names.join(', ')} that are not instance ${instance.instanceId}'s`,
    );
  }
  const ips = parsed.ipAddresses.filter((ip) => ip !== instance.privateIp);
  if (ips.length > 0) {
    return refuse(
      csr,
      nodeName,
      `it asks for IP address(es) ${ips.join(', ')} that are not instance ${instance.instanceId}'s`,
    );
  }
  return {
    kind: 'serving',
    name: csr.metadata.name,
    nodeName,
    approve: true,
    instanceId: instance.instanceId,
  };
}
