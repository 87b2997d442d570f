/**
 * Which kubelet *client* certificate requests kboot approves (docs/security.md "Kubelet client
 * certificates"): the request a new kubelet makes with the shared bootstrap token for
 * `system:node:<name>`. kubeadm would have kube-controller-manager approve any of them (its
 * `kubeadm:node-autoapprove-bootstrap` binding checks the token, never the name); kboot removes
 * that binding and approves a request only when every one of these holds:
 *  - it is pending, for signer kubernetes.io/kube-apiserver-client-kubelet, and was made with a
 *    bootstrap token (`system:bootstrap:<id>` in group system:bootstrappers);
 *  - its subject is CN system:node:<name>, O system:nodes alone, with no subjectAltName;
 *  - its usages are client auth and digital signature (key encipherment allowed), nothing else;
 *  - its key is an EC P-256 key (what the kubelet makes) and it is signed by that key;
 *  - no other live request asks for <name> (two at once: one of them is not the instance's);
 *  - no Node named <name> is registered (a second certificate would be a takeover);
 *  - <name> is the private DNS name of a pending or running EC2 instance tagged for this
 *    cluster, launched before the request was made and less than a token's lifetime before it.
 * A node's renewal of its own certificate (made by system:node:<name> for itself) is
 * kube-controller-manager's to approve (kubeadm's certificate-rotation binding) and not listed
 * here. Anything else is left pending with the reason. Pure: requests and facts in, decisions out.
 */

import type { InstanceLookup } from '../cleanup/ports.js';
import type { CsrDecision, CsrObject } from './approve.js';
import { CsrParseError, type ParsedCsr, parseCsr } from './request.js';

export const KUBELET_CLIENT_SIGNER = 'kubernetes.io/kube-apiserver-client-kubelet';
const NODE_PREFIX = 'system:node:';
const NODES_GROUP = 'system:nodes';
const BOOTSTRAPPERS_GROUP = 'system:bootstrappers';
const BOOTSTRAP_USER = /^system:bootstrap:[a-z0-9]{6}$/;
const ALLOWED_USAGES = new Set(['digital signature', 'key encipherment', 'client auth']);
const REQUIRED_USAGES = ['client auth', 'digital signature'];

/**
 * How long kubeadm join waits for the kubelet's TLS bootstrap (`timeouts.tlsBootstrap`, 5 min, and
 * TLSBootstrapTimeout before v1beta4). A request older than the newest one for the same name by
 * more than this was given up on (kboot reset the node and joined again).
 */
export const TLS_BOOTSTRAP_WAIT_MS = 5 * 60_000;
/** EC2's launch time against the API server's creation time (both on Amazon Time Sync). */
export const LAUNCH_CLOCK_SKEW_MS = 60_000;

export interface ClientCsrFacts {
  cluster: string;
  instances: InstanceLookup;
  /** The names of the registered Node objects. */
  nodeNames: ReadonlySet<string>;
  /** How long after launch an instance may still bootstrap: a bootstrap token's lifetime. */
  maxInstanceAgeMs: number;
  /** Every pending client request this run decides (for the one-request-per-name rule). */
  pending: readonly CsrObject[];
}

function isPending(csr: CsrObject): boolean {
  return (csr.status?.conditions ?? []).length === 0 && csr.status?.certificate === undefined;
}

function parsed(csr: CsrObject): ParsedCsr | CsrParseError {
  try {
    return parseCsr(Buffer.from(csr.spec.request, 'base64').toString('utf8'));
  } catch (error) {
    if (error instanceof CsrParseError) return error;
    throw error;
  }
}

/** The node a client request asks to be (its subject's CN), when it names exactly one. */
export function requestedClientNode(csr: CsrObject): string | undefined {
  const request = parsed(csr);
  if (request instanceof CsrParseError || request.commonNames.length !== 1) return undefined;
  const cn = request.commonNames[0] ?? '';
  return cn.startsWith(NODE_PREFIX) && cn.length > NODE_PREFIX.length
    ? cn.slice(NODE_PREFIX.length)
    : undefined;
}

/** A node renewing its own client certificate: kube-controller-manager approves that. */
function isSelfRenewal(csr: CsrObject): boolean {
  const user = csr.spec.username ?? '';
  return user.startsWith(NODE_PREFIX) && requestedClientNode(csr) === user.slice(NODE_PREFIX.length);
}

/** Pending kubelet client requests that are kboot's to decide (every one but self renewals). */
export function isPendingClientCsr(csr: CsrObject): boolean {
  return csr.spec.signerName === KUBELET_CLIENT_SIGNER && isPending(csr) && !isSelfRenewal(csr);
}

function createdMs(csr: CsrObject): number | undefined {
  const text = csr.metadata.creationTimestamp;
  const ms = text === undefined ? Number.NaN : Date.parse(text);
  return Number.isNaN(ms) ? undefined : ms;
}

