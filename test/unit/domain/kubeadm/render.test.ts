import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parse, parseAllDocuments } from 'yaml';
import { ConfigError } from '../../../../src/core/errors.js';
import { REDACTED, Secret } from '../../../../src/core/secrets.js';
import {
  GRACEFUL_NODE_SHUTDOWN,
  initDocuments,
  joinDocuments,
  renderInitConfig,
  renderJoinConfig,
  renderTokenCreateConfig,
  renderUploadCertsConfig,
} from '../../../../src/domain/kubeadm/render.js';
import type { InitConfigInput, JoinConfigInput } from '../../../../src/domain/kubeadm/types.js';
import { KUBEADM_API_V1BETA3, KUBEADM_API_V1BETA4 } from '../../../../src/domain/kubeadm/version.js';

const TOKEN = 'abcdef.0123456789abcdef';
const KEY = '0123456789abcdef'.repeat(4);
const HASH = `sha256:${'ab'.repeat(32)}`;

function initInput(overrides: Partial<InitConfigInput> = {}): InitConfigInput {
  return {
    apiVersion: KUBEADM_API_V1BETA4,
    clusterName: 'demo',
    kubernetesVersion: '1.31.2',
    controlPlaneEndpoint: 'lb.example.com:6443',
    advertiseAddress: '10.0.1.10',
    nodeName: 'ip-10-0-1-10.ec2.internal',
    podSubnet: '10.244.0.0/16',
    serviceSubnet: '10.96.0.0/12',
    bootstrapTokens: [{ token: new Secret(TOKEN), ttlMs: 3_600_000 }],
    certificateKey: new Secret(KEY),
    ...overrides,
  };
}

function joinInput(overrides: Partial<JoinConfigInput> = {}): JoinConfigInput {
  return {
    apiVersion: KUBEADM_API_V1BETA4,
    nodeName: 'ip-10-0-2-20.ec2.internal',
    discovery: { apiServerEndpoint: 'lb.example.com:6443', token: new Secret(TOKEN), caCertHashes: [HASH] },
    ...overrides,
  };
}

function docs(text: string): Record<string, unknown>[] {
  return parseAllDocuments(text).map((document) => document.toJS() as Record<string, unknown>);
}

describe('secrets in rendered configs', () => {
  it('are written for kubeadm in reveal mode (the default)', () => {
    const text = renderInitConfig(initInput());
    assert.ok(text.includes(TOKEN));
    assert.ok(text.includes(KEY));
  });

  it('are all replaced in redacted mode, for --dry-run', () => {
    const outputs = [
      renderInitConfig(initInput(), { mode: 'redacted' }),
      renderJoinConfig(
        joinInput({ controlPlane: { advertiseAddress: '10.0.1.11', certificateKey: new Secret(KEY) } }),
        { mode: 'redacted' },
      ),
      renderTokenCreateConfig(
        {
          apiVersion: KUBEADM_API_V1BETA4,
          kubernetesVersion: 'v1.31.2',
          bootstrapTokens: [{ token: new Secret(TOKEN), ttlMs: 1000 }],
        },
        { mode: 'redacted' },
      ),
      renderUploadCertsConfig(
        { apiVersion: KUBEADM_API_V1BETA4, kubernetesVersion: 'v1.31.2', certificateKey: new Secret(KEY) },
        { mode: 'redacted' },
      ),
    ];
    for (const text of outputs) {
      assert.ok(!text.includes(TOKEN) && !text.includes(KEY) && !text.includes('0123456789abcdef'), text);
      assert.ok(text.includes(REDACTED));
    }
    const [join] = docs(outputs[1] as string);
    assert.deepEqual(join?.controlPlane, {
      localAPIEndpoint: { advertiseAddress: '10.0.1.11', bindPort: 6443 },
      certificateKey: REDACTED,
    });
  });
});

