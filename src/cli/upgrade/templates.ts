/**
 * The roll's launch templates (src/domain/upgrade/roll-ports.ts LaunchTemplates), with the
 * cluster engine's own code: the spec's launch-template resources brought to the spec by the
 * engine (a new version with the target's AMI and node config, made the default and recorded),
 * then each group pointed at its template's new version — and nothing else of the group changed
 * (its sizes stay what the roll makes them; `kboot cluster create` would reset them).
 */

import {
  DescribeAutoScalingGroupsCommand,
  UpdateAutoScalingGroupCommand,
} from '@aws-sdk/client-auto-scaling';
import type { AwsClients } from '../../adapters/aws/clients.js';
import { awsProviders } from '../../adapters/aws/cluster/registry.js';
import { DynamoDbResourceState } from '../../adapters/aws/cluster/state.js';
import { rethrowAws } from '../../adapters/aws/errors.js';
import type { Clock } from '../../core/clock.js';
import type { Logger } from '../../core/logger.js';
import type { AsgProperties } from '../../domain/cluster/compute.js';
import { ClusterEngine } from '../../domain/cluster/engine.js';
import { resourceTags } from '../../domain/cluster/graph.js';
import type { DesiredResource } from '../../domain/cluster/resource.js';
import type { ClusterSpec } from '../../domain/cluster/spec.js';
import type { LaunchTemplates } from '../../domain/upgrade/roll-ports.js';
import { logProgress } from '../progress.js';

export interface TemplateSettings {
  spec: ClusterSpec;
  graph: readonly DesiredResource[];
  clients: AwsClients;
  logger: Logger;
  clock: Clock;
}

export function engineLaunchTemplates(settings: TemplateSettings): LaunchTemplates {
  const { spec, graph, clients, logger } = settings;
  const templates = graph.filter((r) => r.kind === 'launch-template');
  const groups = graph.filter((r) => r.kind === 'asg') as unknown as DesiredResource<AsgProperties>[];
  return {
    describe: () =>
      `make a new version of launch template${templates.length === 1 ? '' : 's'} ${templates.map((t) => t.key.replace(/^launch-template\//, '')).join(', ')} with the target's AMI and Kubernetes version, and have groups ${groups.map((g) => g.properties.name).join(', ')} launch it`,
    async prepare(signal) {
      const dynamodb = await clients.dynamodb();
      const engine = new ClusterEngine({
        cluster: spec.name,
        region: spec.region,
        state: new DynamoDbResourceState({ dynamodb, tableName: spec.table }),
        providers: awsProviders({ clients, logger, clock: settings.clock }),
        progress: logProgress(logger),
        logger,
        tagsFor: (key) => resourceTags({ name: spec.name, tags: spec.tags }, key),
        signal,
        // Their dependencies are recorded already: the engine reads their outputs from the records.
      });
      const result = await engine.create(templates.map((t) => ({ ...t, dependsOn: [] })));
      const autoScaling = await clients.autoScaling();
      const changed: string[] = [];
      for (const group of groups) {
        const template = result.outputs[group.properties.launchTemplate];
        if (template?.id === undefined || template.version === undefined) continue;
        try {
          const out = await autoScaling.send(
            new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: [group.properties.name] }),
            { abortSignal: signal },
          );
          const current = out.AutoScalingGroups?.[0]?.LaunchTemplate;
          if (current?.LaunchTemplateId === template.id && current.Version === template.version) continue;
          await autoScaling.send(
            new UpdateAutoScalingGroupCommand({
              AutoScalingGroupName: group.properties.name,
              LaunchTemplate: { LaunchTemplateId: template.id, Version: template.version },
            }),
            { abortSignal: signal },
          );
          changed.push(`${group.properties.name} → ${template.id} version ${template.version}`);
        } catch (error) {
          rethrowAws(
            error,
            `pointing ${group.properties.name} at launch template version ${template.version}`,
            'autoscaling:DescribeAutoScalingGroups, autoscaling:UpdateAutoScalingGroup, ec2:RunInstances and iam:PassRole (the instance role)',
          );
        }
      }
      return { changed };
    },
  };
}