function hours(ms: number): string {
  return `${Math.round((ms / 3_600_000) * 10) / 10} h`;
}

/** Why another pending request for the same node makes this one undecidable, if it does. */
function rivalry(csr: CsrObject, nodeName: string, facts: ClientCsrFacts): string | undefined {
  const mine = createdMs(csr) ?? 0;
  const rivals = facts.pending.filter(
    (other) => other.metadata.name !== csr.metadata.name && requestedClientNode(other) === nodeName,
  );
  const newest = Math.max(mine, ...rivals.map((other) => createdMs(other) ?? 0));
  if (newest - mine > TLS_BOOTSTRAP_WAIT_MS) {
    return 'a newer request asks for the same node: this one was given up on (its join waited 5 min and was reset)';
  }
  const live = rivals.filter((other) => newest - (createdMs(other) ?? 0) <= TLS_BOOTSTRAP_WAIT_MS);
  if (live.length === 0) return undefined;
  return `${live.length + 1} pending requests ask for ${NODE_PREFIX}${nodeName} (${[csr, ...live]
    .map((c) => c.metadata.name)
    .sort()
    .join(', ')}): at most one of them is the instance's own, so none is approved`;
}

/** One decision for a pending client request. */
export function decideClientCsr(csr: CsrObject, facts: ClientCsrFacts): CsrDecision {
  const name = csr.metadata.name;
  const nodeName = requestedClientNode(csr);
  const refuse = (reason: string): CsrDecision => ({
    kind: 'client',
    name,
    nodeName,
    approve: false,
    reason,
  });
  const user = csr.spec.username ?? 'nobody';
  if (!BOOTSTRAP_USER.test(user) || !(csr.spec.groups ?? []).includes(BOOTSTRAPPERS_GROUP)) {
    return refuse(`requested by ${user}, not with a bootstrap token (group ${BOOTSTRAPPERS_GROUP})`);
  }
  const request = parsed(csr);
  if (request instanceof CsrParseError) return refuse(`the request cannot be read: ${request.message}`);
  if (nodeName === undefined) return refuse(`its subject CN is not ${NODE_PREFIX}<node name>`);
  if (request.organizations.length !== 1 || request.organizations[0] !== NODES_GROUP) {
    return refuse(`its subject O is not ${NODES_GROUP} alone`);
  }
  if (request.dnsNames.length + request.ipAddresses.length > 0) {
    return refuse('it asks for DNS names or IP addresses, which a client certificate has none of');
  }
  const usages = csr.spec.usages ?? [];
  if (
    REQUIRED_USAGES.some((usage) => !usages.includes(usage)) ||
    usages.some((usage) => !ALLOWED_USAGES.has(usage))
  ) {
    return refuse(`usages [${usages.join(', ')}] are not those of a kubelet client certificate`);
  }
  const key = request.publicKey;
  if (key?.type !== 'ec' || key.curve !== 'prime256v1') {
    const what =
      key === undefined ? 'unreadable' : [key.type, key.curve ?? key.bits].filter(Boolean).join(' ');
    return refuse(`its key is ${what}, not the EC P-256 key a kubelet makes`);
  }
  if (!request.signatureValid) return refuse('it is not signed by the key it carries');
  const created = createdMs(csr);
  if (created === undefined) return refuse('it has no creation time');
  const rival = rivalry(csr, nodeName, facts);
  if (rival !== undefined) return refuse(rival);
  if (facts.nodeNames.has(nodeName)) {
    return refuse(
      `a Node named ${nodeName} is already registered: a second certificate would let its holder act as that node`,
    );
  }
  const instance = facts.instances.byDnsName.get(nodeName);
  if (instance === undefined || instance.cluster !== facts.cluster) {
    return refuse(`no EC2 instance of cluster ${facts.cluster} has the private DNS name ${nodeName}`);
  }
  if (instance.state !== 'running' && instance.state !== 'pending') {
    return refuse(`instance ${instance.instanceId} is ${instance.state}`);
  }
  if (instance.launchTimeMs === undefined)
    return refuse(`EC2 gives no launch time for ${instance.instanceId}`);
  if (created < instance.launchTimeMs - LAUNCH_CLOCK_SKEW_MS) {
    return refuse(`it was made before instance ${instance.instanceId} was launched`);
  }
  if (created - instance.launchTimeMs > facts.maxInstanceAgeMs) {
    return refuse(
      `instance ${instance.instanceId} was launched ${hours(created - instance.launchTimeMs)} before it, longer than a bootstrap token lives (${hours(facts.maxInstanceAgeMs)}): a kubelet bootstraps at its first boot`,
    );
  }
  return { kind: 'client', name, nodeName, approve: true, instanceId: instance.instanceId };
}
