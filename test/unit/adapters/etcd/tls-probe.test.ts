/**
 * The recovery's probe against real TLS servers on loopback: a handshake with a certificate of the
 * cluster's CA answers; a server of another CA, a closed port and a name that does not resolve are
 * "nothing there" (conclusive), and a server that never answers times out.
 */

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer as createNetServer, type Server as NetServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createServer, type Server } from 'node:tls';
import { tlsProbe } from '../../../../src/adapters/etcd/tls-probe.js';

function openssl(dir: string, args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' });
}

/** A CA and a server certificate it signed (127.0.0.1), in `dir`, named after `name`. */
function pki(dir: string, name: string): { ca: string; cert: string; key: string } {
  openssl(dir, ['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', `${name}-ca.key`]);
  openssl(dir, [
    'req',
    '-x509',
    '-new',
    '-key',
    `${name}-ca.key`,
    '-subj',
    `/CN=${name}-ca`,
    '-days',
    '2',
    '-out',
    `${name}-ca.crt`,
  ]);
  openssl(dir, ['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', `${name}.key`]);
  openssl(dir, ['req', '-new', '-key', `${name}.key`, '-subj', `/CN=${name}`, '-out', `${name}.csr`]);
  openssl(dir, [
    'x509',
    '-req',
    '-in',
    `${name}.csr`,
    '-CA',
    `${name}-ca.crt`,
    '-CAkey',
    `${name}-ca.key`,
    '-CAcreateserial',
    '-days',
    '2',
    '-out',
    `${name}.crt`,
  ]);
  const read = (file: string) => readFileSync(path.join(dir, file), 'utf8');
  return { ca: read(`${name}-ca.crt`), cert: read(`${name}.crt`), key: read(`${name}.key`) };
}

function listen(server: Server | NetServer): Promise<number> {
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve((server.address() as { port: number }).port)),
  );
}

describe('the TLS probe of the recovery', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'kboot-probe-'));
  let ours: ReturnType<typeof pki>;
  let theirs: ReturnType<typeof pki>;
  let server: Server;
  let silent: NetServer;
  let port = 0;
  let silentPort = 0;
  const signal = new AbortController().signal;

  before(async () => {
    ours = pki(dir, 'ours');
    theirs = pki(dir, 'theirs');
    server = createServer({ cert: ours.cert, key: ours.key }, (socket) => socket.end());
    port = await listen(server);
    silent = createNetServer(() => {});
    silentPort = await listen(silent);
  });
  after(() => {
    server.close();
    silent.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("answers for a server whose certificate the cluster's CA signed", async () => {
    const result = await tlsProbe.probe(`https://127.0.0.1:${port}`, ours.ca, 3000, signal);
    assert.deepEqual(result, {
      answers: true,
      conclusive: true,
      detail: "a TLS handshake with a certificate of the cluster's CA",
    });
  });

  it('does not answer for a server of another CA: something else serves there', async () => {
    const result = await tlsProbe.probe(`https://127.0.0.1:${port}`, theirs.ca, 3000, signal);
    assert.equal(result.answers, false);
    assert.equal(result.conclusive, true);
    assert.match(result.detail, /something else serves there/);
  });

  it('a closed port and an unknown name are nothing there', async () => {
    const closed = await tlsProbe.probe('https://127.0.0.1:1', ours.ca, 3000, signal);
    assert.deepEqual(closed, { answers: false, conclusive: true, detail: 'ECONNREFUSED' });
    const unknown = await tlsProbe.probe('https://no-such-host.invalid:2379', ours.ca, 3000, signal);
    assert.equal(unknown.answers, false);
    assert.equal(unknown.conclusive, true);
    assert.equal(unknown.detail, 'ENOTFOUND');
  });

  it('a server that accepts but never completes a handshake: no answer within the timeout', async () => {
    const result = await tlsProbe.probe(`https://127.0.0.1:${silentPort}`, ours.ca, 200, signal);
    assert.equal(result.answers, false);
    assert.match(result.detail, /no answer within/);
  });
});
