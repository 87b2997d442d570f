/**
 * The port through which the domain sees etcd's membership (the stacked etcd of kubeadm's
 * control plane): list the members, remove one. Adapters talk to etcd with the control plane's
 * client certificate; `kboot leave` (a master removing itself) and the cleanup of abrupt losses
 * (the surviving masters removing members whose instance is gone) both go through it.
 */

export interface EtcdMember {
  /** etcd's member id, a uint64 as a decimal string (never a JS number: it does not fit). */
  id: string;
  /** kubeadm names a member after its node: the instance's private DNS name. */
  name: string;
  peerUrls: string[];
  /** Empty for a member that was added but never started. */
  clientUrls: string[];
  isLearner: boolean;
}

export interface EtcdMembership {
  list(signal?: AbortSignal): Promise<EtcdMember[]>;
  remove(memberId: string, signal?: AbortSignal): Promise<void>;
}
