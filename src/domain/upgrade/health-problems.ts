/**
 * The health gate's checks as pure functions of what the cluster showed: each failed check is one
 * line, `<check>: <what it saw>`, for the roll's stop message and `kboot status`. The adapter
 * (src/adapters/kubernetes/cluster-health.ts) gathers the observations through the API.
 */

/** The control plane's static Pods, as kubeadm names them (`<component>-<node name>`). */
export const CONTROL_PLANE_COMPONENTS = [
  'etcd',
  'kube-apiserver',
  'kube-controller-manager',
  'kube-scheduler',
] as const;

export interface ObservedNode {
  name: string;
  /** The Ready condition, when the kubelet has posted one. */
  ready: { status: string; reason?: string | undefined } | undefined;
}

export interface ObservedPod {
  name: string;
  nodeName: string | undefined;
  phase: string | undefined;
  /** The Ready condition's status (`True`, `False`, `Unknown`), when set. */
  ready: string | undefined;
}

export interface EtcdMember {
  /** The member ID, in decimal (64 bits: kept as text). */
  id: string;
  /** Empty while an added member has not started; kubeadm names members after their node. */
  name: string;
  clientUrls: string[];
  learner: boolean;
}

export interface EtcdAlarm {
  memberId: string;
  /** `NOSPACE`, `CORRUPT`. */
  alarm: string;
}

/** The API server did not answer `/readyz` with ok through the load balancer. */
export function apiProblem(url: string, detail: string): string {
  return `api: ${url} did not answer ok through the load balancer: ${oneLine(detail)}`;
}

/** Said once when the API failed: everything else goes through it. */
export const NOT_CHECKED_AFTER_API = 'etcd, static pods, nodes: not checked (the API did not answer)';

/** etcd's member list against the control-plane nodes that should be its members. */
export function etcdMemberProblems(expected: readonly string[], members: readonly EtcdMember[]): string[] {
  const problems: string[] = [];
  const named = new Set(members.filter((member) => member.name !== '').map((member) => member.name));
  for (const member of members) {
    if (member.name === '') problems.push(`etcd members: member ${member.id} was added but has not started`);
    else if (member.learner)
      problems.push(`etcd members: ${member.name} is still a learner, not a voting member`);
  }
  for (const node of expected) {
    if (!named.has(node)) problems.push(`etcd members: no member for control-plane node ${node}`);
  }
  for (const name of [...named].sort()) {
    if (!expected.includes(name))
      problems.push(`etcd members: ${name} is a member but not an expected control-plane node`);
  }
  return problems;
}

/** No etcd Pod could list the members (no quorum, or no etcd Pod running). */
export function etcdUnreachableProblem(tried: readonly string[], detail: string): string {
  if (tried.length === 0)
    return 'etcd members: no etcd Pod is Ready on an expected control-plane node to ask';
  return `etcd members: no etcd Pod could list the members (asked ${tried.join(', ')}): ${oneLine(detail)}`;
}

export function etcdHealthProblem(member: EtcdMember, detail: string): string {
  const where = member.clientUrls[0] === undefined ? '' : ` (${member.clientUrls[0]})`;
  return `etcd health: ${member.name || member.id}${where} is unhealthy: ${oneLine(detail)}`;
}

export function etcdAlarmProblems(alarms: readonly EtcdAlarm[], members: readonly EtcdMember[]): string[] {
  return alarms.map((alarm) => {
    const member = members.find((candidate) => candidate.id === alarm.memberId);
    return `etcd alarms: ${alarm.alarm} raised on ${member?.name || `member ${alarm.memberId}`}`;
  });
}

/** Every control-plane static Pod of every expected node, Ready. */
export function staticPodProblems(nodes: readonly string[], pods: readonly ObservedPod[]): string[] {
  const problems: string[] = [];
  for (const node of nodes) {
    for (const component of CONTROL_PLANE_COMPONENTS) {
      const name = `${component}-${node}`;
      const pod = pods.find((candidate) => candidate.name === name);
      if (pod === undefined) {
        problems.push(`static pods: kube-system/${name} is missing`);
      } else if (pod.ready !== 'True') {
        problems.push(
          `static pods: kube-system/${name} is not Ready (phase ${pod.phase ?? 'unknown'}, Ready ${pod.ready ?? 'not reported'})`,
        );
      }
    }
  }
  return problems;
}

/** The Nodes that must be Ready. */
export function nodeProblems(readyNodes: readonly string[], nodes: readonly ObservedNode[]): string[] {
  const problems: string[] = [];
  for (const name of readyNodes) {
    const node = nodes.find((candidate) => candidate.name === name);
    if (node === undefined) problems.push(`nodes: ${name} is not registered`);
    else if (node.ready === undefined) problems.push(`nodes: ${name} has not reported Ready yet`);
    else if (node.ready.status !== 'True') {
      const reason = node.ready.reason === undefined ? '' : `: ${node.ready.reason}`;
      problems.push(`nodes: ${name} is not Ready (Ready ${node.ready.status}${reason})`);
    }
  }
  return problems;
}

/** A failure's message on one line, cut to a length a log line and a terminal can hold. */
export function oneLine(text: string, max = 300): string {
  const flat = text.replace(/\s*\n\s*/g, ' | ').trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}
