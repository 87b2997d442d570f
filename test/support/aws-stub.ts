/**
 * A narrow stand-in for one AWS answer moto cannot give (an IAM denial, throttling): every
 * request gets the same EC2-style (query protocol) error. Used only to prove how kboot reports
 * such answers; everything else runs against moto.
 */

import { createServer, type Server } from 'node:http';

export interface AwsErrorStub {
  endpoint: string;
  requests: number;
  stop(): Promise<void>;
}

export async function startAwsErrorStub(
  status: number,
  code: string,
  message: string,
): Promise<AwsErrorStub> {
  const state = { requests: 0 };
  const server: Server = createServer((request, response) => {
    state.requests += 1;
    request.resume();
    request.on('end', () => {
      response.writeHead(status, { 'content-type': 'text/xml' });
      response.end(
        `<?xml version="1.0" encoding="UTF-8"?><Response><Errors><Error><Code>${code}</Code><Message>${message}</Message></Error></Errors><RequestID>stub</RequestID></Response>`,
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    get requests() {
      return state.requests;
    },
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