describe('API version differences', () => {
  it('v1beta4: kubelet and component arguments are lists of {name, value}, waits under timeouts', () => {
    const [init, cluster] = initDocuments(
      initInput({
        kubeletExtraArgs: [{ name: 'node-labels', value: 'a=b' }],
        serviceAccount: { issuer: 'https://oidc.example.com', apiAudiences: ['sts.amazonaws.com', 'x'] },
        timeouts: { controlPlaneComponentHealthCheckMs: 90_000, discoveryMs: 300_000 },
      }),
    );
    assert.deepEqual((init!.nodeRegistration as Record<string, unknown>).kubeletExtraArgs, [
      { name: 'cloud-provider', value: 'external' },
      { name: 'node-labels', value: 'a=b' },
    ]);
    assert.deepEqual(init?.timeouts, { controlPlaneComponentHealthCheck: '1m30s', discovery: '5m0s' });
    assert.deepEqual(cluster?.apiServer, {
      extraArgs: [
        { name: 'service-account-issuer', value: 'https://oidc.example.com' },
        { name: 'api-audiences', value: 'sts.amazonaws.com,x' },
      ],
    });
  });

  it('v1beta3: arguments are maps, the control-plane wait is apiServer.timeoutForControlPlane', () => {
    const [init, cluster] = initDocuments(
      initInput({
        apiVersion: KUBEADM_API_V1BETA3,
        serviceAccount: { issuer: 'https://oidc.example.com', jwksUri: 'https://oidc.example.com/keys' },
        timeouts: { controlPlaneComponentHealthCheckMs: 90_000, kubeletHealthCheckMs: 60_000 },
      }),
    );
    assert.deepEqual((init!.nodeRegistration as Record<string, unknown>).kubeletExtraArgs, {
      'cloud-provider': 'external',
    });
    assert.equal(init?.timeouts, undefined);
    assert.deepEqual(cluster?.apiServer, {
      extraArgs: {
        'service-account-issuer': 'https://oidc.example.com',
        'service-account-jwks-uri': 'https://oidc.example.com/keys',
      },
      timeoutForControlPlane: '1m30s',
    });
  });

  it('v1beta3: the discovery wait is discovery.timeout', () => {
    const [join] = joinDocuments(
      joinInput({ apiVersion: KUBEADM_API_V1BETA3, timeouts: { discoveryMs: 120_000 } }),
    );
    assert.equal((join!.discovery as Record<string, unknown>).timeout, '2m0s');
    assert.equal(join?.timeouts, undefined);
  });

  it('v1beta3 refuses a repeated flag, which only a v1beta4 list can hold', () => {
    const args = [
      { name: 'node-labels', value: 'a=b' },
      { name: 'node-labels', value: 'c=d' },
    ];
    assert.throws(
      () => initDocuments(initInput({ apiVersion: KUBEADM_API_V1BETA3, kubeletExtraArgs: args })),
      /repeats "node-labels"/,
    );
    const [init] = initDocuments(initInput({ kubeletExtraArgs: args }));
    assert.equal(
      ((init!.nodeRegistration as Record<string, unknown>).kubeletExtraArgs as unknown[]).length,
      3,
    );
  });

  it('every node gets cloud-provider: external, workers and control planes alike', () => {
    for (const apiVersion of [KUBEADM_API_V1BETA3, KUBEADM_API_V1BETA4] as const) {
      for (const text of [
        renderInitConfig(initInput({ apiVersion })),
        renderJoinConfig(joinInput({ apiVersion })),
        renderJoinConfig(
          joinInput({
            apiVersion,
            controlPlane: { advertiseAddress: '10.0.1.11', certificateKey: new Secret(KEY) },
          }),
        ),
      ]) {
        const first = docs(text)[0] as { nodeRegistration: { kubeletExtraArgs: unknown } };
        const args = first.nodeRegistration.kubeletExtraArgs;
        const value = Array.isArray(args)
          ? (args as { name: string; value: string }[]).find((arg) => arg.name === 'cloud-provider')?.value
          : (args as Record<string, string>)['cloud-provider'];
        assert.equal(value, 'external');
      }
    }
  });
});

