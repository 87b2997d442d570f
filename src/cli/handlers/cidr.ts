import { checkNetwork } from '../../domain/cidr/check.js';
import { planNetwork } from '../../domain/cidr/plan.js';
import { checkToJson, planToJson, renderCheckText, renderPlanText } from '../../domain/cidr/render.js';
import type { CommandContext } from '../context.js';

export interface CidrPlanOptions {
  vpcCidr: string;
  azs: string;
  podCidr?: string;
  serviceCidr?: string;
  podsInVpc?: boolean;
}

export interface CidrCheckOptions {
  vpcCidr: string;
  podCidr?: string;
  serviceCidr?: string;
  subnet?: string[];
  podsInVpc?: boolean;
}

export async function cidrPlan(options: CidrPlanOptions, ctx: CommandContext): Promise<void> {
  const plan = planNetwork({
    vpcCidr: options.vpcCidr,
    azCount: options.azs,
    podCidr: options.podCidr,
    serviceCidr: options.serviceCidr,
    podsInVpc: options.podsInVpc === true,
  });
  ctx.logger.debug(
    { vpcCidr: plan.vpc.toString(), azCount: plan.azCount, podCidr: plan.pod.cidr.toString() },
    'planned the cluster network',
  );
  if (ctx.output.format === 'json') ctx.output.json(planToJson(plan));
  else ctx.output.text(renderPlanText(plan));
}

export async function cidrCheck(options: CidrCheckOptions, ctx: CommandContext): Promise<void> {
  const report = checkNetwork({
    vpcCidr: options.vpcCidr,
    podCidr: options.podCidr,
    serviceCidr: options.serviceCidr,
    subnets: options.subnet ?? [],
    podsInVpc: options.podsInVpc === true,
  });
  ctx.logger.debug({ checked: report.findings.length }, 'checked the cluster network');
  if (ctx.output.format === 'json') ctx.output.json(checkToJson(report));
  else ctx.output.text(renderCheckText(report));
}
