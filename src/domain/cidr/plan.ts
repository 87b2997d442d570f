/**
 * `kboot cidr plan`: from a VPC CIDR and a zone count to the cluster's whole address plan —
 * per-AZ subnets (carve.ts), a pod and a service range that overlap neither the VPC nor each
 * other (given, or the first free default), and the two Service IPs kubeadm derives from the
 * service range. With `podsInVpc` the pods deliberately share the VPC range, and the plan says so.
 */

import { carveSubnets, type PlannedSubnet } from './carve.js';
import { firstFreeCandidate } from './defaults.js';
import type { Ipv4Cidr } from './ipv4-cidr.js';
import {
  API_SERVER_SERVICE_OFFSET,
  CLUSTER_DNS_OFFSET,
  HA_AZ_COUNT,
  POD_CIDR_CANDIDATES,
  SERVICE_CIDR_CANDIDATES,
} from './limits.js';
import { CIDR_FLAG_NAMES, type CidrInputNames } from './names.js';
import { parseAzCount, parseCidr } from './parse.js';
import { requirePodCidr, requireServiceCidr, requireVpcCidr } from './rules.js';

export interface PlanRequest {
  vpcCidr: string;
  azCount: string | number;
  podCidr?: string | undefined;
  serviceCidr?: string | undefined;
  podsInVpc?: boolean | undefined;
}

/** Where a range came from: given by the user, the first free default, or the VPC itself. */
export type RangeSource = 'given' | 'default' | 'vpc';

export interface PlannedRange {
  cidr: Ipv4Cidr;
  source: RangeSource;
}

export interface NetworkPlan {
  vpc: Ipv4Cidr;
  azCount: number;
  subnets: PlannedSubnet[];
  spare: Ipv4Cidr[];
  pod: PlannedRange;
  /** True when pods deliberately share the VPC range (`--pods-in-vpc`). */
  podsInVpc: boolean;
  service: PlannedRange;
  /** The `kubernetes` Service's IP: service network + 1. */
  apiServerServiceIp: string;
  /** kubelet's clusterDNS, the DNS Service's IP: service network + 10, as kubeadm sets it. */
  clusterDnsIp: string;
  /** Things the reader must know about this plan, one sentence each. */
  notes: string[];
}

export function serviceIps(service: Ipv4Cidr): { apiServerServiceIp: string; clusterDnsIp: string } {
  return {
    apiServerServiceIp: service.addressAt(API_SERVER_SERVICE_OFFSET),
    clusterDnsIp: service.addressAt(CLUSTER_DNS_OFFSET),
  };
}

function choosePod(
  givenPod: Ipv4Cidr | undefined,
  givenService: Ipv4Cidr | undefined,
  vpc: Ipv4Cidr,
  podsInVpc: boolean,
  names: CidrInputNames,
): PlannedRange {
  if (givenPod !== undefined) return { cidr: givenPod, source: 'given' };
  if (podsInVpc) return { cidr: vpc, source: 'vpc' };
  const taken = givenService === undefined ? [vpc] : [vpc, givenService];
  return { cidr: firstFreeCandidate(POD_CIDR_CANDIDATES, taken, 'pod CIDR', names.pod), source: 'default' };
}

export function planNetwork(request: PlanRequest, names: CidrInputNames = CIDR_FLAG_NAMES): NetworkPlan {
  const podsInVpc = request.podsInVpc === true;
  const vpc = parseCidr(request.vpcCidr, names.vpc);
  const azCount = parseAzCount(request.azCount, names.azs);
  const givenPod = request.podCidr === undefined ? undefined : parseCidr(request.podCidr, names.pod);
  const givenService =
    request.serviceCidr === undefined ? undefined : parseCidr(request.serviceCidr, names.service);

  requireVpcCidr(vpc, names);
  const layout = carveSubnets(vpc, azCount, names);
  if (givenPod !== undefined) requirePodCidr(givenPod, vpc, podsInVpc, names);
  if (givenService !== undefined) requireServiceCidr(givenService, vpc, givenPod, names);

  const pod = choosePod(givenPod, givenService, vpc, podsInVpc, names);
  const service: PlannedRange =
    givenService !== undefined
      ? { cidr: givenService, source: 'given' }
      : {
          cidr: firstFreeCandidate(SERVICE_CIDR_CANDIDATES, [vpc, pod.cidr], 'service CIDR', names.service),
          source: 'default',
        };

  const notes: string[] = [];
  if (podsInVpc) {
    notes.push(
      `pods share the VPC range (${names.podsInVpc}): pod IPs come from the VPC subnets (AWS VPC CNI style), so the pod CIDR ${pod.cidr.toString()} overlaps the VPC on purpose`,
    );
  }
  if (azCount < HA_AZ_COUNT) {
    notes.push(
      `only ${azCount} availability zone${azCount === 1 ? '' : 's'}: with fewer than ${HA_AZ_COUNT}, one zone outage can take etcd's quorum with it`,
    );
  }
  return {
    vpc,
    azCount,
    subnets: layout.subnets,
    spare: layout.spare,
    pod,
    podsInVpc,
    service,
    ...serviceIps(service.cidr),
    notes,
  };
}
