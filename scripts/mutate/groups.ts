/**
 * The correctness core that `npm run mutate` mutates, one group of modules at a time, each run
 * only against the test files that cover it. A module is here when a small slip in it breaks a
 * promise kboot makes to a cluster (one `kubeadm init`, etcd above quorum, no secret leaked, no
 * grant wider than asked) and no other check would notice before production does.
 * Globs over a folder keep a group right when its modules are split or added to.
 */

export interface MutationGroup {
  name: string;
  /** Why these modules are in the core. */
  why: string;
  /** The source files Stryker mutates (globs, from the repository root). */
  mutate: string[];
  /** The test files that cover them; each mutant runs only the files that reach it. */
  tests: string[];
  /** Tests need moto: one moto_server serves every mutant of the group (KBOOT_TEST_MOTO_ENDPOINT). */
  moto?: boolean;
  /** Test names left out for this group (node --test-skip-pattern, one per pattern), and why. */
  skip?: { patterns: string[]; why: string };
}

export const GROUPS: readonly MutationGroup[] = [
  {
    name: 'lease',
    why:
      'the lease with fencing is what lets exactly one instance run kubeadm init or rotate: its ' +
      'state (free, held, expired at the exact boundary), acquiring it, holding and renewing it, ' +
      'stopping the work the moment it is lost',
    mutate: ['src/domain/state/lease.ts', 'src/domain/state/hold-lease.ts'],
    tests: ['test/unit/domain/state/*lease*.test.ts'],
  },
  {
    name: 'lease-dynamodb',
    why:
      'the DynamoDB conditions that make acquire, renew, takeover and release atomic and fenced: ' +
      'only moto can tell a wrong condition expression from a right one',
    mutate: ['src/adapters/aws/dynamodb-lease-lock.ts'],
    tests: ['test/integration/state/lease.test.ts', 'test/unit/adapters/aws/dynamodb-lease-lock.test.ts'],
    moto: true,
    skip: {
      patterns: ['processes racing for one lock', 'killed with SIGKILL', 'ensureTable is idempotent'],
      why:
        'the race (twenty processes, five rounds) and the SIGKILL takeover start child processes ' +
        'for every mutant, and the table test does not touch the lock: the conditions they rely ' +
        'on are tested one by one in the same file',
    },
  },
  {
    name: 'record',
    why:
      'the cluster record: its schema and the checks that refuse a malformed or newer record, and ' +
      'waiting for the init flag',
    mutate: ['src/domain/state/cluster-record.ts', 'src/domain/state/wait-initialized.ts'],
    tests: [
      'test/unit/domain/state/cluster-record*.test.ts',
      'test/unit/domain/state/wait-initialized*.test.ts',
      'test/unit/domain/upgrade/record.test.ts',
    ],
  },
  {
    name: 'record-dynamodb',
    why:
      'the init transaction and the record in DynamoDB: the record is written once, the init flag ' +
      'only by the holder of the bootstrap lease with its fence, join material stamps never go back',
    mutate: [
      'src/adapters/aws/dynamodb-cluster-store.ts',
      'src/adapters/aws/dynamodb-cluster-table.ts',
      'src/adapters/aws/dynamodb-mark-initialized.ts',
      'src/adapters/aws/dynamodb-join-material-stamp.ts',
    ],
    tests: [
      'test/integration/state/cluster-record.test.ts',
      'test/integration/state/fenced-material.test.ts',
      'test/unit/adapters/aws/dynamodb-*.test.ts',
    ],
    moto: true,
  },
  {
    name: 'quorum',
    why: 'the cleanup plan removes etcd members and Nodes of lost instances: never a live one, never below quorum',
    mutate: ['src/domain/cleanup/plan.ts'],
    tests: ['test/unit/domain/cleanup/*.test.ts'],
  },
  {
    name: 'tokens',
    why: 'bootstrap tokens (format, TTL) and the CA public key pin that joining nodes trust',
    mutate: ['src/domain/kubeadm/tokens.ts', 'src/domain/kubeadm/ca-hash.ts'],
    tests: ['test/unit/domain/kubeadm/tokens*.test.ts', 'test/unit/domain/kubeadm/ca-hash*.test.ts'],
  },
  {
    name: 'redaction',
    why: 'secrets never reach logs, error messages or child argv: the Secret type and the redaction of text',
    mutate: ['src/core/secrets.ts'],
    tests: ['test/unit/core/redaction*.test.ts'],
  },
  {
    name: 'iam',
    why: 'the IAM policies kboot prints and creates: every grant scoped to the cluster, table, key and role that need it',
    mutate: ['src/domain/iam/**/*.ts'],
    tests: ['test/unit/domain/iam/*.test.ts'],
  },
  {
    name: 'join-freshness',
    why: 'a joining node never starts kubeadm join with a token or certificate key about to expire',
    mutate: ['src/domain/join/freshness.ts'],
    tests: ['test/unit/domain/join/freshness.test.ts'],
  },
  {
    name: 'boot',
    why:
      "the boot flows' decisions: worker or control plane, bootstrap or join after finding the " +
      'cluster initialized, may this role run this flow, already a member (then change nothing)',
    mutate: ['src/domain/flows/boot.ts', 'src/domain/flows/start-steps.ts'],
    tests: [
      'test/unit/domain/flows/boot.test.ts',
      'test/unit/domain/flows/start-steps.test.ts',
      'test/unit/domain/flows/bootstrap-master.test.ts',
      'test/unit/domain/flows/join-master.test.ts',
      'test/unit/domain/flows/join-node.test.ts',
      'test/unit/domain/flows/shape.test.ts',
    ],
  },
  {
    name: 'bootstrap',
    why:
      "bootstrap-master's decisions: who runs kubeadm init (the holder of the bootstrap lease, " +
      'after checking again under it that no other master initialized the cluster), when a master ' +
      'waits for the lease and when it ends to join instead, the record written only if absent, ' +
      'which failures keep their own exit code and which are recorded',
    mutate: [
      'src/domain/flows/bootstrap-master.ts',
      'src/domain/flows/bootstrap-master/lease.ts',
      'src/domain/flows/bootstrap-master/record.ts',
      'src/domain/flows/bootstrap-master/state.ts',
      'src/domain/steps/lease-step.ts',
    ],
    tests: [
      'test/unit/domain/flows/bootstrap-master*.test.ts',
      'test/unit/domain/flows/boot.test.ts',
      'test/unit/domain/flows/start-steps.test.ts',
      'test/unit/domain/flows/join-master.test.ts',
      'test/unit/domain/flows/shape.test.ts',
      'test/unit/domain/steps/lease-step.test.ts',
    ],
  },
];
