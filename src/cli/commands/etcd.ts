import { type Command, Option } from 'commander';
import { configOption, dryRunOption, lazyAction, outputOption, type Runtime } from '../define.js';

export function registerEtcd(program: Command, runtime: Runtime): void {
  const etcd = program
    .command('etcd')
    .description("back up the cluster's etcd to S3 (run on control-plane members)");

  etcd
    .command('snapshot')
    .description(
      "stream a snapshot of etcd to the cluster's backup bucket, record it and apply retention (one member per interval; kboot-etcd-snapshot.timer)",
    )
    .addOption(new Option('--bucket <name>', 'the S3 bucket (default: backup.bucket in the node config)'))
    .addOption(new Option('--force', 'take a snapshot even if another member took one this interval'))
    .addOption(configOption())
    .addOption(dryRunOption())
    .addOption(outputOption())
    .action(
      lazyAction(runtime, async () => (await import('../handlers/etcd-snapshot.js')).etcdSnapshotCommand),
    );

  etcd
    .command('recover')
    .description(
      'on the surviving control-plane member when etcd lost quorum: make it a new one-member cluster from its own data (refused while quorum is there or another member answers)',
    )
    .addOption(configOption())
    .addOption(dryRunOption())
    .addOption(outputOption())
    .action(
      lazyAction(runtime, async () => (await import('../handlers/etcd-recover.js')).etcdRecoverCommand),
    );

  etcd
    .command('restore')
    .description(
      'restore an etcd snapshot from the backup bucket into a new data directory, offline, after checking its SHA-256',
    )
    .addOption(new Option('--from <latest|key>', 'the snapshot: latest, or its key').makeOptionMandatory())
    .addOption(
      new Option('--data-dir <dir>', 'the new data directory (absent or empty)').makeOptionMandatory(),
    )
    .addOption(new Option('--yes', 'restore (without it, nothing is written)'))
    .addOption(new Option('--bucket <name>', 'the S3 bucket (default: backup.bucket in the node config)'))
    .addOption(new Option('--cluster <name>', "the cluster (default: this instance's)"))
    .addOption(new Option('--name <member>', 'the etcd member name of the restored data (default: default)'))
    .addOption(new Option('--peer-url <url>', "the member's peer URL (default: http://localhost:2380)"))
    .addOption(configOption())
    .addOption(dryRunOption())
    .addOption(outputOption())
    .action(
      lazyAction(runtime, async () => (await import('../handlers/etcd-restore.js')).etcdRestoreCommand),
    );
}
