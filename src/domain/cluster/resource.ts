/**
 * The contract between `kboot cluster plan|create|destroy` (the engine: plan, order, record,
 * resume, destroy in reverse) and the providers that create one kind of AWS resource each.
 *
 * A cluster's resources form a graph of `DesiredResource`s derived from the cluster spec (pure:
 * spec in, graph out). The engine walks it in dependency order, concurrently where independent,
 * and records each resource it creates in the cluster's state (DynamoDB) as a `ResourceRecord`
 * the moment the AWS call returns. A `create` killed between an AWS call and its record must not
 * make a duplicate on re-run, so every provider can `find` what it made earlier: by a
 * deterministic name, alias or the kboot tags below, never by guessing. `destroy` deletes
 * exactly the recorded resources, dependents first, and nothing else.
 */

/** Tag keys every resource kboot creates carries (where the resource type takes tags). */
export const RESOURCE_TAGS = {
  /** The cluster's name. */
  cluster: 'kboot.io/cluster',
  /** The resource's key in the graph (`DesiredResource.key`): how `find` adopts a lost one. */
  resource: 'kboot.io/resource',
  /** Who made it: always `kboot`. */
  managedBy: 'kboot.io/managed-by',
} as const;

/** One resource the spec asks for. Plain data: the plan prints it, the engine orders it. */
export interface DesiredResource<Properties = Record<string, unknown>> {
  /** Stable, unique within the cluster, readable: "iam-role/control-plane", "asg/workers-eu-west-1a". */
  key: string;
  /** The provider that makes it: "dynamodb-table", "kms-key", "nlb", "asg", ... */
  kind: string;
  /** Keys of resources that must exist first (their outputs feed this one's properties). */
  dependsOn: string[];
  /** What to create, from the spec; values a dependency produces are read through the context. */
  properties: Properties;
}

/** One resource kboot created, as stored in the cluster's state. */
export interface ResourceRecord {
  key: string;
  kind: string;
  /** What the delete call needs: a name, an id or an ARN. */
  id: string;
  arn?: string;
  dependsOn: string[];
  /** Values dependents read (a target group ARN, a launch template id, a key ARN). */
  outputs: Record<string, string>;
  /** ISO time the AWS call returned (or the resource was adopted by `find`). */
  createdAt: string;
  /** The resource existed before and was not made by kboot: never deleted by destroy. */
  adopted?: boolean;
}

/** What a provider may use while it works. */
export interface ResourceContext {
  cluster: string;
  region: string;
  /** Tags to put on everything (the three above plus the cluster's `kubernetes.io/cluster/<name>`). */
  tagsFor(key: string): Record<string, string>;
  /** Outputs of a dependency (throws when `key` is not a recorded dependency). */
  outputsOf(key: string): Record<string, string>;
  signal: AbortSignal;
}

/** A change `plan` reports for a resource that exists. */
export interface Drift {
  /** Dotted property path, e.g. "desiredCapacity". */
  field: string;
  want: string;
  have: string;
}

export type DeleteOutcome = 'deleted' | 'already-gone';

/** Makes, finds and deletes one kind of resource. Every method is idempotent. */
export interface ResourceProvider<Properties = Record<string, unknown>> {
  readonly kind: string;
  /**
   * The resource this kboot made for `desired.key` earlier, if it exists (found by name, alias or
   * kboot tags): how a resumed create adopts what a killed run made before recording it.
   */
  find(desired: DesiredResource<Properties>, context: ResourceContext): Promise<ResourceRecord | undefined>;
  create(desired: DesiredResource<Properties>, context: ResourceContext): Promise<ResourceRecord>;
  /**
   * Finishes what `find` found when a killed create left it half made (a KMS key without its
   * alias, a role without its inline policy, an instance profile without its role). Called by
   * create only, never by plan (`find` itself only reads); idempotent. Absent: found is complete.
   */
  complete?(
    desired: DesiredResource<Properties>,
    found: ResourceRecord,
    context: ResourceContext,
  ): Promise<ResourceRecord>;
  /** How the existing resource differs from what the spec asks now (empty: no change). */
  drift?(
    desired: DesiredResource<Properties>,
    record: ResourceRecord,
    context: ResourceContext,
  ): Promise<Drift[]>;
  /**
   * Brings a recorded resource that drifted back to the spec in place; returns its record (new
   * outputs, e.g. a launch template's new version, are recorded anew). Called by create only,
   * after `drift` reported a change; idempotent. Absent: the kind cannot change in place, and
   * create reports the drift with what to do instead.
   */
  update?(
    desired: DesiredResource<Properties>,
    record: ResourceRecord,
    context: ResourceContext,
  ): Promise<ResourceRecord>;
  /** Waits as long as the resource needs (an ASG draining to zero, an NLB going away). */
  delete(record: ResourceRecord, context: ResourceContext): Promise<DeleteOutcome>;
  /**
   * Checks what the spec says exists outside kboot (a given bucket), before plan or create reads or
   * changes anything else; throws a ConfigError naming the spec field. Reads only. Absent: nothing to check.
   */
  preflight?(desired: DesiredResource<Properties>, context: ResourceContext): Promise<void>;
  /**
   * For an adopted resource, which destroy never deletes: removes what this cluster put in it (its
   * snapshots in a given bucket) and says what it did. Absent: nothing to remove.
   */
  release?(record: ResourceRecord, context: ResourceContext): Promise<string>;
}
