/**
 * The numbers every CIDR rule is built from, with where each comes from. Prefix lengths: a
 * smaller prefix is a larger range (a /16 holds 65,536 addresses, a /28 holds 16).
 */

/** AWS: a VPC CIDR block is between a /16 (largest) and a /28 (smallest). */
export const AWS_VPC_PREFIX = { largest: 16, smallest: 28 } as const;

/** AWS: a subnet is between a /16 and a /28 and lies inside its VPC. */
export const AWS_SUBNET_PREFIX = { largest: 16, smallest: 28 } as const;

/** AWS reserves five addresses in every subnet: the first four and the last. */
export const AWS_RESERVED_ADDRESSES_PER_SUBNET = 5n;

/** Availability zones `kboot cidr plan` carves subnets for (the largest AWS regions have six). */
export const AZ_COUNT = { min: 1, max: 6 } as const;

/** Fewer zones than this and a zone outage takes etcd's quorum with it. */
export const HA_AZ_COUNT = 3;

/**
 * Service CIDR: kube-apiserver refuses an IPv4 `--service-cluster-ip-range` larger than a /12
 * (kubeadm's default, 10.96.0.0/12, is exactly that). kboot refuses ranges smaller than a /24:
 * 254 Services is the least a cluster with its addons can live with.
 */
export const SERVICE_PREFIX = { largest: 12, smallest: 24 } as const;

/**
 * Pod CIDR: kube-controller-manager gives every node a /24 of it (`--node-cidr-mask-size`,
 * which kubeadm leaves at its IPv4 default), so the range must hold several /24s. kboot requires
 * at least a /20: 16 nodes. Does not apply with `--pods-in-vpc`, where pods take addresses from
 * the VPC subnets instead (AWS VPC CNI).
 */
export const NODE_POD_PREFIX = 24;
export const POD_SMALLEST_PREFIX = 20;

/** kubeadm's cluster DNS Service IP: the 10th address of the service CIDR (network + 10). */
export const CLUSTER_DNS_OFFSET = 10n;

/** The `kubernetes` Service (the API server): the first address of the service CIDR. */
export const API_SERVER_SERVICE_OFFSET = 1n;

/** Ranges no VPC, pod or service CIDR may touch: a node could no longer reach what lives there. */
export const SPECIAL_USE_RANGES: readonly { cidr: string; what: string }[] = [
  { cidr: '0.0.0.0/8', what: '"this network" (RFC 1122)' },
  { cidr: '127.0.0.0/8', what: 'loopback' },
  { cidr: '169.254.0.0/16', what: 'link-local: EC2 instance metadata lives at 169.254.169.254' },
  { cidr: '224.0.0.0/4', what: 'multicast' },
  { cidr: '240.0.0.0/4', what: 'reserved, including broadcast' },
];

/**
 * Defaults, tried in order; the first that overlaps neither the VPC nor a range already taken
 * wins. Pods: the range the kubeadm and flannel docs use, then pieces of 172.16.0.0/12 and
 * 192.168.0.0/16 (Calico's default). Services: kubeadm's default, then the range EKS uses when
 * the VPC is in 10.0.0.0/8, then 192.168.0.0/16. The three of each lie in 10/8, 172/8 and 192/8:
 * a VPC (at most a /16) blocks one of them, and so does any other range (one spanning two of
 * those /8s would contain 127.0.0.0/8 or 169.254.0.0/16), so one is always free.
 */
export const POD_CIDR_CANDIDATES: readonly string[] = ['10.244.0.0/16', '172.16.0.0/16', '192.168.0.0/16'];
export const SERVICE_CIDR_CANDIDATES: readonly string[] = ['10.96.0.0/12', '172.20.0.0/16', '192.168.0.0/16'];
