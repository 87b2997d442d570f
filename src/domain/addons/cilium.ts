/**
 * Cilium as the cluster's CNI, rendered by kboot (no Helm on the instance): what a working
 * install of the pinned release needs and nothing more — the agent and operator service
 * accounts, their RBAC, the cilium-config ConfigMap, the agent DaemonSet and the operator
 * Deployment. The shapes follow the upstream Helm chart's output for this release with its
 * defaults, except:
 *   - IPAM `cluster-pool` over the cluster's pod CIDR (the operator hands each node a /24, or
 *     smaller blocks for a small pod CIDR), so pod addresses are exactly the range kubeadm was
 *     given and nothing depends on the kube-controller-manager's node CIDRs;
 *   - tunnel routing (VXLAN): pod traffic crosses the VPC encapsulated, so no VPC route table
 *     entries and no source/destination check changes are needed (and the AWS
 *     cloud-controller-manager runs with --configure-cloud-routes=false);
 *   - kube-proxy stays (kubeadm installs it): kube-proxy-replacement false;
 *   - Hubble, the L7 proxy (Envoy) and metrics are off: they are additions an operator can
 *     apply from addons.d, not what pod networking needs.
 * The operator creates Cilium's CRDs itself at start, as in the chart.
 *
 * Release: v1.20.2 (2026-09-16), the newest Cilium release whose image digests have a stored
 * source: the "Docker Manifests" of cilium/cilium's v1.20.2 release notes (the same digests a
 * `helm template` of chart 1.20.2 renders). Cilium 1.20 is e2e-tested on Kubernetes 1.33–1.36
 * (Cilium's Kubernetes compatibility page); 1.37 is newer than its tested range. The objects
 * follow the chart's 1.18 and 1.19 changes to what these defaults render (read from the
 * chart at 1.17.2 and 1.19.5): the operator may update the ciliumgatewayclassconfigs CRD,
 * delete collections of CiliumEndpointSlices and manage the ztunnel DaemonSet (a Role in
 * kube-system, granted whether ztunnel is on or not), runs with no capabilities, and names its
 * health port; the agent's config init container keeps only NET_ADMIN. Chart 1.20.1 → 1.20.2
 * changes only the two image digests for these values.
 */

import { ConfigError } from '../../core/errors.js';
import { parseCidr } from '../cidr/parse.js';
import { parseKubernetesVersion } from '../kubeadm/version.js';
import type { KubeObject } from './objects.js';

export const CILIUM_VERSION = 'v1.20.2';
export const CILIUM_IMAGE =
  'quay.io/cilium/cilium:v1.20.2@sha256:2939231d0d3e3ebddcd80fffa168b7ddcc78fdf0dc864d1c8c126ff523c54f01';
export const CILIUM_OPERATOR_IMAGE =
  'quay.io/cilium/operator-generic:v1.20.2@sha256:64d8798350e8569b8e7622563fed6e44dce2625f311e4651b774816516c744fc';

/** The Kubernetes minors Cilium 1.20 is e2e-tested on (its Kubernetes compatibility page). */
export const CILIUM_TESTED_KUBERNETES_MINORS: readonly string[] = ['1.33', '1.34', '1.35', '1.36'];

const NAMESPACE = 'kube-system';
const PART_OF = { 'app.kubernetes.io/part-of': 'cilium' };

export interface CiliumInput {
  /** The cluster's pod CIDR (IPv4), e.g. 10.244.0.0/16. */
  podCidr: string;
  /** The cluster's Kubernetes version: below 1.30 AppArmor is set by annotations, as the chart does. */
  kubernetesVersion: string;
  images?: { cilium?: string; ciliumOperator?: string };
}

/** The per-node block: /24 (254 pods) from a /20 or larger pod CIDR; smaller blocks (16 of them at least) from smaller ones. */
export function nodeMaskSize(podCidr: string): number {
  const { prefix } = parseCidr(podCidr, 'the pod CIDR');
  if (prefix > 24) {
    throw new ConfigError(`the pod CIDR ${podCidr} is too small for Cilium's cluster-pool IPAM`, {
      hint: 'give the cluster a pod CIDR of /24 or larger (/16 is the default)',
    });
  }
  return Math.max(24, Math.min(28, prefix + 4));
}

