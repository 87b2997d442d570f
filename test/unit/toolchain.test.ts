/**
 * Development runs on the Node.js the binary ships (node-linux-<arch> from the npm registry,
 * pinned in package-lock.json): the postinstall links node_modules/.bin/node to it, npm scripts
 * find it first on PATH, and scripts/test.mjs starts the tests with it, whatever Node the machine
 * has. These tests fail when the tests themselves run on an older Node.
 */

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { repoRoot } from '../support/paths.js';

const root = repoRoot();
const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as {
  engines: { node: string };
};
const lock = JSON.parse(readFileSync(path.join(root, 'package-lock.json'), 'utf8')) as {
  packages: Record<string, { version?: string }>;
};
const major = (version: string): number => Number(/^v?(\d+)/.exec(version)?.[1]);

describe('toolchain', () => {
  it("runs the tests on the Node.js that package.json's engines asks for", (t) => {
    t.diagnostic(`tests run on Node ${process.version}`);
    const minimum = /^>=\s*(\d+)/.exec(pkg.engines.node)?.[1];
    assert.ok(minimum !== undefined, `engines.node is ">=N": ${pkg.engines.node}`);
    assert.ok(major(process.version) >= Number(minimum), `${process.version} satisfies ${pkg.engines.node}`);
  });

  it('runs them on the pinned base binary wherever the host has one', (t) => {
    const base = lock.packages[`node_modules/node-base-linux-${process.arch}`]?.version;
    const link = path.join(root, 'node_modules', '.bin', 'node');
    if (process.platform !== 'linux' || base === undefined) {
      t.skip(`no Node base binary for ${process.platform}-${process.arch}`);
      return;
    }
    assert.ok(existsSync(link), 'node_modules/.bin/node is linked (npm ci runs the postinstall)');
    assert.equal(process.version, `v${base}`);
  });

  it('puts the same Node first on PATH for the Node scripts the tests run (fake kubeadm, kubectl)', () => {
    const child = spawnSync('node', ['-p', 'process.version'], { encoding: 'utf8' });
    assert.equal(child.status, 0, child.stderr);
    assert.equal(child.stdout.trim(), process.version);
  });

  it('gets no Node.js version warning from the AWS SDK', async () => {
    const warnings: string[] = [];
    const onWarning = (warning: Error): void => {
      warnings.push(`${warning.name}: ${warning.message}`);
    };
    process.on('warning', onWarning);
    try {
      const client = new DynamoDBClient({ region: 'us-east-1' });
      client.destroy();
      await new Promise((resolve) => setImmediate(resolve));
    } finally {
      process.off('warning', onWarning);
    }
    assert.deepEqual(
      warnings.filter((w) => /NodeVersionSupportWarning|require node/.test(w)),
      [],
    );
  });
});
