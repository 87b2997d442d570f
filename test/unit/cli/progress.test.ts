/**
 * The step list of `kboot cluster create|destroy`: on a terminal, redrawn in place (cursor up over
 * the lines drawn before, each line cleared); elsewhere, one log line per change.
 */

import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import pino from 'pino';
import { logProgress, terminalProgress } from '../../../src/cli/progress.js';

function fakeTerminal() {
  const writes: string[] = [];
  const stream = Object.assign(
    new Writable({
      write(chunk, _encoding, done) {
        writes.push(String(chunk));
        done();
      },
    }),
    { columns: 60, isTTY: true },
  ) as unknown as NodeJS.WriteStream;
  return { stream, writes };
}

describe('progress', () => {
  it('redraws the list in place on a terminal', () => {
    const { stream, writes } = fakeTerminal();
    const progress = terminalProgress(stream);
    progress.start(['dynamodb-table', 'kms-key'], 'creating cluster "demo"');
    assert.equal(
      writes[0],
      '\x1b[2Kcreating cluster "demo"\n\x1b[2K  · dynamodb-table waiting\n\x1b[2K  · kms-key waiting\n',
    );
    progress.update('dynamodb-table', 'created', 'kboot');
    assert.ok(writes[1]?.startsWith('\x1b[3F'), 'back to the first line drawn');
    assert.match(writes[1] ?? '', /✓ dynamodb-table created kboot\n/);
    progress.update('kms-key', 'failed', 'x'.repeat(100));
    const last = (writes[2] ?? '').split('\n').at(-2) ?? '';
    assert.ok(last.length <= 60 + 4, 'lines fit the terminal width');
    progress.finish();
  });

  it('draws whole lines when the terminal reports no width', () => {
    const { stream, writes } = fakeTerminal();
    (stream as { columns: number }).columns = 0;
    const progress = terminalProgress(stream);
    progress.start(['kms-key'], 'creating');
    progress.update('kms-key', 'created', 'key-id');
    assert.match(writes[1] ?? '', /✓ kms-key created key-id\n/);
  });

  it('logs one line per change elsewhere', () => {
    const lines: Record<string, unknown>[] = [];
    const logger = pino(
      { base: undefined },
      new Writable({
        write(chunk, _encoding, done) {
          lines.push(JSON.parse(String(chunk)) as Record<string, unknown>);
          done();
        },
      }),
    );
    const progress = logProgress(logger);
    progress.start(['kms-key'], 'creating cluster "demo"');
    progress.update('kms-key', 'creating');
    progress.update('kms-key', 'created', 'key-id');
    assert.deepEqual(
      lines.map((l) => [l.msg, l.resource, l.status, l.detail]),
      [
        ['creating cluster "demo"', undefined, undefined, undefined],
        ['kms-key: creating', 'kms-key', 'creating', undefined],
        ['kms-key: created', 'kms-key', 'created', 'key-id'],
      ],
    );
  });
});
