import { type Command, Option } from 'commander';
import { COMMAND_DEFAULTS } from '../defaults.js';
import { lazyAction, outputOption, type Runtime } from '../define.js';

export function registerCidr(program: Command, runtime: Runtime): void {
  const cidr = program.command('cidr').description('plan and check the network ranges of a cluster');
  cidr
    .command('plan')
    .description('carve per-AZ subnets from a VPC CIDR and pick pod and service ranges')
    .addOption(new Option('--vpc-cidr <cidr>', 'the VPC range').makeOptionMandatory())
    .addOption(
      new Option('--azs <n>', 'number of availability zones').default(COMMAND_DEFAULTS['cidr plan'].azs),
    )
    .addOption(new Option('--pod-cidr <cidr>', 'pod range (default: chosen outside the VPC)'))
    .addOption(new Option('--service-cidr <cidr>', 'service range (default: chosen outside the VPC)'))
    .addOption(new Option('--pods-in-vpc', 'pods deliberately share the VPC range (AWS VPC CNI style)'))
    .addOption(outputOption())
    .action(lazyAction(runtime, async () => (await import('../handlers/cidr.js')).cidrPlan));
  cidr
    .command('check')
    .description('validate given ranges: well-formed, inside the VPC where they must be, not overlapping')
    .addOption(new Option('--vpc-cidr <cidr>', 'the VPC range').makeOptionMandatory())
    .addOption(new Option('--pod-cidr <cidr>', 'pod range'))
    .addOption(new Option('--service-cidr <cidr>', 'service range'))
    .addOption(
      new Option('--subnet <cidr>', 'a subnet that must lie inside the VPC (repeatable)').argParser(
        (value: string, previous: string[] | undefined) => [...(previous ?? []), value],
      ),
    )
    .addOption(new Option('--pods-in-vpc', 'pods deliberately share the VPC range'))
    .addOption(outputOption())
    .action(lazyAction(runtime, async () => (await import('../handlers/cidr.js')).cidrCheck));
}
