/**
 * The two Auto Scaling actions moto does not implement, and nothing else: CompleteLifecycleAction
 * and RecordLifecycleActionHeartbeat, answered in Auto Scaling's query protocol (form-encoded
 * POST, XML answer) and recorded with the time they arrived. Every other request (the groups,
 * DescribeAutoScalingInstances, DescribeLifecycleHooks) is forwarded to moto unchanged, so kboot
 * points AWS_ENDPOINT_URL_AUTO_SCALING here and sees one faithful Auto Scaling.
 *
 * Lifecycle actions are what Auto Scaling opens when a hooked instance starts terminating: a test
 * opens one with `openAction`; completing or heartbeating an action that is not open answers
 * Auto Scaling's ValidationError "No active Lifecycle Action found". While an action is open,
 * DescribeAutoScalingInstances (moto's answer) shows the instance `Terminating:Wait`, as Auto
 * Scaling does; `setLifecycleState` shows another state (`Terminating:Proceed` for a group
 * without the hook).
 */

import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';

export interface LifecycleCall {
  action: 'CompleteLifecycleAction' | 'RecordLifecycleActionHeartbeat';
  groupName: string;
  hookName: string;
  instanceId: string | undefined;
  token: string | undefined;
  result: string | undefined;
  /** What the stub answered: ok, or the error code. */
  answer: string;
  atMs: number;
}

export interface LifecycleStub {
  endpoint: string;
  calls: LifecycleCall[];
  /** Opens a lifecycle action for an instance terminating out of a group with that hook; returns its token. */
  openAction(groupName: string, hookName: string, instanceId: string): string;
  /** Open actions, by instance id. */
  openActions(): string[];
  /** Requests forwarded to moto, by action name. */
  forwarded: string[];
  /** What DescribeAutoScalingInstances says of the instance from now on. */
  setLifecycleState(instanceId: string, state: string): void;
  stop(): Promise<void>;
}

const NS = 'http://autoscaling.amazonaws.com/doc/2011-01-01/';

function readBody(request: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => resolve(Buffer.concat(chunks)));
    request.on('error', reject);
  });
}

function answer(response: ServerResponse, action: string): void {
  response.writeHead(200, { 'content-type': 'text/xml' });
  response.end(
    `<${action}Response xmlns="${NS}"><${action}Result/><ResponseMetadata><RequestId>${randomUUID()}</RequestId></ResponseMetadata></${action}Response>`,
  );
}

function validationError(response: ServerResponse, message: string): void {
  response.writeHead(400, { 'content-type': 'text/xml' });
  response.end(
    `<ErrorResponse xmlns="${NS}"><Error><Type>Sender</Type><Code>ValidationError</Code><Message>${message}</Message></Error><RequestId>${randomUUID()}</RequestId></ErrorResponse>`,
  );
}

export async function startLifecycleStub(motoEndpoint: string): Promise<LifecycleStub> {
  interface OpenAction {
    groupName: string;
    hookName: string;
    token: string;
  }
  const open = new Map<string, OpenAction>();
  const states = new Map<string, string>();
  /** moto's instance states, with the terminating instances' states Auto Scaling would show. */
  const lifecycleStates = (xml: string): string =>
    xml.replace(/<member>([\s\S]*?)<\/member>/g, (member, body: string) => {
      const id = /<InstanceId>([^<]+)<\/InstanceId>/.exec(body)?.[1] ?? '';
      const state = states.get(id) ?? (open.has(id) ? 'Terminating:Wait' : undefined);
      return state === undefined
        ? member
        : member.replace(
            /<LifecycleState>[^<]*<\/LifecycleState>/,
            `<LifecycleState>${state}</LifecycleState>`,
          );
    });
  const calls: LifecycleCall[] = [];
  const forwarded: string[] = [];

  const forward = async (
    request: IncomingMessage,
    body: Buffer,
    response: ServerResponse,
    rewrite: (xml: string) => string,
  ): Promise<void> => {
    const headers = new Headers();
    for (const [key, value] of Object.entries(request.headers)) {
      if (value === undefined || key === 'host' || key === 'content-length' || key === 'connection') continue;
      headers.set(key, Array.isArray(value) ? value.join(', ') : value);
    }
    const upstream = await fetch(`${motoEndpoint}${request.url ?? '/'}`, {
      method: request.method,
      headers,
      body: request.method === 'GET' || request.method === 'HEAD' ? undefined : body,
    });
    response.writeHead(upstream.status, {
      'content-type': upstream.headers.get('content-type') ?? 'text/xml',
    });
    response.end(rewrite(Buffer.from(await upstream.arrayBuffer()).toString('utf8')));
  };

  const server: Server = createServer((request, response) => {
    void (async () => {
      const body = await readBody(request);
      const params = new URLSearchParams(body.toString('utf8'));
      const action = params.get('Action') ?? '';
      if (action !== 'CompleteLifecycleAction' && action !== 'RecordLifecycleActionHeartbeat') {
        forwarded.push(action);
        await forward(request, body, response, (xml) =>
          action === 'DescribeAutoScalingInstances' ? lifecycleStates(xml) : xml,
        );
        return;
      }
      const call: LifecycleCall = {
        action,
        groupName: params.get('AutoScalingGroupName') ?? '',
        hookName: params.get('LifecycleHookName') ?? '',
        instanceId: params.get('InstanceId') ?? undefined,
        token: params.get('LifecycleActionToken') ?? undefined,
        result: params.get('LifecycleActionResult') ?? undefined,
        answer: 'ok',
        atMs: Date.now(),
      };
      calls.push(call);
      const found = [...open.entries()].find(
        ([instanceId, pending]) =>
          pending.groupName === call.groupName &&
          pending.hookName === call.hookName &&
          (call.token === undefined ? instanceId === call.instanceId : pending.token === call.token),
      );
      if (found === undefined) {
        call.answer = 'ValidationError';
        validationError(
          response,
          `No active Lifecycle Action found with instance ID ${call.instanceId ?? call.token ?? ''}`,
        );
        return;
      }
      if (action === 'CompleteLifecycleAction') {
        if (call.result !== 'CONTINUE' && call.result !== 'ABANDON') {
          call.answer = 'ValidationError';
          validationError(response, 'LifecycleActionResult must be CONTINUE or ABANDON');
          return;
        }
        open.delete(found[0]);
      }
      answer(response, action);
    })().catch((error: unknown) => {
      response.writeHead(500, { 'content-type': 'text/plain' });
      response.end(String(error));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    calls,
    forwarded,
    openAction(groupName, hookName, instanceId) {
      const token = randomUUID();
      open.set(instanceId, { groupName, hookName, token });
      return token;
    },
    openActions: () => [...open.keys()],
    setLifecycleState(instanceId, state) {
      states.set(instanceId, state);
    },
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
