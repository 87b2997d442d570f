/**
 * The AWS client factory against a local HTTP endpoint: the SDK's endpoint variable is honoured,
 * the user agent names kboot, calls are counted and traced, retries are bounded, and a client is
 * made once per service.
 */

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { AwsClients } from '../../../../src/adapters/aws/clients.js';
import { tempDir } from '../../../support/paths.js';
import { silentLogger } from '../../../support/silent-logger.js';

describe('AwsClients', () => {
  let server: Server;
  let endpoint: string;
  const seen: { headers: IncomingHttpHeaders; status: number }[] = [];
  let failNext = 0;

  before(async () => {
    server = createServer((request, response) => {
      request.resume();
      request.on('end', () => {
        const status = failNext > 0 ? 500 : 200;
        if (failNext > 0) failNext -= 1;
        seen.push({ headers: request.headers, status });
        response.writeHead(status, { 'content-type': 'application/x-amz-json-1.0' });
        response.end(status === 200 ? '{}' : '{"__type":"InternalServerError","message":"boom"}');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    endpoint = `http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}`;
    process.env.AWS_ENDPOINT_URL = endpoint;
    process.env.AWS_ACCESS_KEY_ID = 'testing';
    process.env.AWS_SECRET_ACCESS_KEY = 'testing';
  });
  after(() => {
    delete process.env.AWS_ENDPOINT_URL;
    server.close();
    server.closeAllConnections();
  });

  it('honours AWS_ENDPOINT_URL, names kboot in the user agent, counts and traces calls', async () => {
    const traceFile = path.join(tempDir(), 'calls.jsonl');
    const clients = new AwsClients({ region: 'eu-west-1', logger: silentLogger(), traceFile, env: {} });
    const dynamodb = await clients.dynamodb();
    assert.equal(await clients.dynamodb(), dynamodb, 'one client per service');
    await dynamodb.send(new GetItemCommand({ TableName: 't', Key: { pk: { S: 'a' } } }));
    clients.destroy();
    const last = seen.at(-1);
    assert.match(String(last?.headers['user-agent'] ?? last?.headers['x-amz-user-agent']), /kboot\/\S+/);
    assert.deepEqual(clients.calls, [{ service: 'dynamodb', operation: 'GetItem' }]);
    const traced = readFileSync(traceFile, 'utf8')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    assert.deepEqual(
      traced.map(({ service, operation }) => ({ service, operation })),
      [{ service: 'dynamodb', operation: 'GetItem' }],
    );
  });

  it('retries server errors a bounded number of times (AWS_MAX_ATTEMPTS)', async () => {
    const before = seen.length;
    failNext = 100;
    const clients = new AwsClients({
      region: 'eu-west-1',
      logger: silentLogger(),
      env: { AWS_MAX_ATTEMPTS: '2', AWS_RETRY_MODE: 'standard' },
    });
    await assert.rejects(
      (await clients.dynamodb()).send(new GetItemCommand({ TableName: 't', Key: { pk: { S: 'a' } } })),
    );
    clients.destroy();
    failNext = 0;
    assert.equal(seen.length - before, 2, 'exactly two attempts');
  });
});
