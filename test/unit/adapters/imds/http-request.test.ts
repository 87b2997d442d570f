import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { httpRequest } from '../../../../src/adapters/imds/http-request.js';

describe('httpRequest', () => {
  let server: http.Server;
  let base: string;
  const connections: unknown[] = [];
  before(async () => {
    server = http.createServer((req, res) => {
      if (req.url === '/slow') return; // never answers
      if (req.url === '/redirect') {
        res.writeHead(302, { location: '/elsewhere' }).end();
        return;
      }
      res
        .writeHead(200, { 'content-type': 'text/plain' })
        .end(`${req.method} ${req.headers['x-test'] ?? ''}`);
    });
    server.on('connection', (socket) => connections.push(socket));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => {
    server.closeAllConnections();
    server.close();
  });

  it('returns the status and body, sending the headers', async () => {
    const answer = await httpRequest(new URL('/x', base), {
      method: 'PUT',
      headers: { 'x-test': 'yes' },
      timeoutMs: 2000,
    });
    assert.deepEqual(answer, { status: 200, body: 'PUT yes' });
  });

  it('reuses one connection through a keep-alive agent', async () => {
    const agent = new http.Agent({ keepAlive: true });
    const before = connections.length;
    for (let i = 0; i < 3; i++)
      await httpRequest(new URL('/x', base), { method: 'GET', headers: {}, timeoutMs: 2000, agent });
    assert.equal(connections.length - before, 1);
    agent.destroy();
  });

  it('does not follow redirects', async () => {
    const answer = await httpRequest(new URL('/redirect', base), {
      method: 'GET',
      headers: {},
      timeoutMs: 2000,
    });
    assert.equal(answer.status, 302);
  });

  it('rejects with a TimeoutError when no answer comes in time', async () => {
    await assert.rejects(httpRequest(new URL('/slow', base), { method: 'GET', headers: {}, timeoutMs: 50 }), {
      name: 'TimeoutError',
      message: 'no answer within 50 ms',
    });
  });

  it("rejects with the signal's reason when aborted", async () => {
    const controller = new AbortController();
    const reason = new Error('stopping');
    setTimeout(() => controller.abort(reason), 20);
    await assert.rejects(
      httpRequest(new URL('/slow', base), {
        method: 'GET',
        headers: {},
        timeoutMs: 5000,
        signal: controller.signal,
      }),
      (error) => error === reason,
    );
  });

  it("rejects with Node's error code when the connection is refused", async () => {
    const closed = http.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    await assert.rejects(
      httpRequest(new URL(`http://127.0.0.1:${port}/`), { method: 'GET', headers: {}, timeoutMs: 2000 }),
      { code: 'ECONNREFUSED' },
    );
  });
});
