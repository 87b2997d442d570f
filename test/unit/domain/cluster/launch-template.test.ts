/**
 * The launch template `kboot cluster create` makes for a group: its user-data and its data, as
 * golden files. Every folder test/cases/launch-template-<name>/ holds
 *  - input.json: { cluster, role, group, nodeConfig, template: LaunchTemplateInput minus the
 *    cluster, role, table and userData };
 *  - user-data.yaml: the exact user-data;
 *  - launch-template-data.json: the exact data, with UserData shown as "<user-data.yaml, base64>"
 *    once it is checked to be exactly that.
 * UPDATE_GOLDEN=1 rewrites the expected files from the current output (review the diff).
 * The user-data is checked the way test/unit/examples checks examples/user-data/: cloud-config
 * that only writes files, a node config kboot's schema accepts, and cloud-init's schema check.
 */

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { elbName, groupName, type UserDataNodeConfig } from '../../../../src/domain/cluster/compute.js';
import {
  imdsSafeKey,
  type LaunchTemplateInput,
  launchTemplateData,
  launchTemplateDrift,
} from '../../../../src/domain/cluster/launch-template-data.js';
import { renderUserData } from '../../../../src/domain/cluster/user-data.js';
import { DEFAULT_CONFIG_PATH, parseNodeConfig } from '../../../../src/domain/config/node-config.js';
import type { Role } from '../../../../src/domain/identity/tags.js';
import { repoRoot } from '../../../support/paths.js';

const casesDir = path.join(repoRoot(), 'test', 'cases');
const update = process.env.UPDATE_GOLDEN === '1';
const USER_DATA_PLACEHOLDER = '<user-data.yaml, base64>';

interface Case {
  cluster: string;
  role: Role;
  group: string;
  nodeConfig: UserDataNodeConfig;
  template: Omit<LaunchTemplateInput, 'cluster' | 'role' | 'table' | 'userData'>;
}

function readCase(name: string): Case {
  return JSON.parse(readFileSync(path.join(casesDir, name, 'input.json'), 'utf8')) as Case;
}

function render(spec: Case) {
  const userData = renderUserData(spec);
  const data = launchTemplateData({
    ...spec.template,
    cluster: spec.cluster,
    role: spec.role,
    table: spec.nodeConfig.table,
    userData,
  });
  return { userData, data };
}

function golden(file: string, actual: string): void {
  if (update || !existsSync(file)) {
    if (!update) assert.fail(`${file} is missing: run with UPDATE_GOLDEN=1 and review it`);
    writeFileSync(file, actual);
    return;
  }
  assert.equal(actual, readFileSync(file, 'utf8'));
}

function cloudInitAvailable(): boolean {
  return spawnSync('sh', ['-c', 'command -v cloud-init'], { stdio: 'ignore' }).status === 0;
}

const caseNames = readdirSync(casesDir)
  .filter(
    (name) => name.startsWith('launch-template-') && existsSync(path.join(casesDir, name, 'input.json')),
  )
  .sort();

describe('launch template golden files (test/cases/launch-template-*)', () => {
  it('has the cases this suite promises', () => {
    assert.deepEqual(caseNames, ['launch-template-control-plane', 'launch-template-worker']);
  });

  for (const name of caseNames) {
    describe(name, () => {
      const spec = readCase(name);
      const { userData, data } = render(spec);

      it('renders the user-data and launch template data', () => {
        golden(path.join(casesDir, name, 'user-data.yaml'), userData);
        assert.equal(Buffer.from(data.UserData, 'base64').toString('utf8'), userData);
        const shown = { ...data, UserData: USER_DATA_PLACEHOLDER };
        golden(path.join(casesDir, name, 'launch-template-data.json'), `${JSON.stringify(shown, null, 2)}\n`);
      });

      it('requires IMDSv2 at hop limit 1 with instance metadata tags, and tags in IMDS-safe keys only', () => {
        assert.deepEqual(data.MetadataOptions, {
          HttpEndpoint: 'enabled',
          HttpTokens: 'required',
          HttpPutResponseHopLimit: 1,
          InstanceMetadataTags: 'enabled',
        });
        for (const tagSpec of data.TagSpecifications) {
          for (const tag of tagSpec.Tags) assert.ok(imdsSafeKey(tag.Key), `${tag.Key} is IMDS-safe`);
          const tags = Object.fromEntries(tagSpec.Tags.map((t) => [t.Key, t.Value]));
          assert.equal(tags.KubernetesCluster, spec.cluster);
          assert.equal(tags['kboot.io:cluster'], spec.cluster);
          assert.equal(tags['kboot.io:role'], spec.role);
          assert.equal(
            tags['kboot.io:table'],
            spec.nodeConfig.table === 'kboot' ? undefined : spec.nodeConfig.table,
          );
        }
      });

      it('is cloud-config that only writes a node config kboot accepts', () => {
        assert.equal(userData.split('\n')[0], '#cloud-config');
        const config = parse(userData) as {
          write_files: { path: string; content: string; permissions: string }[];
        };
        assert.deepEqual(Object.keys(config), ['write_files']);
        assert.doesNotMatch(userData, /^\s*-?\s*kboot (boot|bootstrap-master|join-master|join-node)\b/m);
        const entry = config.write_files.find((file) => file.path === DEFAULT_CONFIG_PATH);
        assert.ok(entry !== undefined);
        assert.equal(entry.permissions, '0644');
        const nodeConfig = parseNodeConfig(entry.content, `${name}: ${DEFAULT_CONFIG_PATH}`);
        assert.equal(nodeConfig.table, spec.nodeConfig.table);
        assert.equal(nodeConfig.apiEndpoint, spec.nodeConfig.apiEndpoint);
        assert.deepEqual(nodeConfig.hardening, spec.nodeConfig.hardening);
      });

      it("passes cloud-init's schema check", (t) => {
        if (!cloudInitAvailable()) {
          t.skip('cloud-init is not installed (Debian: apt-get install cloud-init)');
          return;
        }
        const dir = mkdtempSync(path.join(tmpdir(), 'kboot-user-data-'));
        try {
          const file = path.join(dir, 'user-data.yaml');
          writeFileSync(file, userData);
          const result = spawnSync('cloud-init', ['schema', '--config-file', file], {
            encoding: 'utf8',
            timeout: 60_000,
          });
          assert.equal(result.status, 0, `cloud-init schema: ${result.stdout}${result.stderr}`);
        } finally {
          rmSync(dir, { recursive: true, force: true });
        }
      });
    });
  }
});

