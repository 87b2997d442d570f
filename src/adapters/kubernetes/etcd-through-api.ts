/**
 * etcd reached through the API server, as Cluster API's control-plane provider reaches it (it
 * dials each etcd static Pod through the API server and asks for the member list, the alarms and
 * each member's status): kboot runs `etcdctl` inside a control-plane node's `etcd-<node>` Pod with
 * `kubectl exec`, with the certificates kubeadm mounts there (the etcd CA and the
 * healthcheck-client pair under /etc/kubernetes/pki/etcd). No etcd key leaves the node and nothing
 * but the admin kubeconfig is needed where the roll runs. etcdctl prints member IDs as 64-bit JSON
 * numbers: they are read as text so none loses digits.
 */

import { z } from 'zod';
import { StateConflictError } from '../../core/errors.js';
import type { EtcdAlarm, EtcdMember } from '../../domain/upgrade/health-problems.js';
import type { Kubectl } from './kubectl-objects.js';

const PKI = '/etc/kubernetes/pki/etcd';
/** etcdctl's own limits, well inside one kubectl call's. */
const DIAL_TIMEOUT = '2s';
const COMMAND_TIMEOUT = '5s';

const memberListShape = z.object({
  members: z
    .array(
      z.object({
        ID: z.union([z.string(), z.number()]),
        name: z.string().optional(),
        clientURLs: z.array(z.string()).optional(),
        isLearner: z.boolean().optional(),
      }),
    )
    .optional(),
});

const healthShape = z.array(
  z.object({ endpoint: z.string(), health: z.boolean(), error: z.string().optional() }),
);

const alarmShape = z.object({
  alarms: z
    .array(
      z.object({
        memberID: z.union([z.string(), z.number()]),
        alarm: z.union([z.string(), z.number()]).optional(),
      }),
    )
    .optional(),
});

/** etcd's AlarmType enum (etcdserverpb). */
const ALARM_NAMES: Readonly<Record<number, string>> = { 0: 'NONE', 1: 'NOSPACE', 2: 'CORRUPT' };

/** JSON whose integers of 16 digits or more (past 2^53) are read as strings. */
export function parseEtcdctlJson(text: string): unknown {
  try {
    return JSON.parse(text.replace(/([:,[]\s*)(-?\d{16,})(?=\s*[,}\]])/g, '$1"$2"'));
  } catch {
    return undefined;
  }
}

function parsed<T extends z.ZodType>(shape: T, stdout: string, what: string): z.infer<T> {
  const result = shape.safeParse(parseEtcdctlJson(stdout));
  if (!result.success) {
    throw new StateConflictError(`etcdctl ${what} -w json printed something kboot cannot read`, {
      hint: 'check the etcd image of the control plane (kubectl -n kube-system get pods -l component=etcd)',
    });
  }
  return result.data;
}

export class EtcdThroughApi {
  readonly #kubectl: Kubectl;

  constructor(kubectl: Kubectl) {
    this.#kubectl = kubectl;
  }

  #etcdctl(node: string, args: readonly string[], endpoint = 'https://127.0.0.1:2379'): Promise<string> {
    return this.#kubectl([
      'exec',
      '-n',
      'kube-system',
      `etcd-${node}`,
      '-c',
      'etcd',
      '--',
      'etcdctl',
      `--endpoints=${endpoint}`,
      `--cacert=${PKI}/ca.crt`,
      `--cert=${PKI}/healthcheck-client.crt`,
      `--key=${PKI}/healthcheck-client.key`,
      `--dial-timeout=${DIAL_TIMEOUT}`,
      `--command-timeout=${COMMAND_TIMEOUT}`,
      ...args,
      '-w',
      'json',
    ]);
  }

  /** The members, asked of the etcd in `node`'s Pod. */
  async members(node: string): Promise<EtcdMember[]> {
    const list = parsed(memberListShape, await this.#etcdctl(node, ['member', 'list']), 'member list');
    return (list.members ?? []).map((member) => ({
      id: String(member.ID),
      name: member.name ?? '',
      clientUrls: member.clientURLs ?? [],
      learner: member.isLearner === true,
    }));
  }

  /** undefined when the member at `clientUrl` commits a proposal; else what etcdctl said. */
  async unhealthy(node: string, clientUrl: string): Promise<string | undefined> {
    const stdout = await this.#etcdctl(node, ['endpoint', 'health'], clientUrl);
    const result = parsed(healthShape, stdout, 'endpoint health')[0];
    if (result === undefined) return 'etcdctl endpoint health reported nothing';
    return result.health ? undefined : (result.error ?? 'not healthy');
  }

  async alarms(node: string): Promise<EtcdAlarm[]> {
    const list = parsed(alarmShape, await this.#etcdctl(node, ['alarm', 'list']), 'alarm list');
    return (list.alarms ?? [])
      .map((alarm) => ({
        memberId: String(alarm.memberID),
        alarm:
          typeof alarm.alarm === 'number'
            ? (ALARM_NAMES[alarm.alarm] ?? `alarm ${alarm.alarm}`)
            : (alarm.alarm ?? 'NONE'),
      }))
      .filter((alarm) => alarm.alarm !== 'NONE');
  }
}
