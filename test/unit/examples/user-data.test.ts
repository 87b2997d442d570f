/**
 * The launch-template user-data in examples/user-data/: valid cloud-config (cloud-init's own
 * schema check where cloud-init is installed), declarative only (the AMI's kboot-boot.service
 * runs `kboot boot`; user-data must not run it a second time), and the kboot node config inside
 * each passes kboot's own schema (parseNodeConfig, what `kboot config check` runs) and fits the
 * unit's start timeout and the AMI's Kubernetes version.
 */

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { parseDurationMs } from '../../../src/core/duration.js';
import { ConfigError } from '../../../src/core/errors.js';
import { DEFAULT_CONFIG_PATH, parseNodeConfig } from '../../../src/domain/config/node-config.js';
import { repoRoot } from '../../support/paths.js';

const EXAMPLES_DIR = path.join(repoRoot(), 'examples', 'user-data');
const ENVIRONMENT_PATH = '/etc/kboot/environment';

interface WriteFile {
  path: string;
  content?: string;
  owner?: string;
  permissions?: string;
  defer?: boolean;
}

interface CloudConfig {
  write_files?: WriteFile[];
  [key: string]: unknown;
}

const EXAMPLES = [
  { file: 'control-plane.yaml', role: 'control-plane' },
  { file: 'worker.yaml', role: 'worker' },
] as const;

function readExample(file: string): { text: string; config: CloudConfig } {
  const text = readFileSync(path.join(EXAMPLES_DIR, file), 'utf8');
  return { text, config: parse(text) as CloudConfig };
}

function writtenFile(config: CloudConfig, filePath: string): WriteFile | undefined {
  return config.write_files?.find((entry) => entry.path === filePath);
}

function unitTimeoutStartMs(): number {
  const unit = readFileSync(path.join(repoRoot(), 'packer', 'files', 'kboot-boot.service'), 'utf8');
  const value = /^TimeoutStartSec=(.+)$/m.exec(unit)?.[1];
  assert.ok(value !== undefined, 'kboot-boot.service sets TimeoutStartSec');
  // systemd spans ("1h", "75min", "1h 15min") in kboot's duration syntax ("1h15m").
  return parseDurationMs(value.replace(/\s+/g, '').replace(/min|sec|hr/g, (unit) => unit[0] as string));
}

function amiKubernetesVersion(): string {
  const variables = readFileSync(path.join(repoRoot(), 'packer', 'versions.pkr.hcl'), 'utf8');
  const version = /variable "kubernetes_version" \{[^}]*?default\s*=\s*"([^"]+)"/s.exec(variables)?.[1];
  assert.ok(version !== undefined, 'packer/versions.pkr.hcl has a kubernetes_version default');
  return version;
}

function cloudInitAvailable(): boolean {
  return spawnSync('sh', ['-c', 'command -v cloud-init'], { stdio: 'ignore' }).status === 0;
}

describe('examples/user-data', () => {
  for (const { file, role } of EXAMPLES) {
    describe(file, () => {
      const { text, config } = readExample(file);

      it('is cloud-config that only writes files (kboot-boot.service runs kboot boot)', () => {
        assert.equal(text.split('\n')[0], '#cloud-config');
        assert.deepEqual(Object.keys(config), ['write_files']);
        assert.doesNotMatch(text, /^\s*-?\s*kboot (boot|bootstrap-master|join-master|join-node)\b/m);
        for (const entry of config.write_files ?? []) {
          assert.ok(entry.path.startsWith('/etc/kboot/'), `${entry.path} is under /etc/kboot`);
          assert.equal(entry.owner, 'root:root');
          assert.match(entry.permissions ?? '', /^0[0-7]{3}$/, `${entry.path} has quoted octal permissions`);
          assert.notEqual(entry.defer, true, `${entry.path} is written before kboot-boot.service starts`);
        }
      });

      it("holds a node config that passes kboot's schema", () => {
        const entry = writtenFile(config, DEFAULT_CONFIG_PATH);
        assert.ok(entry?.content !== undefined, `${file} writes ${DEFAULT_CONFIG_PATH}`);
        const nodeConfig = parseNodeConfig(entry.content, `${file}: ${DEFAULT_CONFIG_PATH}`);
        if (role === 'control-plane') {
          assert.ok(
            nodeConfig.apiEndpoint,
            'the first master needs apiEndpoint when no cluster record exists',
          );
        }
        if (nodeConfig.kubernetesVersion !== undefined) {
          assert.equal(nodeConfig.kubernetesVersion, amiKubernetesVersion(), 'matches the AMI default');
        }
        const waitMs = parseDurationMs(nodeConfig.timeouts?.waitForInit ?? '30m');
        const kubeadmMs = parseDurationMs(nodeConfig.timeouts?.kubeadm ?? '15m');
        assert.ok(
          waitMs + kubeadmMs < unitTimeoutStartMs(),
          'waitForInit + kubeadm end before kboot-boot.service times out, so kboot reports its own timeout',
        );
      });

      it('has an environment file of KEY=VALUE lines, if any', () => {
        const entry = writtenFile(config, ENVIRONMENT_PATH);
        if (entry === undefined) return;
        for (const line of (entry.content ?? '').split('\n')) {
          if (line === '' || line.startsWith('#')) continue;
          assert.match(line, /^[A-Z_][A-Z0-9_]*=\S*$/, `${ENVIRONMENT_PATH}: ${line}`);
        }
      });

      it("passes cloud-init's schema check", (t) => {
        if (!cloudInitAvailable()) {
          t.skip('cloud-init is not installed (Debian: apt-get install cloud-init)');
          return;
        }
        const result = spawnSync('cloud-init', ['schema', '--config-file', path.join(EXAMPLES_DIR, file)], {
          encoding: 'utf8',
          timeout: 60_000,
        });
        assert.equal(result.status, 0, `cloud-init schema: ${result.stdout}${result.stderr}`);
      });
    });
  }

  it('would catch a typo in an embedded node config', () => {
    const entry = writtenFile(readExample('worker.yaml').config, DEFAULT_CONFIG_PATH);
    assert.ok(entry?.content !== undefined);
    assert.throws(
      () => parseNodeConfig(entry.content?.replace('waitForInit:', 'waitForInitialization:') ?? '', 'x'),
      (error: unknown) =>
        error instanceof ConfigError && /timeouts\.waitForInitialization/.test(error.message),
    );
  });
});
