import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError, IncompatibleError, UsageError } from '../../../../src/core/errors.js';
import { nodeMaskSize } from '../../../../src/domain/addons/cilium.js';
import {
  CLOUD_CONTROLLER_IMAGES,
  cloudControllerImage,
  configureCloudRoutes,
} from '../../../../src/domain/addons/cloud-controller.js';
import { type AddonsInput, hasObjects, planAddons } from '../../../../src/domain/addons/plan.js';
import {
  clusterAddonsFromConfig,
  effectiveClusterAddons,
  kubeletCloudProvider,
} from '../../../../src/domain/addons/settings.js';
import { parseNodeConfig } from '../../../../src/domain/config/node-config.js';

const NS = (name: string) => `apiVersion: v1\nkind: Namespace\nmetadata: { name: ${name} }\n`;

function input(overrides: Partial<AddonsInput> = {}): AddonsInput {
  return {
    clusterName: 'prod',
    podCidr: '10.244.0.0/16',
    kubernetesVersion: '1.31.2',
    addons: { cni: 'cilium', cloudController: true },
    manifestsDir: { path: '/etc/kboot/addons.d', files: [] },
    ...overrides,
  };
}

describe('planAddons: what is applied, in which order', () => {
  const cases: [string, Partial<AddonsInput>, string[]][] = [
    ['nothing asked for', { addons: { cni: 'none', cloudController: false } }, []],
    ['CNI before the cloud controller', {}, ['cilium', 'aws-cloud-controller-manager']],
    [
      'the cloud controller alone',
      { addons: { cni: 'none', cloudController: true } },
      ['aws-cloud-controller-manager'],
    ],
    [
      'addons.d last, by name (byte order), *.yaml and *.yml only, empty files skipped',
      {
        manifestsDir: {
          path: '/etc/kboot/addons.d/',
          files: [
            { name: 'b.yaml', text: NS('b') },
            { name: '10-a.yml', text: NS('a') },
            { name: 'B.yaml', text: NS('upper') },
            { name: 'notes.md', text: NS('x') },
            { name: '.hidden.yaml', text: NS('h') },
            { name: '00-empty.yaml', text: '# nothing\n---\n' },
            { name: 'broken.yaml', text: 'kind: [\n' },
          ],
        },
      },
      [
        'cilium',
        'aws-cloud-controller-manager',
        'addons.d/10-a.yml',
        'addons.d/B.yaml',
        'addons.d/b.yaml',
        'addons.d/broken.yaml',
      ],
    ],
  ];
  for (const [label, overrides, expected] of cases) {
    it(label, () =>
      assert.deepEqual(
        planAddons(input(overrides)).map((a) => a.name),
        expected,
      ),
    );
  }

  it('names the file each addon comes from', () => {
    const plan = planAddons(
      input({ manifestsDir: { path: '/srv/addons/', files: [{ name: 'x.yaml', text: NS('x') }] } }),
    );
    assert.deepEqual(
      plan.map((a) => [a.file, a.origin]),
      [
        ['/var/lib/kboot/addons/10-cilium.yaml', 'rendered'],
        ['/var/lib/kboot/addons/20-aws-cloud-controller-manager.yaml', 'rendered'],
        ['/srv/addons/x.yaml', 'addons.d'],
      ],
    );
  });

  it('keeps an addons.d file byte for byte', () => {
    const text = '# mine\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: x   # spaces kept\n';
    assert.equal(
      planAddons(input({ manifestsDir: { path: '/d', files: [{ name: 'x.yaml', text }] } })).at(-1)?.manifest,
      text,
    );
  });

  it('tells files with objects from files without', () => {
    assert.equal(hasObjects(''), false);
    assert.equal(hasObjects('# c\n---\n---\n'), false);
    assert.equal(hasObjects(NS('a')), true);
    assert.equal(hasObjects('key: [\n'), true, 'kubectl reports the syntax error with the file name');
  });
});

