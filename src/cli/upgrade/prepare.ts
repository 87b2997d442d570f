/**
 * Everything `kboot cluster upgrade` (and `kboot cluster plan`'s upgrade section) reads before a
 * roll: the cluster record, the groups of the spec and their instances, the target's AMI per
 * architecture, and the planner's answer — with every reason to refuse gathered in one list.
 */

import { AsgFleet, type FleetGroup } from '../../adapters/aws/asg-fleet.js';
import type { AwsClients } from '../../adapters/aws/clients.js';
import { DynamoDbClusterStore } from '../../adapters/aws/dynamodb-cluster-store.js';
import { resolveTargetImages } from '../../adapters/aws/upgrade-images.js';
import type { Clock } from '../../core/clock.js';
import type { AsgProperties, LaunchTemplateProperties } from '../../domain/cluster/compute.js';
import { clusterGraph } from '../../domain/cluster/graph.js';
import type { DesiredResource } from '../../domain/cluster/resource.js';
import type { ClusterSpec } from '../../domain/cluster/spec.js';
import type { ClusterRecord } from '../../domain/state/cluster-record.js';
import { planUpgrade, type UpgradePlanResult, type UpgradeTarget } from '../../domain/upgrade/plan.js';
import type { UpgradeRecord } from '../../domain/upgrade/record.js';
import type { FleetInstance } from '../../domain/upgrade/roll-ports.js';

export interface Prepared {
  spec: ClusterSpec;
  graph: DesiredResource[];
  store: DynamoDbClusterStore;
  record: ClusterRecord | undefined;
  fleet: AsgFleet;
  instances: FleetInstance[];
  target: UpgradeTarget;
  plan: UpgradePlanResult | undefined;
  /** The recorded upgrade this roll resumes; undefined when none, or one to other AMIs it supersedes. */
  resumes: UpgradeRecord | undefined;
  /** Every reason to refuse: the planner's, the images', a missing or uninitialized record. */
  refusals: string[];
}

export async function prepareUpgrade(input: {
  spec: ClusterSpec;
  clients: AwsClients;
  clock: Clock;
  maxUnavailable: number;
  signal: AbortSignal;
}): Promise<Prepared> {
  const { spec, clients } = input;
  const graph = clusterGraph(spec);
  const store = new DynamoDbClusterStore({
    dynamodb: await clients.dynamodb(),
    tableName: spec.table,
    clock: input.clock,
  });
  const record = await store.readRecord(spec.name, input.signal);
  const groups: FleetGroup[] = graph
    .filter((r) => r.kind === 'asg')
    .map((r) => {
      const p = r.properties as unknown as AsgProperties;
      return { name: p.name, role: p.role, specMaxSize: p.maxSize };
    });
  const fleet = new AsgFleet(
    groups,
    () => clients.autoScaling(),
    () => clients.ec2(),
  );
  const templates = graph
    .filter((r) => r.kind === 'launch-template')
    .map((r) => r.properties as unknown as LaunchTemplateProperties);
  const resolved = await resolveTargetImages(
    await clients.ec2(),
    templates.map((t) => ({ group: t.group, ami: t.ami, kubernetesVersion: t.kubernetesVersion })),
  );
  const target: UpgradeTarget = {
    kubernetesVersion: spec.kubernetesVersion,
    images: resolved.images,
    maxUnavailable: Object.fromEntries(
      groups.filter((g) => g.role === 'worker').map((g) => [g.name, input.maxUnavailable]),
    ),
  };
  const refusals = [...resolved.problems];
  if (record === undefined) {
    refusals.push(
      `cluster "${spec.name}" has no record in DynamoDB table ${spec.table}: create it first ('kboot cluster create')`,
    );
    return {
      spec,
      graph,
      store,
      record,
      fleet,
      instances: [],
      target,
      plan: undefined,
      resumes: undefined,
      refusals,
    };
  }
  if (record.initialized === undefined) {
    refusals.push(
      `cluster "${spec.name}" is not initialized yet: wait for its first control-plane instance (kboot status)`,
    );
  }
  const instances = await fleet.instances(input.signal);
  // A recorded roll at the same version onto other AMIs (a newer build, or the earlier AMI to back
  // out) is superseded: the new roll starts over from the instances as they are.
  const recorded = record.upgrade?.phase === 'done' ? undefined : record.upgrade;
  const resumes =
    recorded !== undefined && sameImages(recorded.to.images, target.images) ? recorded : undefined;
  const superseded =
    recorded !== undefined &&
    resumes === undefined &&
    plainVersion(recorded.to.kubernetesVersion) === plainVersion(target.kubernetesVersion);
  const { upgrade: _recorded, ...withoutUpgrade } = record;
  const plan = planUpgrade({
    record: superseded ? withoutUpgrade : record,
    target,
    instances,
    nowMs: input.clock.nowMs(),
  });
  if (!plan.ok) refusals.push(...plan.refusals.map((r) => r.message));
  return { spec, graph, store, record, fleet, instances, target, plan, resumes, refusals };
}

const plainVersion = (version: string) => version.replace(/^v/, '');

function sameImages(a: Partial<Record<string, string>>, b: Partial<Record<string, string>>): boolean {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  return [...keys].every((key) => a[key] === b[key]);
}
