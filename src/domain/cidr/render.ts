/**
 * Plans and check reports as text (aligned tables for people) and as JSON documents (for
 * scripts: flat keys, CIDRs and IPs as strings, address counts as numbers). Pure: data in, text
 * or plain objects out.
 */

import type { CheckReport } from './check.js';
import { AWS_RESERVED_ADDRESSES_PER_SUBNET, NODE_POD_PREFIX } from './limits.js';
import { CIDR_FLAG_NAMES, type CidrInputNames } from './names.js';
import type { NetworkPlan, RangeSource } from './plan.js';
import { nodeCapacity } from './rules.js';

type Align = 'left' | 'right';

/** Rows of cells as columns padded to their widest cell, two spaces apart, no trailing spaces. */
export function renderTable(
  header: readonly string[],
  rows: readonly (readonly string[])[],
  align: readonly Align[] = [],
): string {
  const all = [header, ...rows];
  const widths = header.map((_, column) => Math.max(...all.map((row) => (row[column] ?? '').length)));
  return all
    .map((row) =>
      row
        .map((cell, column) => {
          const width = widths[column] ?? cell.length;
          return align[column] === 'right' ? cell.padStart(width) : cell.padEnd(width);
        })
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

function usable(size: bigint): string {
  return String(size - AWS_RESERVED_ADDRESSES_PER_SUBNET);
}

function sourceText(source: RangeSource, flag: string, names: CidrInputNames): string {
  switch (source) {
    case 'given':
      return `given (${flag})`;
    case 'default':
      return 'default';
    case 'vpc':
      return `the VPC range (${names.podsInVpc})`;
  }
}

export function renderPlanText(plan: NetworkPlan, names: CidrInputNames = CIDR_FLAG_NAMES): string {
  const zones = `${plan.azCount} availability zone${plan.azCount === 1 ? '' : 's'}`;
  const subnetRows = plan.subnets.map((subnet) => [
    subnet.az,
    subnet.role,
    subnet.cidr.toString(),
    String(subnet.cidr.size),
    usable(subnet.cidr.size),
  ]);
  const spareRows = plan.spare.map((block) => ['-', 'spare', block.toString(), String(block.size), '-']);
  const podSource = sourceText(plan.pod.source, names.pod, names);
  const podNote = !plan.podsInVpc
    ? `${podSource}, outside the VPC; ${nodeCapacity(plan.pod.cidr)} nodes at a /${NODE_POD_PREFIX} each`
    : plan.pod.source === 'vpc'
      ? `${podSource}: pod IPs come from the subnets`
      : `${podSource}, inside the VPC (${names.podsInVpc}): pods share the VPC range`;
  const rangeRows = [
    ['pod CIDR', plan.pod.cidr.toString(), podNote],
    [
      'service CIDR',
      plan.service.cidr.toString(),
      `${sourceText(plan.service.source, names.service, names)}, outside the VPC and the pod CIDR`,
    ],
    ['API server service IP', plan.apiServerServiceIp, 'service CIDR + 1'],
    ['cluster DNS IP', plan.clusterDnsIp, 'service CIDR + 10 (kubelet clusterDNS)'],
  ];
  const sections = [
    `VPC ${plan.vpc.toString()}: subnets for ${zones}`,
    renderTable(
      ['AZ', 'ROLE', 'CIDR', 'ADDRESSES', 'USABLE'],
      [...subnetRows, ...spareRows],
      ['left', 'left', 'left', 'right', 'right'],
    ) + `\n(USABLE: ADDRESSES minus the ${AWS_RESERVED_ADDRESSES_PER_SUBNET} AWS reserves in every subnet)`,
    renderTable(['RANGE', 'VALUE', 'SOURCE'], rangeRows),
  ];
  if (plan.notes.length > 0) sections.push(plan.notes.map((note) => `NOTE: ${note}`).join('\n'));
  return sections.join('\n\n');
}

export function planToJson(plan: NetworkPlan): Record<string, unknown> {
  return {
    vpcCidr: plan.vpc.toString(),
    azCount: plan.azCount,
    subnets: plan.subnets.map((subnet) => ({
      name: subnet.name,
      az: subnet.az,
      role: subnet.role,
      cidr: subnet.cidr.toString(),
      addresses: Number(subnet.cidr.size),
      usableAddresses: Number(subnet.cidr.size - AWS_RESERVED_ADDRESSES_PER_SUBNET),
    })),
    spareCidrs: plan.spare.map(String),
    podCidr: plan.pod.cidr.toString(),
    podCidrSource: plan.pod.source,
    podsInVpc: plan.podsInVpc,
    serviceCidr: plan.service.cidr.toString(),
    serviceCidrSource: plan.service.source,
    apiServerServiceIp: plan.apiServerServiceIp,
    clusterDnsIp: plan.clusterDnsIp,
    notes: plan.notes,
  };
}

export function renderCheckText(report: CheckReport): string {
  return renderTable(
    ['RESULT', 'INPUT', 'CIDR', 'FINDING'],
    report.findings.map((finding) => ['OK', finding.input, finding.cidr.toString(), finding.finding]),
  );
}

export function checkToJson(report: CheckReport): Record<string, unknown> {
  return {
    ok: true,
    checks: report.findings.map((finding) => ({
      input: finding.input,
      cidr: finding.cidr.toString(),
      ok: true,
      finding: finding.finding,
    })),
    ...(report.serviceIps ?? {}),
  };
}
