/**
 * EtcdMembership (src/domain/etcd/members.ts) over etcd's v3 JSON gateway:
 * `POST /v3/cluster/member/list` and `POST /v3/cluster/member/remove` (`{"ID": "<uint64>"}`),
 * plus a per-member probe (`POST /v3/maintenance/status` at that member's own client URLs),
 * which the cleanup of lost instances uses to count live members.
 */

import { z } from 'zod';
import { StateConflictError } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import type { EtcdProbe, MemberProbe } from '../../domain/cleanup/ports.js';
import type { EtcdMember, EtcdMembership } from '../../domain/etcd/members.js';
import type { LocalEtcdStatus } from '../../domain/etcd/recover.js';
import type { InstanceFiles } from '../../domain/ports/files.js';
import { DEFAULT_BACKOFF } from '../imds/backoff.js';
import {
  callGateway,
  EtcdApiError,
  type GatewaySettings,
  GRPC_NOT_FOUND,
  probeEndpoint,
  readEtcdTls,
} from './gateway.js';

/** kubeadm's stacked etcd listens on loopback on every control-plane member. */
export const LOCAL_ETCD_ENDPOINT = 'https://127.0.0.1:2379';
export const ETCD_CLIENT_PORT = 2379;

const uint64 = z.string().regex(/^\d{1,20}$/, 'a uint64 as a decimal string');

const memberShape = z.object({
  ID: uint64,
  name: z.string().optional(),
  peerURLs: z.array(z.string()).optional(),
  clientURLs: z.array(z.string()).optional(),
  isLearner: z.boolean().optional(),
});

const listShape = z.object({ members: z.array(memberShape).optional() });

const statusShape = z.object({
  header: z.object({ member_id: uint64.optional() }).optional(),
  raftTerm: uint64.optional(),
  leader: uint64.optional(),
  errors: z.array(z.string()).optional(),
  version: z.string().optional(),
});

export interface EtcdClientOptions {
  fs: InstanceFiles;
  logger: Logger;
  endpoints: readonly string[];
  sleepMs(ms: number, signal?: AbortSignal): Promise<void>;
  /** One HTTPS request (default 5 s). */
  attemptTimeoutMs?: number;
  /** Rounds over every endpoint (default 3). */
  rounds?: number;
  /** A member probe (default 2 s: a live member answers at once). */
  probeTimeoutMs?: number;
}

export class HttpEtcdMembership implements EtcdMembership, EtcdProbe {
  readonly #settings: GatewaySettings;
  readonly #probeSettings: GatewaySettings;
  readonly #logger: Logger;

  private constructor(settings: GatewaySettings, probeTimeoutMs: number) {
    this.#settings = settings;
    this.#probeSettings = { ...settings, attemptTimeoutMs: probeTimeoutMs };
    this.#logger = settings.logger;
  }

  /** Reads the client certificate kubeadm wrote under the root; fails clearly without it. */
  static async create(options: EtcdClientOptions): Promise<HttpEtcdMembership> {
    const tls = await readEtcdTls(options.fs);
    return new HttpEtcdMembership(
      {
        endpoints: options.endpoints,
        tls,
        logger: options.logger,
        attemptTimeoutMs: options.attemptTimeoutMs ?? 5000,
        rounds: options.rounds ?? 3,
        backoff: DEFAULT_BACKOFF,
        sleepMs: options.sleepMs,
      },
      options.probeTimeoutMs ?? 2000,
    );
  }

  get endpoints(): readonly string[] {
    return this.#settings.endpoints;
  }

  async list(signal?: AbortSignal): Promise<EtcdMember[]> {
    const body = await callGateway(this.#settings, '/v3/cluster/member/list', {}, signal);
    const parsed = listShape.safeParse(body);
    if (!parsed.success) {
      throw new StateConflictError('etcd answered /v3/cluster/member/list with an unexpected shape', {
        cause: parsed.error,
        hint: 'check the etcd version on the control plane (kboot speaks the v3 gateway of etcd 3.4 and later)',
      });
    }
    return (parsed.data.members ?? []).map((member) => ({
      id: member.ID,
      name: member.name ?? '',
      peerUrls: member.peerURLs ?? [],
      clientUrls: member.clientURLs ?? [],
      isLearner: member.isLearner ?? false,
    }));
  }

  /** Removes a member; one that is already gone counts as removed (a retry, or leave raced us). */
  async remove(memberId: string, signal?: AbortSignal): Promise<void> {
    uint64.parse(memberId);
    try {
      await callGateway(this.#settings, '/v3/cluster/member/remove', { ID: memberId }, signal);
    } catch (error) {
      if (error instanceof EtcdApiError && error.grpcCode === GRPC_NOT_FOUND) {
        this.#logger.info({ memberId }, 'the etcd member was already removed');
        return;
      }
      if (error instanceof EtcdApiError) {
        throw new StateConflictError(`etcd refused to remove member ${memberId}: ${error.etcdMessage}`, {
          cause: error,
          hint: 'etcd refuses a removal that would leave fewer started members than a quorum; see README "Cleaning up after lost instances"',
          details: { memberId, grpcCode: error.grpcCode },
        });
      }
      throw error;
    }
  }

  /**
   * The status of the member at the first endpoint that answers (its id, the leader it knows,
   * "0" for none, and its raft term): answered locally, without quorum.
   */
  async localStatus(signal?: AbortSignal): Promise<LocalEtcdStatus> {
    const parsed = statusShape.safeParse(
      await callGateway(this.#settings, '/v3/maintenance/status', {}, signal),
    );
    const memberId = parsed.success ? parsed.data.header?.member_id : undefined;
    if (!parsed.success || memberId === undefined) {
      throw new StateConflictError('etcd answered /v3/maintenance/status without its member id', {
        hint: 'check the etcd version on the control plane (kboot speaks the v3 gateway of etcd 3.4 and later)',
      });
    }
    return { memberId, leader: parsed.data.leader ?? '0', raftTerm: parsed.data.raftTerm ?? '0' };
  }

  /** Asks the member itself, at its own client URLs, whether it is up. */
  async probe(member: EtcdMember, signal?: AbortSignal): Promise<MemberProbe> {
    if (member.clientUrls.length === 0) return { alive: false, reason: 'never started (no client URL)' };
    const reasons: string[] = [];
    for (const url of member.clientUrls) {
      const answer = await probeEndpoint(this.#probeSettings, url, '/v3/maintenance/status', signal);
      if (answer.ok) {
        const status = statusShape.safeParse(answer.body);
        const errors = status.success ? (status.data.errors ?? []) : [];
        return { alive: true, ...(errors.length > 0 ? { reason: errors.join('; ') } : {}) };
      }
      reasons.push(`${url}: ${answer.reason}`);
    }
    return { alive: false, reason: reasons.join('; ') };
  }
}