describe('launchTemplateData', () => {
  const base = readCase('launch-template-worker');
  const { data } = render(base);

  it('uses the instance profile ARN when it has one, else its name', () => {
    assert.deepEqual(data.IamInstanceProfile, { Name: 'kboot-staging-worker' });
    const control = render(readCase('launch-template-control-plane')).data;
    assert.deepEqual(control.IamInstanceProfile, {
      Arn: 'arn:aws:iam::123456789012:instance-profile/kboot-prod-control-plane',
    });
  });

  it('takes a raised hop limit when the spec asks for one', () => {
    const raised = launchTemplateData({
      ...base.template,
      cluster: 'c',
      role: 'worker',
      table: 'kboot',
      userData: '',
      hopLimit: 2,
    });
    assert.equal(raised.MetadataOptions.HttpPutResponseHopLimit, 2);
  });
});

describe('launchTemplateDrift', () => {
  const { data } = render(readCase('launch-template-worker'));

  it('finds nothing when a version holds the same data (security groups in any order)', () => {
    const have = structuredClone(data) as unknown as Record<string, unknown>;
    have.SecurityGroupIds = [...(data.SecurityGroupIds ?? [])].reverse();
    assert.deepEqual(launchTemplateDrift(data, have), []);
  });

  for (const [field, change, expected] of [
    [
      'imageId',
      { ImageId: 'ami-0000000000000000a' },
      { want: 'ami-0fedcba9876543210', have: 'ami-0000000000000000a' },
    ],
    ['instanceType', { InstanceType: 'm7g.large' }, { want: 'm7g.xlarge', have: 'm7g.large' }],
    [
      'metadataOptions.httpTokens',
      { MetadataOptions: { ...data.MetadataOptions, HttpTokens: 'optional' } },
      { want: 'required', have: 'optional' },
    ],
    [
      'metadataOptions.httpPutResponseHopLimit',
      { MetadataOptions: { ...data.MetadataOptions, HttpPutResponseHopLimit: 2 } },
      { want: '1', have: '2' },
    ],
    ['userData', { UserData: Buffer.from('#cloud-config\n').toString('base64') }, undefined],
  ] as const) {
    it(`reports a changed ${field}`, () => {
      const drifts = launchTemplateDrift(data, { ...data, ...change } as never);
      assert.deepEqual(
        drifts.map((d) => d.field),
        [field],
      );
      if (expected !== undefined) assert.deepEqual(drifts[0], { field, ...expected });
    });
  }
});

describe('AWS names', () => {
  it('keeps short names readable', () => {
    assert.equal(elbName('prod', 'api'), 'kboot-prod-api');
    assert.equal(groupName('prod', 'workers-eu-west-1a'), 'kboot-prod-workers-eu-west-1a');
  });

  it('cuts long load balancer names to 32 characters with a hash, distinct per cluster', () => {
    const a = elbName('a-very-long-cluster-name-00001', 'api');
    const b = elbName('a-very-long-cluster-name-00002', 'api');
    for (const name of [a, b]) {
      assert.ok(name.length <= 32, name);
      assert.match(name, /^[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?$/);
    }
    assert.notEqual(a, b);
  });
});
