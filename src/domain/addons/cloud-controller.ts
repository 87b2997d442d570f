/**
 * The AWS cloud-controller-manager (kubernetes/cloud-provider-aws), rendered like the upstream
 * chart: a service account, its ClusterRole and bindings, and a DaemonSet on control-plane nodes
 * (host network: it must run before the pod network does). It sets each node's provider ID and
 * addresses, removes the uninitialized taint, and makes Services of type LoadBalancer work. The
 * image matches the cluster's Kubernetes minor, as the project releases one line per minor.
 *
 * --configure-cloud-routes is matched to the CNI: with Cilium's cluster-pool IPAM the pod
 * addresses come from Cilium's operator (not the node CIDRs the route controller would program)
 * and travel in a VXLAN tunnel, so VPC routes would be wrong and are never needed; without a CNI
 * of kboot's (`none`), kboot cannot know that the operator's CNI wants VPC routes either, and
 * routes would need route-table IAM grants kboot's policies do not give: off too.
 */

import { parseKubernetesVersion } from '../kubeadm/version.js';
import { cloudControllerImageFor, KUBERNETES_MINORS } from '../kubeadm/versions.js';
import type { KubeObject } from './objects.js';

/** The newest usable release of each line the project publishes, per Kubernetes minor (../kubeadm/versions.ts). */
export const CLOUD_CONTROLLER_IMAGES: Readonly<Record<string, string>> = Object.fromEntries(
  KUBERNETES_MINORS.map((entry) => [entry.minor, entry.cloudControllerImage]),
);

const NAMESPACE = 'kube-system';
const NAME = 'aws-cloud-controller-manager';
const ACCOUNT = 'cloud-controller-manager';

export interface CloudControllerInput {
  clusterName: string;
  /** The cluster's Kubernetes version, e.g. 1.31.2. */
  kubernetesVersion: string;
  cni: 'cilium' | 'none';
  /** Overrides the image chosen for the minor (a mirror, a newer patch release). */
  image?: string;
}

/** The cloud-controller-manager image for a Kubernetes version (same minor). */
export function cloudControllerImage(kubernetesVersion: string, override?: string): string {
  if (override !== undefined) return override;
  const version = parseKubernetesVersion(kubernetesVersion, 'the cluster version');
  return cloudControllerImageFor(`${version.major}.${version.minor}`);
}

/** Whether the route controller programs VPC route tables for node pod CIDRs (see above). */
export function configureCloudRoutes(cni: 'cilium' | 'none'): boolean {
  switch (cni) {
    case 'cilium':
      return false;
    case 'none':
      return false;
  }
}

function clusterRole(): KubeObject {
  const rule = (resources: string[], verbs: string[], apiGroups = ['']) => ({ apiGroups, resources, verbs });
  return {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRole',
    metadata: { name: 'system:cloud-controller-manager' },
    rules: [
      rule(['events'], ['create', 'patch', 'update']),
      rule(['nodes'], ['*']),
      rule(['nodes/status'], ['patch']),
      rule(['services'], ['list', 'patch', 'update', 'watch']),
      rule(['services/status'], ['list', 'patch', 'update', 'watch']),
      rule(['serviceaccounts'], ['create', 'get', 'list', 'watch']),
      rule(['persistentvolumes'], ['get', 'list', 'update', 'watch']),
      rule(['endpoints'], ['create', 'get', 'list', 'watch', 'update']),
      rule(['leases'], ['create', 'get', 'list', 'watch', 'update'], ['coordination.k8s.io']),
      rule(['serviceaccounts/token'], ['create']),
    ],
  };
}

function daemonSet(input: CloudControllerInput): KubeObject {
  const labels = { 'k8s-app': NAME };
  return {
    apiVersion: 'apps/v1',
    kind: 'DaemonSet',
    metadata: { name: NAME, namespace: NAMESPACE, labels },
    spec: {
      selector: { matchLabels: labels },
      updateStrategy: { type: 'RollingUpdate' },
      template: {
        metadata: { labels },
        spec: {
          nodeSelector: { 'node-role.kubernetes.io/control-plane': '' },
          tolerations: [
            { key: 'node.cloudprovider.kubernetes.io/uninitialized', value: 'true', effect: 'NoSchedule' },
            { key: 'node-role.kubernetes.io/control-plane', effect: 'NoSchedule' },
            { key: 'node.kubernetes.io/not-ready', effect: 'NoSchedule' },
            { key: 'node.cilium.io/agent-not-ready', effect: 'NoSchedule' },
          ],
          priorityClassName: 'system-node-critical',
          serviceAccountName: ACCOUNT,
          hostNetwork: true,
          containers: [
            {
              name: NAME,
              image: cloudControllerImage(input.kubernetesVersion, input.image),
              args: [
                '--v=2',
                '--cloud-provider=aws',
                `--cluster-name=${input.clusterName}`,
                `--configure-cloud-routes=${configureCloudRoutes(input.cni)}`,
              ],
              resources: { requests: { cpu: '200m' } },
            },
          ],
        },
      },
    },
  };
}

/** Every object of the install, in apply order. */
export function cloudControllerObjects(input: CloudControllerInput): KubeObject[] {
  return [
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: ACCOUNT, namespace: NAMESPACE } },
    clusterRole(),
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRoleBinding',
      metadata: { name: 'system:cloud-controller-manager' },
      roleRef: {
        apiGroup: 'rbac.authorization.k8s.io',
        kind: 'ClusterRole',
        name: 'system:cloud-controller-manager',
      },
      subjects: [{ kind: 'ServiceAccount', name: ACCOUNT, namespace: NAMESPACE }],
    },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: { name: 'cloud-controller-manager:apiserver-authentication-reader', namespace: NAMESPACE },
      roleRef: {
        apiGroup: 'rbac.authorization.k8s.io',
        kind: 'Role',
        name: 'extension-apiserver-authentication-reader',
      },
      subjects: [{ kind: 'ServiceAccount', name: ACCOUNT, namespace: NAMESPACE }],
    },
    daemonSet(input),
  ];
}
