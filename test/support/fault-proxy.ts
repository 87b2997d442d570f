/**
 * An HTTP proxy in front of moto for fault tests: kboot's AWS_ENDPOINT_URL points here, and every
 * request is forwarded to moto unchanged, except the ones a test asks to fail or to hold.
 * - `inject`: the next `count` requests matching a target are answered as AWS answers a fault
 *   (ThrottlingException, ProvisionedThroughputExceededException: 400 with the protocol's JSON
 *   error body and x-amzn-ErrorType; InternalServerError 500; ServiceUnavailable 503), without
 *   reaching moto. `count: Infinity` is an outage until `clear()`.
 * - `onRequest`: awaited before each request is forwarded (or failed), with what it is: a test
 *   holds a request there to act while kboot is inside a given call (send a signal, steal a lease).
 * A target is the X-Amz-Target header (`DynamoDB_20120810.PutItem`, `secretsmanager.GetSecretValue`:
 * the JSON protocols of DynamoDB and Secrets Manager), or `<Action>` for the query protocols (EC2).
 */

import { createServer, request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export type FaultKind = 'throttling' | 'provisioned-throughput' | 'internal' | 'unavailable';

export interface FaultRule {
  /** A target as above, a RegExp over it, or undefined for every request. */
  target?: string | RegExp;
  kind: FaultKind;
  count: number;
}

export interface ProxiedRequest {
  /** X-Amz-Target, or the query protocol's Action, or `${method} ${path}`. */
  target: string;
  /** The request body as sent (JSON for DynamoDB and Secrets Manager). */
  body: string;
}

export interface FaultProxy {
  endpoint: string;
  /** Queues a fault; rules apply in the order given, each until its count is used up. */
  inject(rule: FaultRule): void;
  /** Drops every queued fault (ends an outage). */
  clear(): void;
  onRequest: ((request: ProxiedRequest) => Promise<void> | void) | undefined;
  /** Requests seen per target, and how many were answered with an injected fault. */
  readonly counts: { total: number; injected: number; byTarget: Record<string, number> };
  stop(): Promise<void>;
}

/** How AWS answers each fault, per protocol (awsJson1_0 for DynamoDB, awsJson1_1 for the rest). */
function faultAnswer(kind: FaultKind, target: string): { status: number; type: string; message: string } {
  const dynamo = target.startsWith('DynamoDB_');
  const prefix = dynamo ? 'com.amazonaws.dynamodb.v20120810#' : '';
  switch (kind) {
    case 'throttling':
      return { status: 400, type: `${prefix}ThrottlingException`, message: 'Rate exceeded' };
    case 'provisioned-throughput':
      return {
        status: 400,
        type: `${prefix}ProvisionedThroughputExceededException`,
        message:
          'The level of configured provisioned throughput for the table was exceeded. Consider increasing your provisioning level with the UpdateTable API.',
      };
    case 'internal':
      return {
        status: 500,
        type: dynamo ? `${prefix}InternalServerError` : 'InternalServiceError',
        message: 'Internal server error',
      };
    case 'unavailable':
      return { status: 503, type: `${prefix}ServiceUnavailable`, message: 'Service Unavailable' };
  }
}

function targetOf(request: IncomingMessage, body: string): string {
  const header = request.headers['x-amz-target'];
  if (typeof header === 'string') return header;
  const action = /(?:^|&)Action=([A-Za-z]+)/.exec(body)?.[1];
  if (action !== undefined) return action;
  return `${request.method} ${(request.url ?? '/').split('?')[0]}`;
}

function matches(rule: FaultRule, target: string): boolean {
  if (rule.target === undefined) return true;
  return typeof rule.target === 'string' ? rule.target === target : rule.target.test(target);
}

export async function startFaultProxy(upstream: string): Promise<FaultProxy> {
  const upstreamUrl = new URL(upstream);
  let rules: { rule: FaultRule; left: number }[] = [];
  const counts = { total: 0, injected: 0, byTarget: {} as Record<string, number> };
  const proxy: FaultProxy = {
    endpoint: '',
    inject: (rule) => {
      rules.push({ rule, left: rule.count });
    },
    clear: () => {
      rules = [];
    },
    onRequest: undefined,
    get counts() {
      return { ...counts, byTarget: { ...counts.byTarget } };
    },
    stop: async () => {},
  };

  function takeFault(target: string): FaultKind | undefined {
    const pending = rules.find(({ rule, left }) => left > 0 && matches(rule, target));
    if (pending === undefined) return undefined;
    pending.left -= 1;
    rules = rules.filter(({ left }) => left > 0);
    return pending.rule.kind;
  }

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks);
    const body = raw.toString('utf8');
    const target = targetOf(request, body);
    counts.total += 1;
    counts.byTarget[target] = (counts.byTarget[target] ?? 0) + 1;
    await proxy.onRequest?.({ target, body });
    if (request.socket.destroyed) return;
    const fault = takeFault(target);
    if (fault !== undefined) {
      counts.injected += 1;
      const answer = faultAnswer(fault, target);
      const text = JSON.stringify({ __type: answer.type, message: answer.message });
      response.writeHead(answer.status, {
        'Content-Type': 'application/x-amz-json-1.0',
        'Content-Length': String(Buffer.byteLength(text)),
        'x-amzn-ErrorType': answer.type,
        'x-amzn-RequestId': `fault-${counts.total}`,
      });
      response.end(text);
      return;
    }
    await new Promise<void>((resolve) => {
      const forward = httpRequest(
        {
          host: upstreamUrl.hostname,
          port: upstreamUrl.port,
          method: request.method,
          path: request.url,
          headers: request.headers,
        },
        (upstreamResponse) => {
          response.writeHead(upstreamResponse.statusCode ?? 502, upstreamResponse.headers);
          upstreamResponse.pipe(response);
          upstreamResponse.on('end', resolve);
          upstreamResponse.on('error', () => resolve());
        },
      );
      forward.on('error', () => {
        if (!response.headersSent) response.writeHead(502);
        response.end();
        resolve();
      });
      forward.end(raw);
    });
  }

  const server = createServer((request, response) => {
    handle(request, response).catch(() => {
      if (!response.headersSent) response.writeHead(502);
      response.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  proxy.endpoint = `http://127.0.0.1:${port}`;
  proxy.stop = () =>
    new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  return proxy;
}
