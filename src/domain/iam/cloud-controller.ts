/**
 * What the AWS cloud-controller-manager (`addons.cloudController`) needs on the control-plane
 * role: the "Control Plane Policy" of cloud-provider-aws's prerequisites page
 * (kubernetes.github.io/cloud-provider-aws/prerequisites), action for action, on `*` as upstream
 * gives it. These are not kboot's own calls: the CCM makes them, for nodes (DescribeInstances,
 * topology), Services of type LoadBalancer (classic ELB and NLB, their security groups) and routes.
 * A separate statement so `kboot iam-policy --role control-plane --cloud-controller` and
 * `kboot cluster create` (when the spec enables the cloud controller) add exactly this set, and
 * test/integration/iam-policy.test.ts knows these grants are the CCM's, not unused ones of kboot.
 */

export const CLOUD_CONTROLLER_ACTIONS = [
  'autoscaling:DescribeAutoScalingGroups',
  'autoscaling:DescribeLaunchConfigurations',
  'autoscaling:DescribeTags',
  'ec2:DescribeInstances',
  'ec2:DescribeRegions',
  'ec2:DescribeRouteTables',
  'ec2:DescribeSecurityGroups',
  'ec2:DescribeSubnets',
  'ec2:DescribeVolumes',
  'ec2:DescribeAvailabilityZones',
  'ec2:CreateSecurityGroup',
  'ec2:CreateTags',
  'ec2:CreateVolume',
  'ec2:ModifyInstanceAttribute',
  'ec2:ModifyVolume',
  'ec2:AttachVolume',
  'ec2:AuthorizeSecurityGroupIngress',
  'ec2:CreateRoute',
  'ec2:DeleteRoute',
  'ec2:DeleteSecurityGroup',
  'ec2:DeleteVolume',
  'ec2:DetachVolume',
  'ec2:RevokeSecurityGroupIngress',
  'ec2:DescribeVpcs',
  'ec2:DescribeInstanceTopology',
  'elasticloadbalancing:AddTags',
  'elasticloadbalancing:AttachLoadBalancerToSubnets',
  'elasticloadbalancing:ApplySecurityGroupsToLoadBalancer',
  'elasticloadbalancing:CreateLoadBalancer',
  'elasticloadbalancing:CreateLoadBalancerPolicy',
  'elasticloadbalancing:CreateLoadBalancerListeners',
  'elasticloadbalancing:ConfigureHealthCheck',
  'elasticloadbalancing:DeleteLoadBalancer',
  'elasticloadbalancing:DeleteLoadBalancerListeners',
  'elasticloadbalancing:DescribeLoadBalancers',
  'elasticloadbalancing:DescribeLoadBalancerAttributes',
  'elasticloadbalancing:DetachLoadBalancerFromSubnets',
  'elasticloadbalancing:DeregisterInstancesFromLoadBalancer',
  'elasticloadbalancing:ModifyLoadBalancerAttributes',
  'elasticloadbalancing:RegisterInstancesWithLoadBalancer',
  'elasticloadbalancing:SetLoadBalancerPoliciesForBackendServer',
  'elasticloadbalancing:CreateListener',
  'elasticloadbalancing:CreateTargetGroup',
  'elasticloadbalancing:DeleteListener',
  'elasticloadbalancing:DeleteTargetGroup',
  'elasticloadbalancing:DescribeListeners',
  'elasticloadbalancing:DescribeLoadBalancerPolicies',
  'elasticloadbalancing:DescribeTargetGroups',
  'elasticloadbalancing:DescribeTargetHealth',
  'elasticloadbalancing:ModifyListener',
  'elasticloadbalancing:ModifyTargetGroup',
  'elasticloadbalancing:RegisterTargets',
  'elasticloadbalancing:DeregisterTargets',
  'elasticloadbalancing:SetLoadBalancerPoliciesOfListener',
  'iam:CreateServiceLinkedRole',
  'kms:DescribeKey',
] as const;

export type CloudControllerAction = (typeof CLOUD_CONTROLLER_ACTIONS)[number];

/** The statement's Sid: how readers (and the IAM policy test) tell it from kboot's own grants. */
export const CLOUD_CONTROLLER_SID = 'AwsCloudControllerManager';

export function cloudControllerStatement(): {
  Sid: string;
  Effect: 'Allow';
  Action: CloudControllerAction[];
  Resource: string[];
} {
  return {
    Sid: CLOUD_CONTROLLER_SID,
    Effect: 'Allow',
    Action: [...CLOUD_CONTROLLER_ACTIONS],
    Resource: ['*'],
  };
}