function configMap(input: CiliumInput): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'cilium-config', namespace: NAMESPACE },
    data: {
      'identity-allocation-mode': 'crd',
      'identity-heartbeat-timeout': '30m0s',
      'identity-gc-interval': '15m0s',
      'cilium-endpoint-gc-interval': '5m0s',
      'nodes-gc-interval': '5m0s',
      debug: 'false',
      'enable-policy': 'default',
      'enable-ipv4': 'true',
      'enable-ipv6': 'false',
      'custom-cni-conf': 'false',
      'enable-bpf-clock-probe': 'false',
      'monitor-aggregation': 'medium',
      'monitor-aggregation-interval': '5s',
      'monitor-aggregation-flags': 'all',
      'bpf-map-dynamic-size-ratio': '0.0025',
      'bpf-policy-map-max': '16384',
      'bpf-lb-map-max': '65536',
      'preallocate-bpf-maps': 'false',
      'cluster-name': 'default',
      'cluster-id': '0',
      'routing-mode': 'tunnel',
      'tunnel-protocol': 'vxlan',
      'enable-l7-proxy': 'false',
      'external-envoy-proxy': 'false',
      'enable-ipv4-masquerade': 'true',
      'enable-ipv6-masquerade': 'true',
      'enable-xt-socket-fallback': 'true',
      'install-no-conntrack-iptables-rules': 'false',
      'auto-direct-node-routes': 'false',
      'kube-proxy-replacement': 'false',
      'enable-k8s-networkpolicy': 'true',
      'write-cni-conf-when-ready': '/host/etc/cni/net.d/05-cilium.conflist',
      'cni-exclusive': 'true',
      'cni-log-file': '/var/run/cilium/cilium-cni.log',
      'enable-endpoint-health-checking': 'true',
      'enable-health-checking': 'true',
      'enable-well-known-identities': 'false',
      'synchronize-k8s-nodes': 'true',
      'operator-api-serve-addr': '127.0.0.1:9234',
      'enable-hubble': 'false',
      ipam: 'cluster-pool',
      'ipam-cilium-node-update-rate': '15s',
      'cluster-pool-ipv4-cidr': input.podCidr,
      'cluster-pool-ipv4-mask-size': String(nodeMaskSize(input.podCidr)),
      procfs: '/host/proc',
      'bpf-root': '/sys/fs/bpf',
      'cgroup-root': '/run/cilium/cgroupv2',
      'remove-cilium-node-taints': 'true',
      'set-cilium-node-taints': 'true',
      'set-cilium-is-up-condition': 'true',
      'agent-not-ready-taint-key': 'node.cilium.io/agent-not-ready',
    },
  };
}

function serviceAccount(name: string): KubeObject {
  return { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name, namespace: NAMESPACE } };
}

const rule = (apiGroups: string[], resources: string[], verbs: string[], resourceNames?: string[]) => ({
  apiGroups,
  resources,
  ...(resourceNames === undefined ? {} : { resourceNames }),
  verbs,
});

const WATCH = ['get', 'list', 'watch'];

const CILIUM_RESOURCES = [
  'ciliumloadbalancerippools',
  'ciliumbgpnodeconfigs',
  'ciliumbgpadvertisements',
  'ciliumbgppeerconfigs',
  'ciliumclusterwideenvoyconfigs',
  'ciliumclusterwidenetworkpolicies',
  'ciliumegressgatewaypolicies',
  'ciliumendpoints',
  'ciliumendpointslices',
  'ciliumenvoyconfigs',
  'ciliumidentities',
  'ciliumlocalredirectpolicies',
  'ciliumnetworkpolicies',
  'ciliumnodes',
  'ciliumnodeconfigs',
  'ciliumcidrgroups',
  'ciliuml2announcementpolicies',
  'ciliumpodippools',
];

