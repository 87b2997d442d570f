/**
 * A worker's leave request: how a terminating worker asks the control plane to drain it, without
 * holding any Kubernetes credential of its own. The worker writes the request (its node name, IP,
 * lifecycle action and drain deadline) and waits; a control-plane member (`kboot leave-controller`)
 * checks it against Auto Scaling and EC2, drains the node and deletes its Node with its own
 * admin credentials, and marks the request finished. The adapter is
 * src/adapters/aws/dynamodb-leave-requests.ts.
 *
 * What a worker writes is only a request: IAM pins its writes to its cluster's leave partition but
 * cannot pin them to its own instance's item, so a request names an instance the controller must
 * verify (`verifyLeaveRequest`), never an instruction it follows on trust.
 */

/**
 * The item attributes a worker writes (its keys `pk`, `sk` and the NewLeaveRequest fields): the
 * worker's IAM grant allows a PutItem with these and no others (`dynamodb:Attributes`), so it
 * cannot write a request's state, claim or outcome.
 */
export const WORKER_REQUEST_ATTRIBUTES = [
  'pk',
  'sk',
  'instanceId',
  'nodeName',
  'privateIp',
  'drainTimeoutSeconds',
  'requestedAt',
  'groupName',
  'hookName',
] as const;

/** Who finished a request, and how. A request without a state is pending. */
export type LeaveRequestState = 'draining' | 'done' | 'refused' | 'failed';

export const FINISHED_STATES: ReadonlySet<LeaveRequestState> = new Set(['done', 'refused', 'failed']);

/** What the worker writes (the only attributes its IAM grant lets it write). */
export interface NewLeaveRequest {
  instanceId: string;
  nodeName: string;
  privateIp: string;
  /** The worker's drain deadline (`kboot leave --drain-timeout`), in seconds. */
  drainTimeoutSeconds: number;
  requestedAt: string;
  /** The lifecycle action the worker completes itself, for the log; absent outside Auto Scaling. */
  groupName?: string;
  hookName?: string;
}

export interface LeaveRequest extends NewLeaveRequest {
  /** Undefined: pending (no controller has claimed it). */
  state: LeaveRequestState | undefined;
  /** The master that claimed it (its instance id), and when. */
  claimedBy?: string;
  claimedAt?: string;
  finishedAt?: string;
  /** What the controller did, or why it refused. */
  detail?: string;
}

export interface LeaveRequestStore {
  /**
   * Writes the request unless one is pending or being worked on: `written`, or the request as it
   * is (a re-run finds it). A finished request is replaced by the new one.
   */
  put(cluster: string, request: NewLeaveRequest, signal?: AbortSignal): Promise<'written' | LeaveRequest>;
  read(cluster: string, instanceId: string, signal?: AbortSignal): Promise<LeaveRequest | undefined>;
  /** Every request of the cluster (one Query). */
  list(cluster: string, signal?: AbortSignal): Promise<LeaveRequest[]>;
  /**
   * Claims a request for `by`: only one that is pending, or draining with a claim older than
   * `staleBefore` (its master died). False when another master has it, or it is finished.
   */
  claim(
    cluster: string,
    instanceId: string,
    claim: { by: string; at: string; staleBefore: string },
    signal?: AbortSignal,
  ): Promise<boolean>;
  /** Marks a request this master claimed as finished. */
  finish(
    cluster: string,
    instanceId: string,
    outcome: { by: string; state: 'done' | 'refused' | 'failed'; at: string; detail: string },
    signal?: AbortSignal,
  ): Promise<void>;
  remove(cluster: string, instanceId: string, signal?: AbortSignal): Promise<void>;
}

/** What Auto Scaling and EC2 say about the instance a request names. */
export interface RequestFacts {
  /** Auto Scaling's lifecycle state, or undefined when the instance is in no group. */
  lifecycleState: string | undefined;
  /** EC2's view: undefined when EC2 does not know the instance. */
  instance:
    | {
        state: string;
        privateDnsName: string | undefined;
        privateIp: string | undefined;
        cluster: string | undefined;
      }
    | undefined;
}

/** Auto Scaling holds a terminating instance here while kboot's lifecycle hook waits. */
export const TERMINATING_WAIT = 'Terminating:Wait';

/**
 * Auto Scaling's states of an instance it terminates: Terminating, then Terminating:Wait while a
 * hook waits, Terminating:Proceed (a group without kboot's hook goes straight there); the same for
 * a warm pool's instances (Warmed:Terminating...).
 */
export function isTerminating(lifecycleState: string): boolean {
  return /^(Warmed:)?Terminating(:Wait|:Proceed)?$/.test(lifecycleState);
}

/**
 * Why the controller must not act on a request, or undefined when it may: the instance must be
 * this cluster's, being terminated by Auto Scaling (Terminating:Wait in kboot's hook) (or, outside Auto Scaling, shutting down in
 * EC2), and the node name and IP it gives must be EC2's own. A worker cannot so get another, healthy node drained.
 */
export function verifyLeaveRequest(
  cluster: string,
  request: LeaveRequest,
  facts: RequestFacts,
): string | undefined {
  const id = request.instanceId;
  if (facts.instance === undefined) return `EC2 does not know instance ${id}`;
  if (facts.instance.cluster !== cluster) {
    return `instance ${id} is not tagged for cluster ${cluster} (tag says ${facts.instance.cluster ?? 'none'})`;
  }
  // EC2 terminating an instance outside Auto Scaling shuts it down: `shutting-down` is the proof.
  const shuttingDown = facts.instance.state === 'shutting-down';
  if (facts.lifecycleState === undefined && !shuttingDown) {
    return `instance ${id} is in no Auto Scaling group and EC2 says it is ${facts.instance.state}: it is not being terminated`;
  }
  if (facts.lifecycleState !== undefined && !isTerminating(facts.lifecycleState) && !shuttingDown) {
    return `instance ${id} is ${facts.lifecycleState} in Auto Scaling, not ${TERMINATING_WAIT}: it is not being terminated`;
  }
  if (facts.instance.privateDnsName !== request.nodeName) {
    return `the request names node ${request.nodeName}, but instance ${id} is ${facts.instance.privateDnsName ?? 'nameless'} in EC2`;
  }
  if (facts.instance.privateIp !== request.privateIp) {
    return `the request gives IP ${request.privateIp}, but instance ${id} has ${facts.instance.privateIp ?? 'none'} in EC2`;
  }
  return undefined;
}
