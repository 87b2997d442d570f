/**
 * The real ports of the cleanup of lost instances (domain/cleanup), made on first use: the member
 * registry (DynamoDB), EC2 DescribeInstances, etcd over its JSON gateway with the client
 * certificate under the root, Node objects through kubectl and the admin kubeconfig.
 * KBOOT_ETCD_ENDPOINTS (comma-separated https URLs) overrides where etcd is reached.
 */

import { UsageError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { CleanupWiring } from '../domain/cleanup/ports.js';
import { ADMIN_CONF_PATH } from '../domain/flows/paths.js';
import type { InstanceFiles } from '../domain/ports/files.js';
import type { KubectlRunner } from '../domain/ports/kubectl.js';
import type { CommandContext } from './context.js';
import type { InstanceServices } from './instance.js';

export function parseEtcdEndpoints(text: string | undefined): string[] | undefined {
  if (text === undefined || text.trim() === '') return undefined;
  const endpoints = text
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '');
  for (const endpoint of endpoints) {
    let url: URL | undefined;
    try {
      url = new URL(endpoint);
    } catch {
      url = undefined;
    }
    if (url?.protocol !== 'https:') {
      throw new UsageError(`KBOOT_ETCD_ENDPOINTS has "${endpoint}", which is not an https:// URL`, {
        hint: 'list etcd client URLs separated by commas, e.g. https://10.0.1.10:2379,https://10.0.2.10:2379',
      });
    }
  }
  return endpoints;
}

export function wireCleanup(
  ctx: CommandContext,
  services: InstanceServices,
  fs: InstanceFiles,
  logger: Logger,
  kubectl: KubectlRunner,
): CleanupWiring {
  const etcdEndpointsOverride = parseEtcdEndpoints(ctx.env.KBOOT_ETCD_ENDPOINTS);
  return {
    etcdEndpointsOverride,
    registry: async (cluster, signal) => {
      const { DynamoDbClusterStore } = await import('../adapters/aws/dynamodb-cluster-store.js');
      const store = new DynamoDbClusterStore({
        dynamodb: await (await services.aws()).dynamodb(),
        tableName: await services.table(),
        clock: ctx.clock,
      });
      return (await store.readClusterState(cluster, signal))?.members ?? [];
    },
    instances: async () => {
      const { Ec2InstanceDirectory } = await import('../adapters/aws/ec2-instances.js');
      return new Ec2InstanceDirectory(await (await services.aws()).ec2());
    },
    etcd: async ({ endpoints, rounds }) => {
      const { HttpEtcdMembership, LOCAL_ETCD_ENDPOINT } = await import('../adapters/etcd/membership.js');
      return HttpEtcdMembership.create({
        fs,
        logger,
        endpoints: etcdEndpointsOverride ?? endpoints ?? [LOCAL_ETCD_ENDPOINT],
        sleepMs: (ms, signal) => ctx.clock.sleepMs(ms, signal),
        ...(rounds === undefined ? {} : { rounds }),
      });
    },
    nodes: async () => {
      if (!(await fs.exists(ADMIN_CONF_PATH))) return undefined;
      const { KubectlNodeObjects } = await import('../adapters/kubernetes/kubectl-nodes.js');
      return new KubectlNodeObjects(kubectl, fs.resolve(ADMIN_CONF_PATH));
    },
  };
}