function agentClusterRole(): KubeObject {
  return {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRole',
    metadata: { name: 'cilium', labels: PART_OF },
    rules: [
      rule(['networking.k8s.io'], ['networkpolicies'], WATCH),
      rule(['discovery.k8s.io'], ['endpointslices'], WATCH),
      rule([''], ['namespaces', 'services', 'pods', 'endpoints', 'nodes'], WATCH),
      rule(['apiextensions.k8s.io'], ['customresourcedefinitions'], ['list', 'watch', 'get']),
      rule(['cilium.io'], CILIUM_RESOURCES, ['list', 'watch']),
      rule(['cilium.io'], ['ciliumidentities', 'ciliumendpoints', 'ciliumnodes'], ['create']),
      rule(['cilium.io'], ['ciliumidentities'], ['update']),
      rule(['cilium.io'], ['ciliumendpoints'], ['delete', 'get']),
      rule(['cilium.io'], ['ciliumnodes', 'ciliumnodes/status'], ['get', 'update']),
      rule(
        ['cilium.io'],
        [
          'ciliumendpoints/status',
          'ciliumendpoints',
          'ciliuml2announcementpolicies/status',
          'ciliumbgpnodeconfigs/status',
        ],
        ['patch'],
      ),
    ],
  };
}

function operatorClusterRole(): KubeObject {
  return {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRole',
    metadata: { name: 'cilium-operator', labels: PART_OF },
    rules: [
      rule([''], ['pods'], ['get', 'list', 'watch', 'delete']),
      rule([''], ['configmaps'], ['patch'], ['cilium-config']),
      rule([''], ['nodes'], ['list', 'watch']),
      rule([''], ['nodes', 'nodes/status'], ['patch']),
      rule(['discovery.k8s.io'], ['endpointslices'], WATCH),
      rule([''], ['services/status'], ['update', 'patch']),
      rule([''], ['namespaces', 'secrets'], WATCH),
      rule([''], ['services', 'endpoints'], WATCH),
      rule(
        ['cilium.io'],
        ['ciliumnetworkpolicies', 'ciliumclusterwidenetworkpolicies'],
        ['create', 'update', 'deletecollection', 'patch', 'get', 'list', 'watch'],
      ),
      rule(
        ['cilium.io'],
        ['ciliumnetworkpolicies/status', 'ciliumclusterwidenetworkpolicies/status'],
        ['patch', 'update'],
      ),
      rule(['cilium.io'], ['ciliumendpoints', 'ciliumidentities'], ['delete', 'list', 'watch']),
      rule(['cilium.io'], ['ciliumidentities'], ['update']),
      rule(['cilium.io'], ['ciliumnodes'], ['create', 'update', 'get', 'list', 'watch', 'delete']),
      rule(['cilium.io'], ['ciliumnodes/status'], ['update']),
      rule(
        ['cilium.io'],
        [
          'ciliumendpointslices',
          'ciliumenvoyconfigs',
          'ciliumbgppeerconfigs',
          'ciliumbgpadvertisements',
          'ciliumbgpnodeconfigs',
        ],
        ['create', 'update', 'get', 'list', 'watch', 'delete', 'patch'],
      ),
      rule(['cilium.io'], ['ciliumbgpclusterconfigs/status', 'ciliumbgppeerconfigs/status'], ['update']),
      rule(['apiextensions.k8s.io'], ['customresourcedefinitions'], ['create', 'get', 'list', 'watch']),
      rule(
        ['apiextensions.k8s.io'],
        ['customresourcedefinitions'],
        ['update'],
        [
          'ciliumloadbalancerippools.cilium.io',
          'ciliumbgpclusterconfigs.cilium.io',
          'ciliumbgppeerconfigs.cilium.io',
          'ciliumbgpadvertisements.cilium.io',
          'ciliumbgpnodeconfigs.cilium.io',
          'ciliumbgpnodeconfigoverrides.cilium.io',
          'ciliumclusterwideenvoyconfigs.cilium.io',
          'ciliumclusterwidenetworkpolicies.cilium.io',
          'ciliumegressgatewaypolicies.cilium.io',
          'ciliumendpoints.cilium.io',
          'ciliumendpointslices.cilium.io',
          'ciliumenvoyconfigs.cilium.io',
          'ciliumidentities.cilium.io',
          'ciliumlocalredirectpolicies.cilium.io',
          'ciliumnetworkpolicies.cilium.io',
          'ciliumnodes.cilium.io',
          'ciliumnodeconfigs.cilium.io',
          'ciliumcidrgroups.cilium.io',
          'ciliuml2announcementpolicies.cilium.io',
          'ciliumpodippools.cilium.io',
          'ciliumgatewayclassconfigs.cilium.io',
        ],
      ),
      rule(
        ['cilium.io'],
        [
          'ciliumloadbalancerippools',
          'ciliumpodippools',
          'ciliumbgpclusterconfigs',
          'ciliumbgpnodeconfigoverrides',
          'ciliumbgppeerconfigs',
        ],
        WATCH,
      ),
      rule(['cilium.io'], ['ciliumpodippools'], ['create']),
      rule(['cilium.io'], ['ciliumloadbalancerippools/status'], ['patch']),
      // Leader election between operator replicas.
      rule(['coordination.k8s.io'], ['leases'], ['create', 'get', 'update']),
      rule(['cilium.io'], ['ciliumendpointslices'], ['deletecollection']),
    ],
  };
}

