/**
 * The health gate over kubectl with the admin kubeconfig, in this order:
 *  1. the API: `GET /readyz` through the load balancer (`--server https://<apiEndpoint>`): when
 *     it does not answer `ok`, nothing else is asked (everything else goes through the API);
 *  2. the kube-system Pods and the Nodes, read once;
 *  3. etcd, through the API (./etcd-through-api.ts): the member list from the first expected
 *     control-plane node whose etcd Pod is Ready and answers, each member's health, the alarms;
 *  4. each expected control-plane node's static Pods Ready, then the expected Nodes Ready.
 * Each check that fails adds one line (../../domain/upgrade/health-problems.ts); a kubectl failure
 * in a check is that check's line. A stop (the signal) and an admin kubeconfig kboot refuses
 * (./kubectl-objects.ts) are thrown.
 */

import { z } from 'zod';
import { KubectlError, StateConflictError } from '../../core/errors.js';
import { apiAddress } from '../../domain/state/cluster-record.js';
import {
  apiProblem,
  etcdAlarmProblems,
  etcdHealthProblem,
  etcdMemberProblems,
  etcdUnreachableProblem,
  NOT_CHECKED_AFTER_API,
  nodeProblems,
  type ObservedNode,
  type ObservedPod,
  oneLine,
  staticPodProblems,
} from '../../domain/upgrade/health-problems.js';
import type { ClusterHealth, HealthExpectation, HealthReport } from '../../domain/upgrade/ports.js';
import { EtcdThroughApi } from './etcd-through-api.js';
import { type ClusterSideOptions, getObject, type Kubectl, kubectlWith } from './kubectl-objects.js';

const conditions = z
  .array(z.object({ type: z.string(), status: z.string(), reason: z.string().optional() }))
  .optional();

const podListShape = z.object({
  items: z.array(
    z.object({
      metadata: z.object({ name: z.string() }),
      spec: z.object({ nodeName: z.string().optional() }).optional(),
      status: z.object({ phase: z.string().optional(), conditions }).optional(),
    }),
  ),
});

const nodeListShape = z.object({
  items: z.array(
    z.object({ metadata: z.object({ name: z.string() }), status: z.object({ conditions }).optional() }),
  ),
});

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

export class KubectlClusterHealth implements ClusterHealth {
  readonly #kubectl: Kubectl;
  readonly #etcd: EtcdThroughApi;
  readonly #readyzUrl: string;
  readonly #server: string;
  readonly #signal: AbortSignal | undefined;

  constructor(options: ClusterSideOptions) {
    this.#kubectl = kubectlWith(options);
    this.#etcd = new EtcdThroughApi(this.#kubectl);
    const { host, port } = apiAddress(options.apiEndpoint);
    this.#server = `https://${host}:${port}`;
    this.#readyzUrl = `${this.#server}/readyz`;
    this.#signal = options.signal;
  }

  async check(expect: HealthExpectation): Promise<HealthReport> {
    const apiFailure = await this.#api();
    if (apiFailure !== undefined) {
      return { healthy: false, problems: [apiFailure, NOT_CHECKED_AFTER_API] };
    }
    const problems: string[] = [];
    const [pods, nodes] = await Promise.all([this.#pods(problems), this.#nodes(problems)]);
    problems.push(...(await this.#etcdProblems(expect.controlPlaneNodes, pods)));
    if (pods !== undefined) problems.push(...staticPodProblems(expect.controlPlaneNodes, pods));
    if (nodes !== undefined) problems.push(...nodeProblems(expect.readyNodes, nodes));
    return { healthy: problems.length === 0, problems };
  }

  /**
   * A kubectl failure or an answer kboot cannot read becomes the check's line; a stop, a bad
   * kubeconfig and anything else are thrown.
   */
  #failed(error: unknown, line: (detail: string) => string): string {
    if (this.#signal?.aborted === true) throw error;
    if (!(error instanceof KubectlError || error instanceof StateConflictError)) throw error;
    return line(message(error));
  }

  async #api(): Promise<string | undefined> {
    try {
      const stdout = await this.#kubectl(['get', '--raw', '/readyz', '--server', this.#server]);
      return stdout.trim() === 'ok'
        ? undefined
        : apiProblem(this.#readyzUrl, `answered "${oneLine(stdout, 80)}"`);
    } catch (error) {
      return this.#failed(error, (detail) => apiProblem(this.#readyzUrl, detail));
    }
  }

  async #pods(problems: string[]): Promise<ObservedPod[] | undefined> {
    try {
      const list = await getObject(this.#kubectl, podListShape, 'pods', ['pods', '-n', 'kube-system']);
      return list.items.map((pod) => ({
        name: pod.metadata.name,
        nodeName: pod.spec?.nodeName,
        phase: pod.status?.phase,
        ready: pod.status?.conditions?.find((condition) => condition.type === 'Ready')?.status,
      }));
    } catch (error) {
      problems.push(
        this.#failed(error, (detail) => `static pods: could not list kube-system Pods: ${oneLine(detail)}`),
      );
      return undefined;
    }
  }

  async #nodes(problems: string[]): Promise<ObservedNode[] | undefined> {
    try {
      const list = await getObject(this.#kubectl, nodeListShape, 'nodes', ['nodes']);
      return list.items.map((node) => {
        const ready = node.status?.conditions?.find((condition) => condition.type === 'Ready');
        return {
          name: node.metadata.name,
          ready: ready === undefined ? undefined : { status: ready.status, reason: ready.reason },
        };
      });
    } catch (error) {
      problems.push(this.#failed(error, (detail) => `nodes: could not list the Nodes: ${oneLine(detail)}`));
      return undefined;
    }
  }

  async #etcdProblems(expected: readonly string[], pods: ObservedPod[] | undefined): Promise<string[]> {
    const askable = expected.filter((node) =>
      pods === undefined ? true : pods.some((pod) => pod.name === `etcd-${node}` && pod.ready === 'True'),
    );
    const tried: string[] = [];
    let lastError = '';
    for (const node of askable) {
      let members: Awaited<ReturnType<EtcdThroughApi['members']>>;
      try {
        members = await this.#etcd.members(node);
      } catch (error) {
        tried.push(node);
        lastError = this.#failed(error, (detail) => detail);
        continue;
      }
      const problems = etcdMemberProblems(expected, members);
      const health = await Promise.all(
        members
          .filter((member) => member.clientUrls[0] !== undefined)
          .map(async (member) => {
            try {
              const why = await this.#etcd.unhealthy(node, member.clientUrls[0] as string);
              return why === undefined ? undefined : etcdHealthProblem(member, why);
            } catch (error) {
              return this.#failed(error, (detail) => etcdHealthProblem(member, detail));
            }
          }),
      );
      problems.push(...health.filter((line): line is string => line !== undefined));
      try {
        problems.push(...etcdAlarmProblems(await this.#etcd.alarms(node), members));
      } catch (error) {
        problems.push(
          this.#failed(error, (detail) => `etcd alarms: could not list them: ${oneLine(detail)}`),
        );
      }
      return problems;
    }
    return [etcdUnreachableProblem(tried, lastError)];
  }
}
