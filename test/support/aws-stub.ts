/**
 * A narrow stand-in for one AWS answer moto cannot give (an IAM denial, throttling): every
 * request gets the same error, EC2-style (query protocol, XML) or, for the JSON-protocol services
 * (DynamoDB, Secrets Manager), as they send it. Used only to prove how kboot reports such answers;
 * everything else runs against moto (point one service here with AWS_ENDPOINT_URL_<SERVICE>).
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
  protocol: 'query' | 'json' = 'query',
): Promise<AwsErrorStub> {
  const state = { requests: 0 };
  const server: Server = createServer((request, response) => {
    state.requests += 1;
    request.resume();
    request.on('end', () => {
      if (protocol === 'json') {
        response.writeHead(status, {
          'content-type': 'application/x-amz-json-1.0',
          'x-amzn-errortype': code,
          'x-amzn-requestid': 'stub',
        });
        response.end(JSON.stringify({ __type: `com.amazon.coral.service#${code}`, message }));
        return;
      }
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