function binding(kind: 'ClusterRoleBinding' | 'RoleBinding', name: string, account: string): KubeObject {
  return {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind,
    metadata: {
      name,
      ...(kind === 'RoleBinding' ? { namespace: NAMESPACE } : {}),
      labels: PART_OF,
    },
    roleRef: {
      apiGroup: 'rbac.authorization.k8s.io',
      kind: kind === 'ClusterRoleBinding' ? 'ClusterRole' : 'Role',
      name,
    },
    subjects: [{ kind: 'ServiceAccount', name: account, namespace: NAMESPACE }],
  };
}

/** The operator's ztunnel controller creates, and when ztunnel is off removes, its DaemonSet. */
function operatorZtunnelRole(): KubeObject {
  return {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'Role',
    metadata: { name: 'cilium-operator-ztunnel', namespace: NAMESPACE, labels: PART_OF },
    rules: [rule(['apps'], ['daemonsets'], ['create', 'delete', 'get', 'list', 'watch'])],
  };
}

function agentConfigRole(): KubeObject {
  return {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'Role',
    metadata: { name: 'cilium-config-agent', namespace: NAMESPACE, labels: PART_OF },
    rules: [rule([''], ['configmaps'], WATCH)],
  };
}

const hostPath = (name: string, path: string, type?: string) => ({
  name,
  hostPath: { path, ...(type === undefined ? {} : { type }) },
});

const fieldEnv = (name: string, fieldPath: string) => ({
  name,
  valueFrom: { fieldRef: { apiVersion: 'v1', fieldPath } },
});

const configEnv = (name: string, key: string) => ({
  name,
  valueFrom: { configMapKeyRef: { name: 'cilium-config', key, optional: true } },
});

const healthProbe = (extra: Record<string, unknown>, requireK8s = true) => ({
  httpGet: {
    host: '127.0.0.1',
    path: '/healthz',
    port: 'health',
    scheme: 'HTTP',
    httpHeaders: [
      { name: 'brief', value: 'true' },
      ...(requireK8s ? [] : [{ name: 'require-k8s-connectivity', value: 'false' }]),
    ],
  },
  ...extra,
});

const SPC_T = { seLinuxOptions: { level: 's0', type: 'spc_t' } };
const capabilities = (add: string[]) => ({ capabilities: { add, drop: ['ALL'] } });

/** The agent's containers that must run without AppArmor confinement. */
const UNCONFINED = ['cilium-agent', 'clean-cilium-state', 'mount-cgroup', 'apply-sysctl-overwrites'];

/** Pod securityContext.appArmorProfile from Kubernetes 1.30; the beta annotations before. */
function appArmorFieldSupported(kubernetesVersion: string): boolean {
  const version = parseKubernetesVersion(kubernetesVersion, 'the cluster version');
  return version.major > 1 || version.minor >= 30;
}

