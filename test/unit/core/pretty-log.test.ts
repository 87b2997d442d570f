import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createLogger } from '../../../src/core/logger.js';
import { formatPrettyLine, prettyDestination } from '../../../src/core/pretty-log.js';

const TIME = '2026-12-07T12:04:05.123Z';
const ESC = String.fromCharCode(27);

describe('the terminal log format', () => {
  it('writes time, level and message, then the fields as key=value', () => {
    const line = JSON.stringify({
      level: 'info',
      time: TIME,
      msg: 'joined cluster prod',
      flow: 'join-node',
      instanceId: 'i-0abc',
      attempts: 2,
      note: 'two words',
    });
    const text = formatPrettyLine(line, { colour: false });
    assert.match(
      text,
      /^\d\d:\d\d:\d\d\.123 INFO {2}joined cluster prod {2}flow=join-node instanceId=i-0abc attempts=2 note="two words"\n$/,
    );
  });

  it('puts an error stack on the lines after, indented, and colours only when asked', () => {
    const line = JSON.stringify({
      level: 'error',
      time: TIME,
      msg: 'step failed',
      err: { type: 'KubeadmError', message: 'kubeadm join exited 1', stack: 'KubeadmError: x\n    at y' },
    });
    const plain = formatPrettyLine(line, { colour: false });
    assert.ok(
      plain.includes('ERROR step failed  err={"type":"KubeadmError","message":"kubeadm join exited 1"}'),
    );
    assert.ok(plain.endsWith('\n    KubeadmError: x\n        at y\n'));
    assert.ok(!plain.includes(`${ESC}[`));
    assert.ok(formatPrettyLine(line, { colour: true }).includes(`${ESC}[31mERROR${ESC}[0m`));
  });

  it('passes a line that is not JSON through', () => {
    assert.equal(formatPrettyLine('not json', { colour: false }), 'not json\n');
  });

  it('is what the pretty logger writes, redacted like the JSON one', async () => {
    const written: string[] = [];
    const logger = await createLogger({
      level: 'info',
      format: 'pretty',
      destination: prettyDestination({ colour: false, write: (text) => written.push(text) }),
    });
    logger.info({ token: 'abcdef.0123456789abcdef', cluster: 'prod' }, 'published join material');
    assert.equal(written.length, 1);
    assert.match(
      written[0] ?? '',
      /INFO {2}published join material {2}token="?\[REDACTED\]"? cluster=prod\n$/,
    );
    assert.doesNotMatch(written.join(''), /0123456789abcdef/);
  });
});
