/**
 * What the upgrade roll asks of the cluster itself (docs/upgrades.md "Design"). Implemented over
 * the Kubernetes API with the cluster's admin.conf (src/adapters/kubernetes/); faked in unit tests.
 */

export interface HealthExpectation {
  /** The Node names (EC2 private DNS names) of the control-plane instances that should be etcd members and run the control plane now. */
  controlPlaneNodes: readonly string[];
  /** Node names that must be Ready (the instances that just joined). */
  readyNodes: readonly string[];
}

export interface HealthReport {
  healthy: boolean;
  /** One line per failed check, naming the check and what it saw; empty when healthy. */
  problems: string[];
}

/** The health gate between two replacements: the API answers through the load balancer; etcd's members equal the control-plane nodes, all healthy, no alarms; every control-plane static Pod Ready; the new Nodes Ready. */
export interface ClusterHealth {
  check(expect: HealthExpectation): Promise<HealthReport>;
}

/** kubeadm-config's ClusterConfiguration.kubernetesVersion and the kubelet-config at a version, as `kubeadm upgrade apply`'s upload-config phase leaves them. Idempotent. */
export interface ClusterConfiguration {
  kubernetesVersion(): Promise<string>;
  setKubernetesVersion(version: string): Promise<{ changed: boolean }>;
}

/** The addons bound to the Kubernetes version (kube-proxy, CoreDNS, the cloud-controller-manager, Cilium where its release changes), as `kubeadm upgrade apply` leaves them. Idempotent. */
export interface VersionedAddons {
  upgrade(version: string): Promise<{ changed: string[] }>;
}