function agentDaemonSet(image: string, kubernetesVersion: string): KubeObject {
  const appArmorField = appArmorFieldSupported(kubernetesVersion);
  const nodeEnv = [
    fieldEnv('K8S_NODE_NAME', 'spec.nodeName'),
    fieldEnv('CILIUM_K8S_NAMESPACE', 'metadata.namespace'),
  ];
  const hostBinary = (name: string, binary: string, command: string) => ({
    name,
    image,
    imagePullPolicy: 'IfNotPresent',
    env: [
      ...(name === 'mount-cgroup' ? [{ name: 'CGROUP_ROOT', value: '/run/cilium/cgroupv2' }] : []),
      { name: 'BIN_PATH', value: '/opt/cni/bin' },
    ],
    command: [
      'bash',
      '-ec',
      `cp /usr/bin/${binary} /hostbin/${binary};\n${command};\nrm /hostbin/${binary}\n`,
    ],
    volumeMounts: [
      { name: 'hostproc', mountPath: '/hostproc' },
      { name: 'cni-path', mountPath: '/hostbin' },
    ],
    terminationMessagePolicy: 'FallbackToLogsOnError',
    securityContext: { ...SPC_T, ...capabilities(['SYS_ADMIN', 'SYS_CHROOT', 'SYS_PTRACE']) },
  });
  return {
    apiVersion: 'apps/v1',
    kind: 'DaemonSet',
    metadata: {
      name: 'cilium',
      namespace: NAMESPACE,
      labels: { 'k8s-app': 'cilium', ...PART_OF, 'app.kubernetes.io/name': 'cilium-agent' },
    },
    spec: {
      selector: { matchLabels: { 'k8s-app': 'cilium' } },
      updateStrategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 2 } },
      template: {
        metadata: {
          annotations: {
            'kubectl.kubernetes.io/default-container': 'cilium-agent',
            ...(appArmorField
              ? {}
              : Object.fromEntries(
                  UNCONFINED.map((name) => [
                    `container.apparmor.security.beta.kubernetes.io/${name}`,
                    'unconfined',
                  ]),
                )),
          },
          labels: { 'k8s-app': 'cilium', 'app.kubernetes.io/name': 'cilium-agent', ...PART_OF },
        },
        spec: {
          ...(appArmorField ? { securityContext: { appArmorProfile: { type: 'Unconfined' } } } : {}),
          containers: [
            {
              name: 'cilium-agent',
              image,
              imagePullPolicy: 'IfNotPresent',
              command: ['cilium-agent'],
              args: ['--config-dir=/tmp/cilium/config-map'],
              startupProbe: healthProbe({
                failureThreshold: 105,
                periodSeconds: 2,
                successThreshold: 1,
                initialDelaySeconds: 5,
              }),
              livenessProbe: healthProbe(
                { periodSeconds: 30, successThreshold: 1, failureThreshold: 10, timeoutSeconds: 5 },
                false,
              ),
              readinessProbe: healthProbe({
                periodSeconds: 30,
                successThreshold: 1,
                failureThreshold: 3,
                timeoutSeconds: 5,
              }),
              env: [...nodeEnv, { name: 'CILIUM_CLUSTERMESH_CONFIG', value: '/var/lib/cilium/clustermesh/' }],
              lifecycle: { preStop: { exec: { command: ['/cni-uninstall.sh'] } } },
              ports: [{ name: 'health', containerPort: 9879, hostPort: 9879, protocol: 'TCP' }],
              securityContext: {
                ...SPC_T,
                ...capabilities([
                  'CHOWN',
                  'KILL',
                  'NET_ADMIN',
                  'NET_RAW',
                  'IPC_LOCK',
                  'SYS_MODULE',
                  'SYS_ADMIN',
                  'SYS_RESOURCE',
                  'DAC_OVERRIDE',
                  'FOWNER',
                  'SETGID',
                  'SETUID',
                ]),
              },
              terminationMessagePolicy: 'FallbackToLogsOnError',
              volumeMounts: [
                { mountPath: '/host/proc/sys/net', name: 'host-proc-sys-net' },
                { mountPath: '/host/proc/sys/kernel', name: 'host-proc-sys-kernel' },
                { name: 'bpf-maps', mountPath: '/sys/fs/bpf', mountPropagation: 'HostToContainer' },
                { name: 'cilium-run', mountPath: '/var/run/cilium' },
                { name: 'etc-cni-netd', mountPath: '/host/etc/cni/net.d' },
                { name: 'clustermesh-secrets', mountPath: '/var/lib/cilium/clustermesh', readOnly: true },
                { name: 'lib-modules', mountPath: '/lib/modules', readOnly: true },
                { name: 'xtables-lock', mountPath: '/run/xtables.lock' },
                { name: 'tmp', mountPath: '/tmp' },
              ],
            },
          ],
          initContainers: [
            {
              name: 'config',
              image,
              imagePullPolicy: 'IfNotPresent',
              command: ['cilium-dbg', 'build-config'],
              env: nodeEnv,
              volumeMounts: [{ name: 'tmp', mountPath: '/tmp' }],
              terminationMessagePolicy: 'FallbackToLogsOnError',
              securityContext: capabilities(['NET_ADMIN']),
            },
            hostBinary(
              'mount-cgroup',
              'cilium-mount',
              'nsenter --cgroup=/hostproc/1/ns/cgroup --mount=/hostproc/1/ns/mnt "$BIN_PATH/cilium-mount" $CGROUP_ROOT',
            ),
            hostBinary(
              'apply-sysctl-overwrites',
              'cilium-sysctlfix',
              'nsenter --mount=/hostproc/1/ns/mnt "$BIN_PATH/cilium-sysctlfix"',
            ),
            {
              name: 'mount-bpf-fs',
              image,
              imagePullPolicy: 'IfNotPresent',
              args: ['mount | grep "/sys/fs/bpf type bpf" || mount -t bpf bpf /sys/fs/bpf'],
              command: ['/bin/bash', '-c', '--'],
              terminationMessagePolicy: 'FallbackToLogsOnError',
              securityContext: { privileged: true },
              volumeMounts: [
                { name: 'bpf-maps', mountPath: '/sys/fs/bpf', mountPropagation: 'Bidirectional' },
              ],
            },
            {
              name: 'clean-cilium-state',
              image,
              imagePullPolicy: 'IfNotPresent',
              command: ['/init-container.sh'],
              env: [
                configEnv('CILIUM_ALL_STATE', 'clean-cilium-state'),
                configEnv('CILIUM_BPF_STATE', 'clean-cilium-bpf-state'),
                configEnv('WRITE_CNI_CONF_WHEN_READY', 'write-cni-conf-when-ready'),
              ],
              terminationMessagePolicy: 'FallbackToLogsOnError',
              securityContext: {
                ...SPC_T,
                ...capabilities(['NET_ADMIN', 'SYS_MODULE', 'SYS_ADMIN', 'SYS_RESOURCE']),
              },
              volumeMounts: [
                { name: 'bpf-maps', mountPath: '/sys/fs/bpf' },
                {
                  name: 'cilium-cgroup',
                  mountPath: '/run/cilium/cgroupv2',
                  mountPropagation: 'HostToContainer',
                },
                { name: 'cilium-run', mountPath: '/var/run/cilium' },
              ],
            },
            {
              name: 'install-cni-binaries',
              image,
              imagePullPolicy: 'IfNotPresent',
              command: ['/install-plugin.sh'],
              resources: { requests: { cpu: '100m', memory: '10Mi' } },
              securityContext: { ...SPC_T, capabilities: { drop: ['ALL'] } },
              terminationMessagePolicy: 'FallbackToLogsOnError',
              volumeMounts: [{ name: 'cni-path', mountPath: '/host/opt/cni/bin' }],
            },
          ],
          restartPolicy: 'Always',
          priorityClassName: 'system-node-critical',
          serviceAccountName: 'cilium',
          automountServiceAccountToken: true,
          terminationGracePeriodSeconds: 1,
          hostNetwork: true,
          nodeSelector: { 'kubernetes.io/os': 'linux' },
          tolerations: [{ operator: 'Exists' }],
          volumes: [
            { name: 'tmp', emptyDir: {} },
            hostPath('cilium-run', '/var/run/cilium', 'DirectoryOrCreate'),
            hostPath('bpf-maps', '/sys/fs/bpf', 'DirectoryOrCreate'),
            hostPath('hostproc', '/proc', 'Directory'),
            hostPath('cilium-cgroup', '/run/cilium/cgroupv2', 'DirectoryOrCreate'),
            hostPath('cni-path', '/opt/cni/bin', 'DirectoryOrCreate'),
            hostPath('etc-cni-netd', '/etc/cni/net.d', 'DirectoryOrCreate'),
            hostPath('lib-modules', '/lib/modules'),
            hostPath('xtables-lock', '/run/xtables.lock', 'FileOrCreate'),
            {
              name: 'clustermesh-secrets',
              projected: {
                defaultMode: 0o400,
                sources: [{ secret: { name: 'cilium-clustermesh', optional: true } }],
              },
            },
            hostPath('host-proc-sys-net', '/proc/sys/net', 'Directory'),
            hostPath('host-proc-sys-kernel', '/proc/sys/kernel', 'Directory'),
          ],
        },
      },
    },
  };
}

