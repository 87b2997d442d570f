/**
 * A pass-through HTTP proxy in front of moto that counts the AWS API requests going through it,
 * by service and operation: the same instrument for kboot and for the AWS CLI script, neither of
 * which is changed for it (each only gets this proxy as its endpoint URL). Every HTTP request is
 * counted, so SDK or CLI retries show up as extra calls.
 *
 * Service: the SigV4 credential scope (`Credential=<key>/<date>/<region>/<service>/aws4_request`).
 * Operation: the X-Amz-Target header (JSON protocols: DynamoDB, Secrets Manager), else the
 * `Action` of a query-protocol body (EC2), else the method and path.
 */

import { Agent, createServer, type IncomingMessage, request, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface AwsRequest {
  service: string;
  operation: string;
}

export interface AwsCallCounter {
  /** `http://127.0.0.1:<port>`: give it as AWS_ENDPOINT_URL. */
  endpoint: string;
  /** Requests since the last reset, in arrival order. */
  readonly requests: readonly AwsRequest[];
  reset(): void;
  stop(): Promise<void>;
}

function serviceOf(request: IncomingMessage): string {
  const authorization = request.headers.authorization ?? '';
  const scope = /Credential=[^/]+\/\d{8}\/[^/]+\/([^/]+)\/aws4_request/.exec(authorization);
  return scope?.[1] ?? 'unknown';
}

function operationOf(request: IncomingMessage, body: Buffer): string {
  const target = request.headers['x-amz-target'];
  if (typeof target === 'string' && target.includes('.')) return target.slice(target.lastIndexOf('.') + 1);
  const type = request.headers['content-type'] ?? '';
  if (type.startsWith('application/x-www-form-urlencoded')) {
    const action = new URLSearchParams(body.toString('utf8')).get('Action');
    if (action !== null) return action;
  }
  return `${request.method ?? 'GET'} ${(request.url ?? '/').split('?')[0]}`;
}

/** `operationCounts([{…GetItem}, {…GetItem}])` → { "dynamodb GetItem": 2 }. */
export function operationCounts(requests: readonly AwsRequest[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const { service, operation } of requests) {
    const key = `${service} ${operation}`;
    counts[key] = (counts[key] ?? 0) + 1;
  }
  return counts;
}

export async function startAwsCallCounter(target: string): Promise<AwsCallCounter> {
  const upstream = new URL(target);
  const agent = new Agent({ keepAlive: false });
  let requests: AwsRequest[] = [];

  function forward(incoming: IncomingMessage, outgoing: ServerResponse, body: Buffer): void {
    const upstreamRequest = request(
      {
        host: upstream.hostname,
        port: upstream.port,
        method: incoming.method,
        path: incoming.url,
        headers: incoming.headers,
        agent,
        timeout: 60_000,
      },
      (response) => {
        outgoing.writeHead(response.statusCode ?? 502, response.headers);
        response.pipe(outgoing);
      },
    );
    upstreamRequest.on('timeout', () => upstreamRequest.destroy(new Error('upstream timed out')));
    upstreamRequest.on('error', () => {
      if (!outgoing.headersSent) outgoing.writeHead(502);
      outgoing.end();
    });
    upstreamRequest.end(body);
  }

  const server = createServer((incoming, outgoing) => {
    const chunks: Buffer[] = [];
    incoming.on('data', (chunk: Buffer) => chunks.push(chunk));
    incoming.on('end', () => {
      const body = Buffer.concat(chunks);
      requests.push({ service: serviceOf(incoming), operation: operationOf(incoming, body) });
      forward(incoming, outgoing, body);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    get requests() {
      return requests;
    },
    reset: () => {
      requests = [];
    },
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
        agent.destroy();
      }),
  };
}