describe('Cilium per-node blocks', () => {
  const cases: [string, number][] = [
    ['10.244.0.0/16', 24],
    ['10.0.0.0/8', 24],
    ['10.8.0.0/20', 24],
    ['10.8.0.0/22', 26],
    ['10.8.0.0/24', 28],
  ];
  for (const [cidr, mask] of cases) it(`${cidr} → /${mask}`, () => assert.equal(nodeMaskSize(cidr), mask));
  it('refuses a pod CIDR smaller than /24', () =>
    assert.throws(() => nodeMaskSize('10.8.0.0/25'), ConfigError));
  it('refuses something that is not an IPv4 CIDR', () =>
    assert.throws(() => nodeMaskSize('fd00::/64'), UsageError));
});

describe('AWS cloud-controller-manager', () => {
  it('matches the image to the Kubernetes minor', () => {
    for (const [minor, image] of Object.entries(CLOUD_CONTROLLER_IMAGES)) {
      assert.equal(cloudControllerImage(`${minor}.7`), image);
      assert.match(
        image,
        new RegExp(
          `^registry\\.k8s\\.io/provider-aws/cloud-controller-manager:v${minor.replace('.', '\\.')}\\.\\d+$`,
        ),
      );
    }
    assert.equal(cloudControllerImage('v1.31.0'), CLOUD_CONTROLLER_IMAGES['1.31']);
  });
  it('refuses a minor it has no image for, unless an image is given', () => {
    assert.throws(
      () => cloudControllerImage('1.29.4'),
      (e: unknown) =>
        e instanceof IncompatibleError &&
        /Kubernetes 1\.29/.test(e.message) &&
        /addons\.images\.cloudController/.test(e.hint ?? ''),
    );
    assert.equal(
      cloudControllerImage('1.29.4', 'mirror.example.com/ccm:v1.29.9'),
      'mirror.example.com/ccm:v1.29.9',
    );
  });
  it('never programs VPC routes: Cilium tunnels, and kboot does not know another CNI', () => {
    assert.equal(configureCloudRoutes('cilium'), false);
    assert.equal(configureCloudRoutes('none'), false);
  });
});

describe('cluster-wide addon settings', () => {
  it('defaults to no CNI and no cloud controller', () =>
    assert.deepEqual(clusterAddonsFromConfig(undefined), { cni: 'none', cloudController: false }));
  it('prefers the record over this node’s config', () => {
    assert.deepEqual(
      effectiveClusterAddons({ addons: { cni: 'cilium', cloudController: true } }, { cni: 'none' }),
      { cni: 'cilium', cloudController: true },
    );
    assert.deepEqual(effectiveClusterAddons({}, { cloudController: true }), {
      cni: 'none',
      cloudController: true,
    });
  });
  it('runs kubelets with cloud-provider external exactly with the cloud controller', () => {
    assert.equal(kubeletCloudProvider({ cni: 'none', cloudController: true }), 'external');
    assert.equal(kubeletCloudProvider({ cni: 'cilium', cloudController: false }), 'none');
  });
});

describe('node config: addons fields', () => {
  it('accepts every field', () => {
    const config = parseNodeConfig(
      [
        'timeouts: { addons: 5m }',
        'addons:',
        '  cni: cilium',
        '  cloudController: true',
        '  manifestsDir: /srv/addons',
        '  images:',
        '    cilium: 123456789012.dkr.ecr.eu-west-1.amazonaws.com/cilium/cilium:v1.17.1',
        '    cloudController: registry.k8s.io/provider-aws/cloud-controller-manager:v1.29.9@sha256:' +
          'a'.repeat(64),
      ].join('\n'),
      'config.yaml',
    );
    assert.equal(config.addons?.images?.cilium?.endsWith(':v1.17.1'), true);
  });
  const bad: [string, RegExp][] = [
    ['addons: { cni: calico }', /field addons\.cni/],
    ['addons: { manifestsDir: addons.d }', /field addons\.manifestsDir: expected an absolute path/],
    [
      'addons: { images: { cilium: "Not An Image" } }',
      /field addons\.images\.cilium: expected an image reference/,
    ],
    ['addons: { images: { hubble: x/y:z } }', /unknown field addons\.images\.hubble/],
    ['timeouts: { addons: soon }', /field timeouts\.addons/],
  ];
  for (const [text, message] of bad) {
    it(`rejects ${text}`, () =>
      assert.throws(
        () => parseNodeConfig(text, 'config.yaml'),
        (e: unknown) => e instanceof ConfigError && message.test(e.message),
      ));
  }
});