function operatorDeployment(image: string): KubeObject {
  const labels = { 'io.cilium/app': 'operator', name: 'cilium-operator' };
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: {
      name: 'cilium-operator',
      namespace: NAMESPACE,
      labels: { ...labels, ...PART_OF, 'app.kubernetes.io/name': 'cilium-operator' },
    },
    spec: {
      replicas: 2,
      selector: { matchLabels: labels },
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%', maxUnavailable: '50%' } },
      template: {
        metadata: { labels: { ...labels, ...PART_OF, 'app.kubernetes.io/name': 'cilium-operator' } },
        spec: {
          containers: [
            {
              name: 'cilium-operator',
              image,
              imagePullPolicy: 'IfNotPresent',
              command: ['cilium-operator-generic'],
              args: ['--config-dir=/tmp/cilium/config-map', '--debug=$(CILIUM_DEBUG)'],
              env: [
                fieldEnv('K8S_NODE_NAME', 'spec.nodeName'),
                fieldEnv('CILIUM_K8S_NAMESPACE', 'metadata.namespace'),
                configEnv('CILIUM_DEBUG', 'debug'),
              ],
              ports: [{ name: 'health', containerPort: 9234, hostPort: 9234 }],
              livenessProbe: {
                httpGet: { host: '127.0.0.1', path: '/healthz', port: 'health', scheme: 'HTTP' },
                initialDelaySeconds: 60,
                periodSeconds: 10,
                timeoutSeconds: 3,
              },
              readinessProbe: {
                httpGet: { host: '127.0.0.1', path: '/healthz', port: 'health', scheme: 'HTTP' },
                initialDelaySeconds: 0,
                periodSeconds: 5,
                timeoutSeconds: 3,
                failureThreshold: 5,
              },
              volumeMounts: [
                { name: 'cilium-config-path', mountPath: '/tmp/cilium/config-map', readOnly: true },
              ],
              securityContext: { capabilities: { drop: ['ALL'] }, allowPrivilegeEscalation: false },
              terminationMessagePolicy: 'FallbackToLogsOnError',
            },
          ],
          hostNetwork: true,
          restartPolicy: 'Always',
          priorityClassName: 'system-cluster-critical',
          serviceAccountName: 'cilium-operator',
          automountServiceAccountToken: true,
          affinity: {
            podAntiAffinity: {
              requiredDuringSchedulingIgnoredDuringExecution: [
                {
                  labelSelector: { matchLabels: { 'io.cilium/app': 'operator' } },
                  topologyKey: 'kubernetes.io/hostname',
                },
              ],
            },
          },
          nodeSelector: { 'kubernetes.io/os': 'linux' },
          tolerations: [{ operator: 'Exists' }],
          volumes: [{ name: 'cilium-config-path', configMap: { name: 'cilium-config' } }],
        },
      },
    },
  };
}

/** Every object of the install, in apply order: identities and RBAC, config, then workloads. */
export function ciliumObjects(input: CiliumInput): KubeObject[] {
  return [
    serviceAccount('cilium'),
    serviceAccount('cilium-operator'),
    configMap(input),
    agentClusterRole(),
    operatorClusterRole(),
    binding('ClusterRoleBinding', 'cilium', 'cilium'),
    binding('ClusterRoleBinding', 'cilium-operator', 'cilium-operator'),
    agentConfigRole(),
    binding('RoleBinding', 'cilium-config-agent', 'cilium'),
    operatorZtunnelRole(),
    binding('RoleBinding', 'cilium-operator-ztunnel', 'cilium-operator'),
    agentDaemonSet(input.images?.cilium ?? CILIUM_IMAGE, input.kubernetesVersion),
    operatorDeployment(input.images?.ciliumOperator ?? CILIUM_OPERATOR_IMAGE),
  ];
}
