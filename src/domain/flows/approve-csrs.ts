/**
 * `kboot approve-csrs` (on every control-plane member, every 30 seconds from
 * kboot-approve-csrs.timer): approves the kubelet certificate requests of this cluster's own
 * instances: a new kubelet's client certificate (the node's identity, requested with the bootstrap
 * token) and a kubelet's serving certificate (serverTLSBootstrap), each within a minute of asking
 * (docs/security.md "Kubelet client certificates", "Kubelet serving certificates").
 *   identity (control-plane) → kubeadm's auto-approval binding removed (an upgrade puts it back)
 *   → the pending requests (kubectl get csr, admin.conf) → the registered Nodes (when a client
 *   request is pending) → the EC2 instances they name (DescribeInstances by private DNS name,
 *   cluster tag and launch time read) → the decisions (src/domain/csr/approve.ts, client.ts) →
 *   kubectl certificate approve, one by one.
 * Several masters may run it at once: approving an approved request again changes nothing.
 */

import { KubectlError } from '../../core/errors.js';
import type { InstanceLookup } from '../cleanup/ports.js';
import {
  type CsrDecision,
  type CsrKind,
  type CsrObject,
  decideCsr,
  isPendingServingCsr,
  requestingNode,
} from '../csr/approve.js';
import { decideClientCsr, isPendingClientCsr, requestedClientNode } from '../csr/client.js';
import type { Flow, Step } from '../steps/step.js';
import type { FlowDeps } from './deps.js';
import { autoApprovalOffStep } from './node-client-approval.js';
import { ADMIN_CONF_PATH } from './paths.js';
import { type FlowBase, identityStep, type StartState } from './start-steps.js';

const KUBECTL_TIMEOUT_MS = 30_000;

export interface ApproveCsrsState extends StartState {
  /** Pending serving requests. */
  pending: CsrObject[];
  /** Pending client requests of new kubelets. */
  clientPending: CsrObject[];
  /** The registered Nodes' names (read only when a client request is pending). */
  nodeNames: ReadonlySet<string>;
  instances: InstanceLookup;
  decisions: CsrDecision[];
  approved: string[];
}

export interface ApproveCsrsResult extends FlowBase {
  outcome: 'approved' | 'nothing-pending' | 'planned';
  /** The requests approved (or, in a dry run, that would be). */
  approved: { kind: CsrKind; name: string; nodeName: string; instanceId: string }[];
  /** The requests left pending, and why. */
  refused: { kind: CsrKind; name: string; nodeName: string | undefined; reason: string }[];
  summary: string;
}

type ApproveStep = Step<ApproveCsrsState, FlowDeps>;

async function kubectl(deps: FlowDeps, args: string[], signal: AbortSignal): Promise<string> {
  const { stdout } = await deps.kubectl.run(args, {
    kubeconfigPath: deps.fs.resolve(ADMIN_CONF_PATH),
    timeoutMs: KUBECTL_TIMEOUT_MS,
    signal,
  });
  return stdout;
}

const pendingRequests: ApproveStep = {
  name: 'pending-requests',
  kind: 'read',
  describe: () =>
    `list the pending kubelet client and serving certificate requests (kubectl get csr, ${ADMIN_CONF_PATH})`,
  async run({ state, deps, signal }) {
    const stdout = await kubectl(deps, ['get', 'certificatesigningrequests', '-o', 'json'], signal);
    let items: CsrObject[];
    try {
      items = (JSON.parse(stdout) as { items?: CsrObject[] }).items ?? [];
    } catch {
      throw new KubectlError(
        'kubectl get certificatesigningrequests -o json printed something that is not JSON',
      );
    }
    const pending = items.filter(isPendingServingCsr);
    const clientPending = items.filter(isPendingClientCsr);
    deps.logger.debug(
      { total: items.length, pending: pending.length, clientPending: clientPending.length },
      'read the certificate signing requests',
    );
    state.set({ pending, clientPending, nodeNames: new Set() });
    return undefined;
  },
};

/** A client certificate for a name that already has a Node would be a takeover of that node. */
const registeredNodes: ApproveStep = {
  name: 'registered-nodes',
  kind: 'read',
  describe: () => `list the registered Nodes (kubectl get nodes, ${ADMIN_CONF_PATH})`,
  skip: (state) =>
    state.get('clientPending').length === 0 ? 'no client certificate request is pending' : undefined,
  async run({ state, deps, signal }) {
    const nodes = await deps.cleanup.nodes();
    if (nodes === undefined) {
      throw new KubectlError(`cannot list the Nodes: kubectl or ${ADMIN_CONF_PATH} is missing`);
    }
    state.set({ nodeNames: new Set((await nodes.list(signal)).map((node) => node.name)) });
    return undefined;
  },
};

