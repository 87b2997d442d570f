/**
 * The etcd adapter (src/adapters/etcd) against three real etcd 3.4 members with client TLS: the
 * JSON gateway's shapes, uint64 ids kept exact, endpoints tried in turn, a removal that already
 * happened, a probe of a stopped member, and a client certificate etcd does not trust.
 */

import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { HttpEtcdMembership } from '../../../src/adapters/etcd/membership.js';
import { FsRoot } from '../../../src/adapters/fs/root.js';
import { systemClock } from '../../../src/core/clock.js';
import { ClusterTimeoutError, IncompatibleError } from '../../../src/core/errors.js';
import { EtcdCluster, etcdMissing } from '../../support/etcd-cluster.js';
import { freePort, tempDir } from '../../support/paths.js';
import { silentLogger } from '../../support/silent-logger.js';

const NAMES = ['ip-10-0-1-10.ec2.internal', 'ip-10-0-1-11.ec2.internal', 'ip-10-0-1-12.ec2.internal'];

describe('HttpEtcdMembership against a real etcd', { skip: etcdMissing() }, () => {
  let etcd: EtcdCluster;
  let root: string;

  before(async () => {
    etcd = await EtcdCluster.start(NAMES);
    root = tempDir('kboot-etcd-client-');
    etcd.installClientFiles(root);
  });
  after(async () => {
    await etcd?.stop();
  });

  const client = async (endpoints: string[], rounds = 2) =>
    HttpEtcdMembership.create({
      fs: new FsRoot(root),
      logger: silentLogger(),
      endpoints,
      sleepMs: (ms, signal) => systemClock.sleepMs(ms, signal),
      rounds,
      attemptTimeoutMs: 2000,
    });

  it('lists members with exact uint64 ids, trying a dead endpoint first', async () => {
    const dead = `https://127.0.0.1:${await freePort()}`;
    const members = await (await client([dead, ...etcd.nodes.map((n) => n.clientUrl)])).list();
    assert.deepEqual(members.map((m) => m.name).sort(), NAMES);
    for (const member of members) {
      assert.match(member.id, /^\d+$/);
      assert.equal(member.isLearner, false);
      assert.equal(member.clientUrls.length, 1);
    }
    const raw = (await etcd.post(etcd.nodes[0]?.clientUrl as string, '/v3/cluster/member/list')) as {
      members: { ID: string }[];
    };
    assert.deepEqual(members.map((m) => m.id).sort(), raw.members.map((m) => m.ID).sort());
  });

  it('probes members: a stopped one does not answer', async () => {
    const etcdClient = await client(etcd.nodes.map((n) => n.clientUrl));
    const members = await etcdClient.list();
    await etcd.stopMember(NAMES[2] as string);
    const probes = await Promise.all(
      members.map(async (m) => [m.name, (await etcdClient.probe(m)).alive] as const),
    );
    assert.deepEqual(Object.fromEntries(probes), {
      [NAMES[0] as string]: true,
      [NAMES[1] as string]: true,
      [NAMES[2] as string]: false,
    });
  });

  it('removes a member, and a second removal of it is not an error', async () => {
    const etcdClient = await client(etcd.nodes.slice(0, 2).map((n) => n.clientUrl));
    const stopped = (await etcdClient.list()).find((m) => m.name === NAMES[2]);
    assert.ok(stopped);
    await etcdClient.remove(stopped.id);
    await etcdClient.remove(stopped.id);
    assert.deepEqual((await etcdClient.list()).map((m) => m.name).sort(), NAMES.slice(0, 2));
  });

  it('refuses an id that is not a uint64', async () => {
    const etcdClient = await client(etcd.nodes.slice(0, 2).map((n) => n.clientUrl));
    await assert.rejects(etcdClient.remove('-1'));
    await assert.rejects(etcdClient.remove('12345678901234567890123'));
  });

  it('fails clearly when no endpoint answers, and when etcd does not trust the certificate', async () => {
    const closed = `https://127.0.0.1:${await freePort()}`;
    await assert.rejects((await client([closed], 2)).list(), (error: unknown) => {
      assert.ok(error instanceof ClusterTimeoutError);
      assert.match(
        error.message,
        /etcd did not answer \/v3\/cluster\/member\/list at any of https:\/\/127\.0\.0\.1:\d+ \(2 round\(s\)\)/,
      );
      return true;
    });
    // A client certificate from another CA: etcd rejects the handshake.
    const other = await EtcdCluster.start(['stranger']);
    try {
      const strangerRoot = tempDir('kboot-etcd-stranger-');
      other.installClientFiles(strangerRoot);
      const pki = path.join(strangerRoot, 'etc', 'kubernetes', 'pki');
      mkdirSync(path.join(pki, 'etcd'), { recursive: true });
      // trust our cluster's CA, present the stranger's client certificate
      copyFileSync(
        new FsRoot(root).resolve('/etc/kubernetes/pki/etcd/ca.crt'),
        path.join(pki, 'etcd', 'ca.crt'),
      );
      const stranger = await HttpEtcdMembership.create({
        fs: new FsRoot(strangerRoot),
        logger: silentLogger(),
        endpoints: [etcd.nodes[0]?.clientUrl as string],
        sleepMs: (ms, signal) => systemClock.sleepMs(ms, signal),
        rounds: 1,
        attemptTimeoutMs: 2000,
      });
      await assert.rejects(stranger.list(), (error: unknown) => {
        assert.ok(error instanceof IncompatibleError, String(error));
        assert.match(error.message, /refused kboot's TLS connection/);
        assert.doesNotMatch(error.message, /PRIVATE KEY/);
        return true;
      });
    } finally {
      await other.stop();
    }
  });

  it('names the missing client certificate file', async () => {
    await assert.rejects(
      HttpEtcdMembership.create({
        fs: new FsRoot(tempDir('kboot-etcd-empty-')),
        logger: silentLogger(),
        endpoints: ['https://127.0.0.1:2379'],
        sleepMs: (ms, signal) => systemClock.sleepMs(ms, signal),
      }),
      (error: unknown) => {
        assert.ok(error instanceof IncompatibleError);
        assert.match(error.message, /cannot read \/etc\/kubernetes\/pki\/etcd\/ca\.crt/);
        return true;
      },
    );
  });
});
