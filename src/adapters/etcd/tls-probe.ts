/**
 * The probe the recovery of a lost control plane makes of each recorded member's etcd and of the
 * API endpoint (src/domain/recovery/decide.ts): one TLS connection, the server's certificate
 * checked against the cluster's CA (its chain only: the member's names may have changed with its
 * address), closed at once. Nothing is sent.
 */

import { connect } from 'node:tls';
import { formatDurationMs } from '../../core/duration.js';
import type { ProbeResult } from '../../domain/recovery/decide.js';
import type { EndpointProbe } from '../../domain/recovery/ports.js';

/** Errors that show nothing serves there; any other is inconclusive. */
const NOTHING_THERE = new Set([
  'ECONNREFUSED',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'ECONNRESET',
  'EHOSTDOWN',
]);

export const tlsProbe: EndpointProbe = {
  probe(url, caPem, timeoutMs, signal) {
    const { hostname, port } = new URL(url);
    const host = hostname.replace(/^\[|\]$/g, '');
    return new Promise<ProbeResult>((resolve) => {
      let settled = false;
      const socket = connect({
        host,
        port: Number(port || 443),
        ca: caPem,
        rejectUnauthorized: false,
        checkServerIdentity: () => undefined,
        ...(/^[\d.]+$|:/.test(host) ? {} : { servername: host }),
      });
      const done = (result: ProbeResult) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
        socket.destroy();
        resolve(result);
      };
      const timer = setTimeout(
        () =>
          done({
            answers: false,
            conclusive: true,
            detail: `no answer within ${formatDurationMs(timeoutMs)}`,
          }),
        timeoutMs,
      );
      const onAbort = () => done({ answers: false, conclusive: false, detail: 'the probe was stopped' });
      signal.addEventListener('abort', onAbort, { once: true });
      socket.once('secureConnect', () => {
        done(
          socket.authorized
            ? {
                answers: true,
                conclusive: true,
                detail: "a TLS handshake with a certificate of the cluster's CA",
              }
            : {
                answers: false,
                conclusive: true,
                detail: `something else serves there (its certificate is not the cluster's: ${String(socket.authorizationError)})`,
              },
        );
      });
      socket.once('error', (error: NodeJS.ErrnoException) => {
        const code = error.code ?? 'error';
        done({ answers: false, conclusive: NOTHING_THERE.has(code), detail: code });
      });
    });
  },
};
