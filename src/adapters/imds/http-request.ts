/**
 * One HTTP request over node:http(s), answer body read as text, for the IMDS client.
 *
 * Why not the global fetch: the first fetch() in a process loads Node's bundled undici (and its
 * WebAssembly HTTP parser), 30–50 ms of CPU that a boot pays on its critical path before the
 * first IMDS answer; node:http is loaded anyway (the AWS SDK's request handler uses it).
 *
 * - one timeout for the whole exchange, answer body included: a TimeoutError (name) on expiry;
 * - `signal` aborts the request and rejects with the signal's reason;
 * - connection errors reject with Node's error (its `code`, e.g. ECONNREFUSED);
 * - redirects are answers like any other (never followed);
 * - a keep-alive agent reuses the connection between requests; idle sockets do not keep the
 *   process alive (the agent unrefs them).
 */

import http from 'node:http';

export interface HttpAnswer {
  status: number;
  body: string;
}

export interface HttpRequestOptions {
  method: 'GET' | 'PUT';
  headers: Record<string, string>;
  timeoutMs: number;
  signal?: AbortSignal;
  agent?: http.Agent;
}

export class HttpTimeoutError extends Error {
  override readonly name = 'TimeoutError';
}

type RequestFn = typeof http.request;

let httpsRequest: Promise<RequestFn> | undefined;

function requestFor(url: URL): RequestFn | Promise<RequestFn> {
  if (url.protocol !== 'https:') return http.request;
  httpsRequest ??= import('node:https').then((https) => https.request);
  return httpsRequest;
}

export async function httpRequest(url: URL, options: HttpRequestOptions): Promise<HttpAnswer> {
  options.signal?.throwIfAborted();
  const request = await requestFor(url);
  return new Promise<HttpAnswer>((resolve, reject) => {
    let settled = false;
    const finish = (error: unknown, answer?: HttpAnswer) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
      if (answer !== undefined) resolve(answer);
      else reject(error);
    };
    const req = request(url, {
      method: options.method,
      headers: { ...options.headers, 'content-length': '0' },
      // The https agent is https.globalAgent: an http.Agent is only for http URLs.
      ...(url.protocol === 'https:' ? {} : { agent: options.agent }),
    });
    const fail = (error: unknown) => {
      finish(error);
      req.destroy();
    };
    const onAbort = () => fail(options.signal?.reason);
    const timer = setTimeout(
      () => fail(new HttpTimeoutError(`no answer within ${options.timeoutMs} ms`)),
      options.timeoutMs,
    );
    options.signal?.addEventListener('abort', onAbort, { once: true });
    req.on('error', (error) => finish(error));
    req.on('response', (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('error', (error) => finish(error));
      response.on('end', () =>
        finish(undefined, {
          status: response.statusCode ?? 0,
          body: Buffer.concat(chunks).toString('utf8'),
        }),
      );
    });
    req.end();
  });
}
