import { type Command, Option } from 'commander';
import { COMMAND_DEFAULTS } from '../defaults.js';
import {
  configOption,
  defaultedOption,
  dryRunOption,
  lazyAction,
  outputOption,
  type Runtime,
} from '../define.js';

const ROTATE = COMMAND_DEFAULTS.rotate;
const LEAVE = COMMAND_DEFAULTS.leave;

export function registerDayTwo(program: Command, runtime: Runtime): void {
  program
    .command('rotate')
    .description('renew join material in Secrets Manager before it lapses (run on control-plane instances)')
    .addOption(
      defaultedOption(
        '--renew-before <duration>',
        'create a new bootstrap token when the published one has less life left than this',
        ROTATE.renewBefore,
      ),
    )
    .addOption(
      defaultedOption(
        '--token-ttl <duration>',
        'lifetime of a new bootstrap token, never 0',
        ROTATE.tokenTtl,
      ),
    )
    .addOption(
      defaultedOption(
        '--certificate-key-renew-before <duration>',
        're-upload the control-plane certificates under a new key when the published key (2h life) has less left than this',
        ROTATE.certificateKeyRenewBefore,
      ),
    )
    .addOption(
      defaultedOption(
        '--wait-timeout <duration>',
        'how long to wait for a joining master before replacing the certificate key',
        ROTATE.waitTimeout,
      ),
    )
    .addOption(configOption())
    .addOption(dryRunOption())
    .addOption(outputOption())
    .action(lazyAction(runtime, async () => (await import('../handlers/rotate.js')).rotateCommand));

  program
    .command('cleanup')
    .description(
      'remove the etcd members and Node objects of instances that are terminated or gone (run on a control-plane member)',
    )
    .addOption(
      defaultedOption(
        '--wait-timeout <duration>',
        'how long to wait for a joining master to release the control-plane-join lease',
        COMMAND_DEFAULTS.cleanup.waitTimeout,
      ),
    )
    .addOption(configOption())
    .addOption(dryRunOption())
    .addOption(outputOption())
    .action(lazyAction(runtime, async () => (await import('../handlers/cleanup.js')).cleanupCommand));

  program
    .command('approve-csrs')
    .description(
      "approve the kubelet client and serving certificate requests of this cluster's own EC2 instances (run on control-plane instances, by kboot-approve-csrs.timer)",
    )
    .addOption(
      new Option('--config <path>', 'node config file (resolved under --root)').default(
        '/etc/kboot/config.yaml',
      ),
    )
    .addOption(dryRunOption())
    .addOption(outputOption())
    .action(
      lazyAction(runtime, async () => (await import('../handlers/approve-csrs.js')).approveCsrsCommand),
    );

  program
    .command('leave-controller')
    .description(
      "drain and delete the Nodes of workers that asked to leave, with this master's credentials (run on a control-plane member; kboot-leave-controller.timer)",
    )
    .addOption(
      new Option('--config <path>', 'node config file (resolved under --root)').default(
        '/etc/kboot/config.yaml',
      ),
    )
    .addOption(dryRunOption())
    .addOption(outputOption())
    .action(
      lazyAction(
        runtime,
        async () => (await import('../handlers/leave-controller.js')).leaveControllerCommand,
      ),
    );

  program
    .command('leave')
    .description('drain this node, leave etcd, reset and complete the Auto Scaling lifecycle action')
    .addOption(
      defaultedOption(
        '--drain-timeout <duration>',
        'deadline for draining the node; then kboot logs what is left and goes on',
        LEAVE.drainTimeout,
      ),
    )
    .addOption(
      defaultedOption(
        '--lifecycle-hook <name>',
        'the Auto Scaling termination lifecycle hook to complete',
        LEAVE.lifecycleHook,
      ),
    )
    .addOption(
      new Option(
        '--lifecycle-action-token <uuid>',
        'the lifecycle action token from the notification (default: name the action by instance id)',
      ),
    )
    .addOption(
      new Option(
        '--heartbeat-interval <duration>',
        "how often to record a lifecycle action heartbeat (default: a third of the hook's heartbeat timeout)",
      ),
    )
    .addOption(
      new Option(
        '--watch',
        'wait until IMDS shows the instance is being terminated (Auto Scaling Terminated, spot terminate), then leave',
      ),
    )
    .addOption(
      defaultedOption('--poll-interval <duration>', 'how often --watch reads IMDS', LEAVE.pollInterval),
    )
    .addOption(
      new Option(
        '--only-if-terminating',
        'leave only when IMDS shows the instance is being terminated (the shutdown unit: a reboot stays)',
      ),
    )
    .addOption(configOption())
    .addOption(dryRunOption())
    .addOption(outputOption())
    .action(lazyAction(runtime, async () => (await import('../handlers/leave.js')).leaveCommand));
}
