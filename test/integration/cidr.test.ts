/** `kboot cidr plan` and `kboot cidr check` run as a user runs them: the built binary, its stdout, stderr and exit code. */

import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { before, describe, it } from 'node:test';
import { runKboot } from '../support/cli.js';
import { kbootBinary } from '../support/paths.js';

interface PlanJson {
  vpcCidr: string;
  azCount: number;
  subnets: { name: string; az: string; role: string; cidr: string }[];
  spareCidrs: string[];
  podCidr: string;
  podsInVpc: boolean;
  serviceCidr: string;
  apiServerServiceIp: string;
  clusterDnsIp: string;
}

describe('kboot cidr', () => {
  before(() => {
    assert.ok(
      existsSync(kbootBinary()),
      `${kbootBinary()} is missing: run npm run build (or set KBOOT_BINARY)`,
    );
  });

  it('plans 10.20.0.0/16 over three zones as JSON on stdout', async () => {
    const result = await runKboot([
      'cidr',
      'plan',
      '--vpc-cidr',
      '10.20.0.0/16',
      '--azs',
      '3',
      '--output',
      'json',
    ]);
    assert.equal(result.exitCode, 0, result.stderr);
    const plan = JSON.parse(result.stdout) as PlanJson;
    assert.equal(plan.vpcCidr, '10.20.0.0/16');
    assert.equal(plan.azCount, 3);
    assert.deepEqual(
      plan.subnets.map((subnet) => `${subnet.name} ${subnet.cidr}`),
      [
        'worker-a 10.20.0.0/18',
        'worker-b 10.20.64.0/18',
        'worker-c 10.20.128.0/18',
        'control-plane-a 10.20.192.0/21',
        'control-plane-b 10.20.200.0/21',
        'control-plane-c 10.20.208.0/21',
        'public-a 10.20.216.0/21',
        'public-b 10.20.224.0/21',
        'public-c 10.20.232.0/21',
      ],
    );
    assert.deepEqual(plan.spareCidrs, ['10.20.240.0/20']);
    assert.equal(plan.podCidr, '10.244.0.0/16');
    assert.equal(plan.podsInVpc, false);
    assert.equal(plan.serviceCidr, '10.96.0.0/12');
    assert.equal(plan.apiServerServiceIp, '10.96.0.1');
    assert.equal(plan.clusterDnsIp, '10.96.0.10');
  });

  it('checks the ranges it planned and prints one OK line each', async () => {
    const planned = await runKboot(['cidr', 'plan', '--vpc-cidr', '10.20.0.0/16', '-o', 'json']);
    const plan = JSON.parse(planned.stdout) as PlanJson;
    const subnetArgs = plan.subnets.flatMap((subnet) => ['--subnet', subnet.cidr]);
    const result = await runKboot([
      'cidr',
      'check',
      '--vpc-cidr',
      plan.vpcCidr,
      '--pod-cidr',
      plan.podCidr,
      '--service-cidr',
      plan.serviceCidr,
      ...subnetArgs,
    ]);
    assert.equal(result.exitCode, 0, result.stderr);
    const okLines = result.stdout.split('\n').filter((line) => line.startsWith('OK '));
    assert.equal(okLines.length, 1 + plan.subnets.length + 2);
    assert.match(result.stdout, /cluster DNS 10\.96\.0\.10/);
  });

  it('refuses a host address with exit code 2 and one line on stderr naming the flag and the network meant', async () => {
    const result = await runKboot(['cidr', 'plan', '--vpc-cidr', '10.20.0.1/16', '--output', 'json']);
    assert.equal(result.exitCode, 2);
    assert.equal(result.stdout, '');
    assert.equal(result.stderr.trimEnd().split('\n').length, 1, result.stderr);
    const [line] = result.logs;
    assert.equal(line?.level, 'error');
    assert.equal(line?.code, 'usage');
    assert.match(
      String(line?.msg),
      /^--vpc-cidr 10\.20\.0\.1\/16 is a host address.*did you mean 10\.20\.0\.0\/16\?/,
    );
  });

  it('names both ranges of an overlap in a human-readable line', async () => {
    const result = await runKboot(
      ['cidr', 'check', '--vpc-cidr', '10.20.0.0/16', '--service-cidr', '10.20.128.0/24'],
      { env: { KBOOT_LOG_FORMAT: 'pretty' } },
    );
    assert.equal(result.exitCode, 2);
    assert.equal(
      result.stderr,
      'kboot: error: --service-cidr 10.20.128.0/24 overlaps --vpc-cidr 10.20.0.0/16 (choose a service range outside the VPC and the pod range)\n',
    );
  });
});