describe('init documents', () => {
  it('defaults token usages and groups, writes the TTL as a Go duration and the version with a v', () => {
    const [init, cluster] = initDocuments(initInput());
    assert.deepEqual(init?.bootstrapTokens, [
      {
        token: TOKEN,
        ttl: '1h0m0s',
        usages: ['signing', 'authentication'],
        groups: ['system:bootstrappers:kubeadm:default-node-token'],
      },
    ]);
    assert.equal(cluster?.kubernetesVersion, 'v1.31.2');
    assert.deepEqual(init?.localAPIEndpoint, { advertiseAddress: '10.0.1.10', bindPort: 6443 });
  });

  it('adds a KubeletConfiguration only when asked', () => {
    assert.equal(initDocuments(initInput()).length, 2);
    const withKubelet = initDocuments(initInput({ kubeletConfiguration: { cgroupDriver: 'systemd' } }));
    assert.deepEqual(withKubelet[2], {
      apiVersion: 'kubelet.config.k8s.io/v1beta1',
      kind: 'KubeletConfiguration',
      cgroupDriver: 'systemd',
    });
  });

  it("renders the kubelet's graceful node shutdown, the backstop of a worker's leave", () => {
    const docs = initDocuments(
      initInput({ kubeletConfiguration: { cgroupDriver: 'systemd', ...GRACEFUL_NODE_SHUTDOWN } }),
    );
    assert.deepEqual(docs[2], {
      apiVersion: 'kubelet.config.k8s.io/v1beta1',
      kind: 'KubeletConfiguration',
      cgroupDriver: 'systemd',
      shutdownGracePeriod: '60s',
      shutdownGracePeriodCriticalPods: '20s',
    });
  });

  it('is valid YAML with the documents in order', () => {
    const kinds = docs(renderInitConfig(initInput())).map((document) => document.kind);
    assert.deepEqual(kinds, ['InitConfiguration', 'ClusterConfiguration']);
  });

  const invalid: [string, Partial<InitConfigInput>, RegExp][] = [
    [
      'a node name that is not a DNS name',
      { nodeName: 'IP_10' },
      /nodeRegistration\.name "IP_10" is not a valid Node name/,
    ],
    [
      'an advertise address that is not IPv4',
      { advertiseAddress: 'ip-10-0-1-10' },
      /localAPIEndpoint\.advertiseAddress/,
    ],
    [
      'an endpoint without a port',
      { controlPlaneEndpoint: 'lb.example.com' },
      /controlPlaneEndpoint "lb\.example\.com" is not host:port/,
    ],
    ['an endpoint with a bad port', { controlPlaneEndpoint: 'lb.example.com:70000' }, /not host:port/],
    ['a pod subnet that is not a CIDR', { podSubnet: '10.244.0.0' }, /networking\.podSubnet/],
    ['a service subnet with a bad prefix', { serviceSubnet: '10.96.0.0/33' }, /networking\.serviceSubnet/],
    [
      'a version without a patch',
      { kubernetesVersion: '1.31' },
      /kubernetesVersion "1\.31" is not a Kubernetes version/,
    ],
    ['an empty cluster name', { clusterName: ' ' }, /clusterName is empty/],
    ['a bad SAN', { certSANs: ['ok.example.com', 'not a name'] }, /apiServer\.certSANs\[1\]/],
    [
      'a token that never expires',
      { bootstrapTokens: [{ token: new Secret(TOKEN), ttlMs: 0 }] },
      /bootstrapTokens\[0\]\.ttl must be a positive duration/,
    ],
    [
      'an unknown token usage',
      { bootstrapTokens: [{ token: new Secret(TOKEN), ttlMs: 1, usages: ['signing', 'x' as 'signing'] }] },
      /usages/,
    ],
    [
      'a group outside system:bootstrappers',
      { bootstrapTokens: [{ token: new Secret(TOKEN), ttlMs: 1, groups: ['system:masters'] }] },
      /groups/,
    ],
    ['an http issuer', { serviceAccount: { issuer: 'http://oidc.example.com' } }, /serviceAccount\.issuer/],
    ['a zero timeout', { timeouts: { kubeletHealthCheckMs: 0 } }, /timeouts\.kubeletHealthCheck/],
    ['a bad bind port', { bindPort: 0 }, /localAPIEndpoint\.bindPort/],
  ];
  for (const [name, change, message] of invalid) {
    it(`refuses ${name}`, () => {
      assert.throws(
        () => renderInitConfig(initInput(change)),
        (error: unknown) => {
          assert.ok(error instanceof ConfigError, String(error));
          assert.match(error.message, message);
          return true;
        },
      );
    });
  }

  const badSecrets: [string, Partial<InitConfigInput>, string][] = [
    [
      'a malformed token',
      { bootstrapTokens: [{ token: new Secret('NOT-A-TOKEN-abc'), ttlMs: 1 }] },
      'NOT-A-TOKEN-abc',
    ],
    ['a malformed certificate key', { certificateKey: new Secret('zz-secret-key-zz') }, 'zz-secret-key-zz'],
  ];
  for (const [name, change, value] of badSecrets) {
    it(`refuses ${name} without showing it`, () => {
      assert.throws(
        () => renderInitConfig(initInput(change), { mode: 'redacted' }),
        (error: unknown) => {
          assert.ok(error instanceof ConfigError);
          assert.ok(!`${error.message} ${error.hint} ${JSON.stringify(error.details)}`.includes(value));
          return true;
        },
      );
    });
  }
});

