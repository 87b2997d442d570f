import { type Command, Option } from 'commander';
import { IAM_ROLES, OPERATOR_POLICY_NAMES } from '../../domain/iam/roles.js';
import { COMMAND_DEFAULTS } from '../defaults.js';
import { configOption, dryRunOption, lazyAction, outputOption, type Runtime } from '../define.js';

export function registerOperatorTools(program: Command, runtime: Runtime): void {
  program
    .command('kubeconfig')
    .description("merge the cluster's admin kubeconfig into your kubeconfig")
    .addOption(new Option('--cluster <name>', 'cluster name').makeOptionMandatory())
    .addOption(new Option('--context <name>', 'context name to write (default: the cluster name)'))
    .addOption(new Option('--set-current', 'make the context the current one'))
    .addOption(
      new Option(
        '--file <path>',
        'kubeconfig to merge into (default: the file kubectl writes: from KUBECONFIG, else ~/.kube/config)',
      ),
    )
    .addOption(new Option('--print', 'print the kubeconfig to stdout instead of merging'))
    .action(lazyAction(runtime, async () => (await import('../handlers/kubeconfig.js')).kubeconfig));

  const cluster = program.command('cluster').description("create, plan or destroy a cluster's AWS resources");
  for (const [name, description] of [
    ['plan', 'show what create would make or change, without changing anything'],
    ['create', 'create (or resume creating) the cluster resources'],
    ['destroy', 'delete every resource kboot created for the cluster'],
  ] as const) {
    const sub = cluster
      .command(name)
      .description(description)
      .addOption(new Option('--name <cluster>', 'cluster name').makeOptionMandatory())
      .addOption(new Option('-f, --spec <path>', 'cluster spec file (YAML)'))
      .addOption(outputOption());
    if (name !== 'plan') sub.addOption(dryRunOption());
    if (name !== 'plan') {
      sub.addOption(
        new Option('--parallelism <n>', 'resources worked on at once (like terraform -parallelism)').default(
          COMMAND_DEFAULTS[`cluster ${name}`].parallelism,
        ),
      );
    }
    if (name === 'destroy') {
      sub.addOption(new Option('--yes', 'destroy without asking (needed when not at a terminal)'));
    }
    sub.action(
      lazyAction(runtime, async () => {
        const handlers = await import('../handlers/cluster.js');
        return {
          plan: handlers.clusterPlan,
          create: handlers.clusterCreate,
          destroy: handlers.clusterDestroy,
        }[name];
      }),
    );
  }

  cluster
    .command('upgrade')
    .description(
      "roll the cluster to the spec's Kubernetes version and AMI, one instance at a time (resumes)",
    )
    .addOption(new Option('--name <cluster>', 'cluster name').makeOptionMandatory())
    .addOption(new Option('-f, --spec <path>', 'cluster spec file (YAML)'))
    .addOption(outputOption())
    .addOption(dryRunOption())
    .addOption(new Option('--yes', 'upgrade without asking (needed when not at a terminal)'))
    .addOption(new Option('--max-unavailable <n>', 'workers of a group replaced at once').default('1'))
    .action(lazyAction(runtime, async () => (await import('../handlers/cluster-upgrade.js')).clusterUpgrade));

  program
    .command('iam-policy')
    .description('print the least-privilege IAM policy for a role')
    .addOption(new Option('--role <role>', 'who the policy is for').choices(IAM_ROLES).makeOptionMandatory())
    .addOption(
      new Option(
        '--cluster <name>',
        "scope the policy to one cluster's items and secrets (default: every cluster)",
      ),
    )
    .addOption(new Option('--account <id>', 'AWS account id in resource ARNs (default: *)'))
    .addOption(
      new Option(
        '--kms-key-arn <arn>',
        "the cluster's KMS key: grants its use through Secrets Manager (and fixes the region)",
      ),
    )
    .addOption(
      new Option(
        '--irsa-bucket <name>',
        'control-plane: the IRSA bucket (addons.irsa.bucket) the OIDC documents go to (default: any bucket)',
      ),
    )
    .addOption(
      new Option(
        '--backup-bucket <name>',
        'control-plane: the etcd snapshot bucket (backup.bucket); its <cluster>/etcd/ objects only (default: no statement)',
      ),
    )
    .addOption(
      new Option(
        '--policy <name>',
        "operator: one of the operator's managed policies (each fits IAM's 6,144 characters; attach all of them)",
      ).choices(OPERATOR_POLICY_NAMES),
    )
    .addOption(
      new Option(
        '--cloud-controller',
        "control-plane: also the AWS cloud-controller-manager's actions (addons.cloudController)",
      ),
    )
    .addHelpText('after', '\n--table and --region (global options) scope the policy too; region default: *.')
    .action(lazyAction(runtime, async () => (await import('../handlers/iam-policy.js')).iamPolicy));

  const config = program.command('config').description('work with the node config file');
  config
    .command('check')
    .description('validate the node config file without side effects')
    .addOption(configOption())
    .addOption(outputOption())
    .action(lazyAction(runtime, async () => (await import('../handlers/config-check.js')).configCheck));
}
