/** Shared by the state integration tests: the lease driver as a child process, and table setup. */

import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import path from 'node:path';
import { after } from 'node:test';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDbClusterStore } from '../../../src/adapters/aws/dynamodb-cluster-store.js';
import { ensureTable } from '../../../src/adapters/aws/dynamodb-table.js';
import { deferredClientConfig } from '../../support/aws.js';
import { type Moto, useMoto } from '../../support/moto.js';
import { repoRoot } from '../../support/paths.js';

export const TABLE = 'kboot';

/** An SDK client on the test's moto, for arranging and inspecting state. */
export { testDynamo as motoDynamo } from '../../support/aws.js';

export async function freshTable(moto: Moto, dynamodb: DynamoDBClient): Promise<void> {
  await moto.reset();
  await ensureTable(dynamodb, TABLE, { pollMs: 50 });
}

export interface StateTable {
  moto: Moto;
  /** An SDK client on that moto, for arranging and inspecting state. */
  dynamodb: DynamoDBClient;
  store: DynamoDbClusterStore;
}

/**
 * The state tests' fixture: the file's moto (useMoto) with a fresh, empty state table before
 * each test, and a client and a store on it.
 */
export function useStateTable(): StateTable {
  const moto = useMoto({ eachTest: () => ensureTable(dynamodb, TABLE, { pollMs: 50 }) });
  const dynamodb = new DynamoDBClient(deferredClientConfig(moto));
  after(() => dynamodb.destroy());
  return { moto, dynamodb, store: new DynamoDbClusterStore({ dynamodb, tableName: TABLE }) };
}

export interface DriverEvent {
  event: string;
  [key: string]: unknown;
}

/** A running lease driver: its events as they arrive, and how it ended. */
export class Driver {
  readonly child: ChildProcessWithoutNullStreams;
  readonly events: DriverEvent[] = [];
  stderr = '';
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  #waiters: { event: string; resolve: (e: DriverEvent) => void }[] = [];
  #onEvent: (() => void)[] = [];

  constructor(args: readonly string[], env: Record<string, string>) {
    this.child = spawn(
      process.execPath,
      ['--import', 'tsx', path.join(repoRoot(), 'test/support/lease-driver.ts'), ...args],
      {
        cwd: repoRoot(),
        env: { ...process.env, ...env },
        stdio: ['pipe', 'pipe', 'pipe'],
      },
    );
    let buffered = '';
    this.child.stdout.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      let newline = buffered.indexOf('\n');
      while (newline >= 0) {
        const line = buffered.slice(0, newline);
        buffered = buffered.slice(newline + 1);
        newline = buffered.indexOf('\n');
        if (!line.startsWith('{')) continue;
        const event = JSON.parse(line) as DriverEvent;
        this.events.push(event);
        for (const waiter of this.#waiters.filter((w) => w.event === event.event)) waiter.resolve(event);
        this.#waiters = this.#waiters.filter((w) => w.event !== event.event);
        const listeners = this.#onEvent;
        this.#onEvent = [];
        for (const listener of listeners) listener();
      }
    });
    this.child.stderr.on('data', (chunk: Buffer) => {
      this.stderr += chunk.toString();
    });
    this.exited = new Promise((resolve) =>
      this.child.on('close', (code, signal) => resolve({ code, signal })),
    );
  }

  /** Resolves with the first event of this kind (rejects if the process ends first). */
  next(event: string): Promise<DriverEvent> {
    const seen = this.events.find((e) => e.event === event);
    if (seen !== undefined) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      this.#waiters.push({ event, resolve });
      this.exited.then(({ code }) =>
        reject(new Error(`lease driver exited (${code}) before "${event}"; stderr: ${this.stderr}`)),
      );
    });
  }

  /** Resolves once `count` events have arrived, with the last of them. */
  async nth(count: number): Promise<DriverEvent> {
    while (this.events.length < count) {
      const done = await Promise.race([
        this.exited.then(() => true),
        new Promise<false>((resolve) => this.#onEvent.push(() => resolve(false))),
      ]);
      if (done && this.events.length < count) {
        throw new Error(
          `lease driver exited after ${this.events.length} events, before ${count}; stderr: ${this.stderr}`,
        );
      }
    }
    return this.events[count - 1] as DriverEvent;
  }

  /** The process's final outcome event (acquired/lost/done), after it exits. */
  async result(): Promise<DriverEvent | undefined> {
    await this.exited;
    return this.events.at(-1);
  }
}

export function driver(moto: Moto, args: readonly string[]): Driver {
  return new Driver(args, moto.awsEnv());
}