describe('join documents', () => {
  it('a worker gets discovery and its node name, and no controlPlane', () => {
    const [join] = docs(renderJoinConfig(joinInput()));
    assert.deepEqual(join, {
      apiVersion: 'kubeadm.k8s.io/v1beta4',
      kind: 'JoinConfiguration',
      discovery: {
        bootstrapToken: { apiServerEndpoint: 'lb.example.com:6443', token: TOKEN, caCertHashes: [HASH] },
      },
      nodeRegistration: {
        name: 'ip-10-0-2-20.ec2.internal',
        kubeletExtraArgs: [{ name: 'cloud-provider', value: 'external' }],
      },
    });
  });

  const invalid: [string, Partial<JoinConfigInput>, RegExp][] = [
    [
      'no CA pin',
      { discovery: { apiServerEndpoint: 'lb:6443', token: new Secret(TOKEN), caCertHashes: [] } },
      /caCertHashes is empty/,
    ],
    [
      'a malformed CA pin',
      { discovery: { apiServerEndpoint: 'lb:6443', token: new Secret(TOKEN), caCertHashes: ['sha1:00'] } },
      /caCertHashes\[0\]/,
    ],
    [
      'an endpoint without a port',
      { discovery: { apiServerEndpoint: 'lb', token: new Secret(TOKEN), caCertHashes: [HASH] } },
      /apiServerEndpoint "lb" is not host:port/,
    ],
    [
      'a malformed token',
      { discovery: { apiServerEndpoint: 'lb:6443', token: new Secret('x'), caCertHashes: [HASH] } },
      /discovery\.bootstrapToken\.token is not a kubeadm bootstrap token/,
    ],
    [
      'a control plane without a valid key',
      { controlPlane: { advertiseAddress: '10.0.1.11', certificateKey: new Secret('abc') } },
      /controlPlane\.certificateKey/,
    ],
    [
      'a control plane with a DNS advertise address',
      { controlPlane: { advertiseAddress: 'host', certificateKey: new Secret(KEY) } },
      /controlPlane\.localAPIEndpoint\.advertiseAddress/,
    ],
  ];
  for (const [name, change, message] of invalid) {
    it(`refuses ${name}`, () => {
      assert.throws(
        () => renderJoinConfig(joinInput(change)),
        (error: unknown) => {
          assert.ok(error instanceof ConfigError, String(error));
          assert.match(error.message, message);
          return true;
        },
      );
    });
  }
});

describe('token create and upload-certs configs', () => {
  it('carry kubernetesVersion so kubeadm does not look up the latest release online', () => {
    for (const text of [
      renderTokenCreateConfig({
        apiVersion: KUBEADM_API_V1BETA3,
        kubernetesVersion: '1.30.6',
        bootstrapTokens: [{ token: new Secret(TOKEN), ttlMs: 7_200_000, description: 'rotate' }],
      }),
      renderUploadCertsConfig({
        apiVersion: KUBEADM_API_V1BETA3,
        kubernetesVersion: '1.30.6',
        certificateKey: new Secret(KEY),
      }),
    ]) {
      const [, cluster] = docs(text);
      assert.deepEqual(cluster, {
        apiVersion: 'kubeadm.k8s.io/v1beta3',
        kind: 'ClusterConfiguration',
        kubernetesVersion: 'v1.30.6',
      });
    }
  });

  it('refuse an empty token list', () => {
    assert.throws(
      () =>
        renderTokenCreateConfig({
          apiVersion: KUBEADM_API_V1BETA4,
          kubernetesVersion: '1.31.2',
          bootstrapTokens: [],
        }),
      ConfigError,
    );
  });

  it('start with a comment naming kboot, parse as YAML, and end with a newline', () => {
    const text = renderUploadCertsConfig({
      apiVersion: KUBEADM_API_V1BETA4,
      kubernetesVersion: '1.31.2',
      certificateKey: new Secret(KEY),
    });
    assert.match(text, /^# Rendered by kboot\./);
    assert.ok(text.endsWith('\n'));
    assert.equal(parse(text.split('---\n')[0] as string).certificateKey, KEY);
  });
});
