/**
 * A "billion laughs" YAML document (aliases of aliases) is refused as bad input, naming where it
 * came from, wherever kboot reads YAML: node config, cluster spec, kubeadm overrides, addon
 * manifests, a kubeconfig to merge into, admin.conf from Secrets Manager. Not exit 1 "internal".
 */

import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { ConfigError, ExitCode, type KbootError, StateConflictError } from '../../../../src/core/errors.js';
import { Secret } from '../../../../src/core/secrets.js';
import { hasObjects } from '../../../../src/domain/addons/plan.js';
import { parseClusterSpec } from '../../../../src/domain/cluster/spec.js';
import { parseNodeConfig } from '../../../../src/domain/config/node-config.js';
import { MAX_YAML_ALIAS_COUNT } from '../../../../src/domain/config/yaml.js';
import { parseOverrides } from '../../../../src/domain/kubeadm/overrides.js';
import { entryNames, parseAdminKubeconfig } from '../../../../src/domain/kubeconfig/admin.js';
import { mergeKubeconfig } from '../../../../src/domain/kubeconfig/merge.js';
import { repoRoot } from '../../../support/paths.js';
import { adminConf } from '../kubeconfig/fixtures.js';

/** Nine levels of nine aliases: 9^9 (387 million) strings from 10 lines. */
function bomb(firstKey = 'a'): string {
  const keys = [firstKey, 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i'];
  const lines = [`${keys[0]}: &${keys[0]} ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]`];
  for (let i = 1; i < keys.length; i += 1) {
    const previous = `*${keys[i - 1]}`;
    lines.push(`${keys[i]}: &${keys[i]} [${Array(9).fill(previous).join(',')}]`);
  }
  return `${lines.join('\n')}\n`;
}

function refused(run: () => unknown, type: new (...args: never[]) => KbootError, where: RegExp): void {
  assert.throws(run, (error: unknown) => {
    assert.ok(error instanceof type, `got ${String(error)}`);
    assert.match(error.message, where);
    assert.match(error.message, /aliases expand too far \(over 100 alias expansions/);
    return true;
  });
}

describe('YAML alias bombs', () => {
  it('are refused in the node config with exit 2, naming the file', () => {
    refused(
      () => parseNodeConfig(bomb(), '/etc/kboot/config.yaml'),
      ConfigError,
      /^\/etc\/kboot\/config\.yaml: /,
    );
    assert.equal(new ConfigError('x').exitCode, ExitCode.usage);
  });

  it('are refused in a cluster spec and a kubeadm override', () => {
    refused(
      () => parseClusterSpec(bomb(), 'cluster.yaml', { name: 'demo', fallbackRegion: 'eu-west-1' }),
      ConfigError,
      /^cluster\.yaml: /,
    );
    refused(
      () => parseOverrides(`kind: InitConfiguration\n${bomb('x')}`, 'patch.yaml'),
      ConfigError,
      /^patch\.yaml: /,
    );
  });

  it('are refused in a kubeconfig to merge into, and in admin.conf read from a secret', () => {
    const fixture = adminConf();
    const admin = parseAdminKubeconfig(new Secret(fixture.text), 'secret kboot/prod/admin.conf');
    refused(
      () =>
        mergeKubeconfig(
          `kind: Config\n${bomb()}`,
          { names: entryNames('prod'), admin },
          {
            setCurrent: false,
            source: '/home/me/.kube/config',
          },
        ),
      ConfigError,
      /^\/home\/me\/\.kube\/config is refused: its YAML aliases/,
    );
    refused(
      () => parseAdminKubeconfig(new Secret(`kind: Config\n${bomb()}`), 'secret kboot/prod/admin.conf'),
      StateConflictError,
      /admin kubeconfig in secret kboot\/prod\/admin\.conf is malformed/,
    );
  });

  it('count as objects in an addon manifest (kubectl then refuses the file by name)', () => {
    assert.equal(hasObjects(bomb()), true);
  });

  it('still allow a few aliases', () => {
    assert.ok(MAX_YAML_ALIAS_COUNT >= 10);
    const text = 'certSANs: &sans [a.example.com]\nkubeadm: { patchesDir: /etc/kboot/p }\n';
    assert.deepEqual(parseNodeConfig(text, 'c.yaml').certSANs, ['a.example.com']);
  });

  it('are capped everywhere: no toJS in src without the capped options', () => {
    const offenders: string[] = [];
    const walk = (dir: string): void => {
      for (const entry of readdirSync(dir)) {
        const full = path.join(dir, entry);
        if (statSync(full).isDirectory()) walk(full);
        else if (
          entry.endsWith('.ts') &&
          /\.toJS\((?!YAML_TO_JS_OPTIONS\)|doc, YAML_TO_JS_OPTIONS\))/.test(readFileSync(full, 'utf8'))
        )
          offenders.push(path.relative(repoRoot(), full));
      }
    };
    walk(path.join(repoRoot(), 'src'));
    assert.deepEqual(offenders, []);
  });
});
