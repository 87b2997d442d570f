/**
 * The boot flows against the fake kubeadm's versions: each node records the components it runs,
 * and a master that would join while etcd has no quorum is refused by kubeadm (check-etcd), reset,
 * and joins once etcd has its quorum again.
 */

import assert from 'node:assert/strict';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { readClusterItem } from '../../support/aws.js';
import { useBootSuite } from '../../support/boot-suite.js';

const FAST_LEASE = 'apiEndpoint: api.example.com\ntimeouts: { lease: 3s, waitForInit: 60s }\n';

interface Member {
  nodeName: string;
  role: string;
  versions: Record<string, string>;
}

describe('boot flows and component versions', () => {
  const boot = useBootSuite();

  it('a master joining while etcd has no quorum fails with kubeadm’s error and is reset; it joins once etcd recovers', async () => {
    const sim = await boot.cluster({ name: 'quorum', nodeConfig: FAST_LEASE });
    const members = (): Member[] =>
      JSON.parse(readFileSync(path.join(sim.clusterDir, 'members.json'), 'utf8')) as Member[];
    const first = await sim.addInstance('control-plane');
    const initialized = await sim.run(first);
    assert.equal(initialized.exitCode, 0, initialized.stderr.slice(-1500));
    const [firstMember] = members();
    assert.ok(firstMember !== undefined);

    // The first master's etcd member stops answering: one of one, no quorum.
    const downFile = path.join(sim.clusterDir, 'etcd-down');
    writeFileSync(downFile, `${firstMember.nodeName}\n`);
    const second = await sim.addInstance('control-plane');
    const refused = await sim.run(second);
    assert.equal(refused.exitCode, 7, refused.stderr.slice(-1500));
    assert.match(refused.stderr, /etcd cluster is not healthy/);
    const lock = await readClusterItem(boot.moto, 'quorum', 'lock#control-plane-join');
    assert.equal(lock?.owner, undefined, 'the control-plane-join lease is released');
    assert.ok(
      sim.invocations().some((i) => i.command === 'reset' && i.env.KBOOT_ROOT === second.root),
      'the failed join is reset',
    );
    assert.ok(!existsSync(path.join(second.root, 'etc/kubernetes/kubelet.conf')));
    assert.equal(members().length, 1);

    rmSync(downFile);
    const joined = await sim.run(second);
    assert.equal(joined.exitCode, 0, joined.stderr.slice(-1500));
    assert.equal(JSON.parse(joined.stdout).outcome, 'joined-control-plane');
    const versions = members().map((member) => member.versions);
    assert.equal(versions.length, 2);
    for (const running of versions) {
      assert.deepEqual(running, {
        kubeadm: 'v1.31.2',
        kubelet: 'v1.31.2',
        kubeApiserver: 'v1.31.2',
        kubeControllerManager: 'v1.31.2',
        kubeScheduler: 'v1.31.2',
        etcd: '3.5.15-0',
      });
    }
  });
});