const clusterInstances: ApproveStep = {
  name: 'cluster-instances',
  kind: 'read',
  describe: () => 'look up the EC2 instances the requests name (ec2:DescribeInstances by private DNS name)',
  skip: (state) =>
    state.get('pending').length + state.get('clientPending').length === 0
      ? 'no request is pending'
      : undefined,
  async run({ state, deps, signal }) {
    const clientPending = state.get('clientPending');
    const names = [
      ...new Set([
        ...state.get('pending').flatMap((csr) => requestingNode(csr) ?? []),
        ...clientPending.flatMap((csr) => requestedClientNode(csr) ?? []),
      ]),
    ].filter((name) => name !== '');
    const directory = await deps.cleanup.instances();
    const cluster = state.get('identity').clusterName;
    const instances = await directory.lookup({ cluster, instanceIds: [], privateDnsNames: names }, signal);
    const facts = {
      cluster,
      instances,
      nodeNames: state.get('nodeNames'),
      maxInstanceAgeMs: deps.settings.tokenTtlMs,
      pending: clientPending,
    };
    state.set({
      instances,
      decisions: [
        ...clientPending.map((csr) => decideClientCsr(csr, facts)),
        ...state.get('pending').map((csr) => decideCsr(csr, cluster, instances)),
      ],
    });
    return undefined;
  },
};

const approve: ApproveStep = {
  name: 'approve',
  kind: 'change',
  describe: (state) => {
    const approving = (state.peek('decisions') ?? []).filter((d) => d.approve).map((d) => d.name);
    return approving.length === 0
      ? "approve the requests of this cluster's instances (kubectl certificate approve)"
      : `approve ${approving.join(', ')} (kubectl certificate approve)`;
  },
  skip: (state) =>
    (state.peek('decisions') ?? []).some((decision) => decision.approve)
      ? undefined
      : 'no request from an instance of this cluster',
  noUndo:
    'an approved request is a certificate for an instance of this cluster; a rerun approves nothing twice',
  async run({ state, deps, signal }) {
    const approved: string[] = [];
    for (const decision of state.get('decisions')) {
      if (!decision.approve) continue;
      await kubectl(deps, ['certificate', 'approve', decision.name], signal);
      approved.push(decision.name);
      deps.logger.info(
        { csr: decision.name, node: decision.nodeName, instanceId: decision.instanceId },
        `approved a kubelet ${decision.kind} certificate request`,
      );
    }
    state.set({ approved });
    return undefined;
  },
};

/** Requests left pending are logged once per run, with the reason. */
const reportRefused: ApproveStep = {
  name: 'report-refused',
  kind: 'read',
  describe: () => 'log the requests left pending, and why',
  skip: (state) =>
    (state.peek('decisions') ?? []).some((decision) => !decision.approve) ? undefined : 'none refused',
  async run({ state, deps }) {
    for (const decision of state.get('decisions')) {
      if (decision.approve) continue;
      deps.logger.warn(
        { csr: decision.name, node: decision.nodeName, reason: decision.reason },
        `left a kubelet ${decision.kind} certificate request pending`,
      );
    }
    return undefined;
  },
};

export const approveCsrsFlow: Flow<ApproveCsrsState, FlowDeps, ApproveCsrsResult> = {
  name: 'approve-csrs',
  steps: [
    identityStep<ApproveCsrsState>('approve-csrs', 'control-plane'),
    autoApprovalOffStep<ApproveCsrsState>('every-run'),
    pendingRequests,
    registeredNodes,
    clusterInstances,
    reportRefused,
    approve,
  ],
  result(state, run) {
    const decisions = state.peek('decisions') ?? [];
    const approved = decisions.flatMap((d) =>
      d.approve ? [{ kind: d.kind, name: d.name, nodeName: d.nodeName, instanceId: d.instanceId }] : [],
    );
    const refused = decisions.flatMap((d) =>
      d.approve ? [] : [{ kind: d.kind, name: d.name, nodeName: d.nodeName, reason: d.reason }],
    );
    const outcome = run.dryRun ? 'planned' : decisions.length === 0 ? 'nothing-pending' : 'approved';
    const verb = run.dryRun ? 'would approve' : 'approved';
    return {
      ...state.get('base'),
      outcome,
      approved,
      refused,
      summary: `${verb} ${approved.length} kubelet certificate request(s); left ${refused.length} pending`,
    };
  },
};
