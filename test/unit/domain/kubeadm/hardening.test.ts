/**
 * A hardened control plane: the defaults and how each setting is turned off, the files the API
 * server reads (golden files test/cases/hardening-files-*: input.json { kubernetesVersion,
 * hardening } as in the node config; expected.yaml: every file, each after a "# path" line), and
 * what the init config gets (test/cases/kubeadm-init-*-hardened).
 */

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { parse, parseAllDocuments } from 'yaml';
import { Secret } from '../../../../src/core/secrets.js';
import { parseNodeConfig } from '../../../../src/domain/config/node-config.js';
import {
  AUDIT_POLICY_PATH,
  AUTHENTICATION_CONFIG_PATH,
  anonymousConditionsSupported,
  clusterConfigurationHardening,
  ENCRYPTION_CONFIG_PATH,
  encryptionKeyFromConfig,
  generateEncryptionKey,
  type HardeningConfig,
  hardeningFiles,
  renderAuditPolicy,
  renderEncryptionConfig,
  resolveHardening,
} from '../../../../src/domain/kubeadm/hardening.js';
import { renderInitConfig } from '../../../../src/domain/kubeadm/render.js';
import type { InitConfigInput } from '../../../../src/domain/kubeadm/types.js';
import { goldenSuite } from '../../../support/golden.js';

function filesText(caseDir: string): string {
  const spec = JSON.parse(readFileSync(path.join(caseDir, 'input.json'), 'utf8')) as {
    kubernetesVersion: string;
    hardening: HardeningConfig;
    encryptionKey?: string;
  };
  const key = spec.encryptionKey === undefined ? undefined : new Secret(spec.encryptionKey);
  return hardeningFiles(resolveHardening(spec.hardening), spec.kubernetesVersion, key)
    .map(
      (file) => `# ${file.path}\n${typeof file.content === 'string' ? file.content : file.content.reveal()}`,
    )
    .join('---\n');
}

goldenSuite({
  title: 'hardening files golden files (test/cases/hardening-files-*)',
  prefix: 'hardening-files-',
  promised: ['hardening-files-v1-31', 'hardening-files-v1-33', 'hardening-files-v1-34'],
  render: filesText,
});

const INIT: InitConfigInput = {
  apiVersion: 'kubeadm.k8s.io/v1beta4',
  clusterName: 'demo',
  kubernetesVersion: 'v1.33.1',
  controlPlaneEndpoint: 'api.demo.example.com:6443',
  advertiseAddress: '10.0.1.10',
  nodeName: 'ip-10-0-1-10.ec2.internal',
  podSubnet: '10.244.0.0/16',
  serviceSubnet: '10.96.0.0/12',
  kubeletConfiguration: { cgroupDriver: 'systemd' },
};

interface Doc {
  kind: string;
  [field: string]: unknown;
}

function documents(input: InitConfigInput): Doc[] {
  return parseAllDocuments(renderInitConfig(input)).map((document) => document.toJS() as Doc);
}

function argsOf(doc: Doc | undefined, component: string): Record<string, string> {
  const list = ((doc?.[component] as { extraArgs?: { name: string; value: string }[] } | undefined)
    ?.extraArgs ?? []) as { name: string; value: string }[];
  return Object.fromEntries(list.map((arg) => [arg.name, arg.value]));
}

describe('hardening settings', () => {
  it('turns everything on by default', () => {
    assert.deepEqual(resolveHardening(undefined), {
      profiling: false,
      tlsMinVersion: 'VersionTLS12',
      anonymousHealthOnly: true,
      audit: { maxAgeDays: 30, maxBackups: 10, maxSizeMb: 100 },
      encryptionAtRest: { provider: 'secretbox' },
      kubeletServingCertificates: true,
    });
  });

  it('reads each setting from the node config, and turns each off', () => {
    const config = parseNodeConfig(
      [
        'hardening:',
        '  profiling: true',
        '  tlsMinVersion: VersionTLS13',
        '  anonymousAuth: kubeadm-default',
        '  audit: false',
        '  encryptionAtRest: false',
        '  kubeletServingCertificates: false',
      ].join('\n'),
      'config.yaml',
    );
    assert.deepEqual(resolveHardening(config.hardening), {
      profiling: true,
      tlsMinVersion: 'VersionTLS13',
      anonymousHealthOnly: false,
      audit: undefined,
      encryptionAtRest: undefined,
      kubeletServingCertificates: false,
    });
    const off = clusterConfigurationHardening(resolveHardening(config.hardening), 'v1.33.0');
    assert.deepEqual(off.apiServerArgs, [{ name: 'tls-min-version', value: 'VersionTLS13' }]);
    assert.deepEqual(off.apiServerVolumes, []);
    assert.deepEqual(off.controllerManagerArgs, []);
    assert.deepEqual(off.schedulerArgs, []);
    assert.deepEqual(hardeningFiles(resolveHardening(config.hardening), 'v1.33.0'), []);
    assert.deepEqual(off.kubelet, { tlsMinVersion: 'VersionTLS13' });
  });

  it('keeps the audit defaults for rotation fields left out', () => {
    const config = parseNodeConfig('hardening:\n  audit:\n    maxBackups: 3\n', 'config.yaml');
    assert.deepEqual(resolveHardening(config.hardening).audit, {
      maxAgeDays: 30,
      maxBackups: 3,
      maxSizeMb: 100,
    });
  });

  for (const [text, problem] of [
    ['hardening:\n  tlsMinVersion: VersionTLS11\n', 'field hardening.tlsMinVersion'],
    ['hardening:\n  anonymousAuth: off\n', 'field hardening.anonymousAuth'],
    ['hardening:\n  audit: true\n', 'field hardening.audit'],
    ['hardening:\n  audit:\n    maxAgeDays: 0\n', 'field hardening.audit.maxAgeDays'],
    ['hardening:\n  audit:\n    maxSize: 10\n', 'hardening.audit.maxSize'],
    ['hardening:\n  profilin: false\n', 'unknown field hardening.profilin'],
    ['hardening:\n  encryptionAtRest: true\n', 'field hardening.encryptionAtRest'],
    ['hardening:\n  encryptionAtRest:\n    provider: aesgcm\n', 'field hardening.encryptionAtRest'],
    [
      'hardening:\n  encryptionAtRest:\n    kms:\n      endpoint: tcp://10.0.0.1:80\n',
      'field hardening.encryptionAtRest.kms.endpoint',
    ],
  ] as const) {
    it(`rejects ${JSON.stringify(text)} naming the field`, () => {
      assert.throws(
        () => parseNodeConfig(text, 'config.yaml'),
        (error: Error) => error.message.includes(problem),
      );
    });
  }

  it('limits anonymous requests from Kubernetes 1.32 (beta, on by default), not before', () => {
    assert.equal(anonymousConditionsSupported('v1.31.9'), false);
    assert.equal(anonymousConditionsSupported('v1.32.0'), true);
    assert.equal(anonymousConditionsSupported('1.37'), true);
    const old = clusterConfigurationHardening(resolveHardening(undefined), 'v1.31.9');
    assert.equal(
      old.apiServerArgs.some((arg) => arg.name === 'authentication-config'),
      false,
    );
    const key = generateEncryptionKey();
    assert.deepEqual(
      hardeningFiles(resolveHardening(undefined), 'v1.31.9', key).map((file) => file.path),
      [AUDIT_POLICY_PATH, ENCRYPTION_CONFIG_PATH],
    );
    assert.deepEqual(
      hardeningFiles(resolveHardening(undefined), 'v1.32.0', key).map((file) => file.path),
      [AUTHENTICATION_CONFIG_PATH, AUDIT_POLICY_PATH, ENCRYPTION_CONFIG_PATH],
    );
  });
});

describe('the audit policy', () => {
  const policy = parse(renderAuditPolicy()) as {
    kind: string;
    rules: { level: string; resources?: { group: string; resources: string[] }[] }[];
  };

  it('logs no request or response body at all', () => {
    assert.equal(policy.kind, 'Policy');
    for (const rule of policy.rules) assert.ok(['None', 'Metadata'].includes(rule.level), rule.level);
  });

  it('keeps Secrets at Metadata (never their bodies), in a rule before the catch-all', () => {
    const index = policy.rules.findIndex((rule) =>
      rule.resources?.some((resource) => resource.group === '' && resource.resources.includes('secrets')),
    );
    assert.ok(index >= 0);
    assert.equal(policy.rules[index]?.level, 'Metadata');
    assert.deepEqual(policy.rules.at(-1), { level: 'Metadata' });
  });
});

describe('the init config of a hardened control plane', () => {
  it('turns profiling off on the API server, controller-manager and scheduler, with TLS 1.2 and the audit log', () => {
    const [, cluster, kubelet] = documents({ ...INIT, hardening: resolveHardening(undefined) });
    const apiServer = argsOf(cluster, 'apiServer');
    assert.equal(apiServer.profiling, 'false');
    assert.equal(apiServer['tls-min-version'], 'VersionTLS12');
    assert.equal(apiServer['authentication-config'], AUTHENTICATION_CONFIG_PATH);
    assert.equal(apiServer['audit-policy-file'], AUDIT_POLICY_PATH);
    assert.equal(apiServer['audit-log-maxage'], '30');
    assert.equal(argsOf(cluster, 'controllerManager').profiling, 'false');
    assert.equal(argsOf(cluster, 'scheduler').profiling, 'false');
    assert.equal(kubelet?.kind, 'KubeletConfiguration');
    assert.equal(kubelet?.tlsMinVersion, 'VersionTLS12');
    assert.equal(kubelet?.serverTLSBootstrap, true);
    assert.equal(kubelet?.cgroupDriver, 'systemd');
    const apiServerDoc = cluster?.apiServer as
      | { extraVolumes: { hostPath: string; readOnly: boolean }[] }
      | undefined;
    const volumes = apiServerDoc?.extraVolumes ?? [];
    assert.deepEqual(
      volumes.map((volume) => [volume.hostPath, volume.readOnly]),
      [
        ['/etc/kubernetes/authentication', true],
        ['/etc/kubernetes/audit', true],
        ['/var/log/kubernetes/audit', false],
        ['/etc/kubernetes/encryption', true],
      ],
    );
  });

  it('keeps the service account flags beside the hardening flags', () => {
    const [, cluster] = documents({
      ...INIT,
      serviceAccount: { issuer: 'https://oidc.example.com' },
      hardening: resolveHardening(undefined),
    });
    assert.equal(argsOf(cluster, 'apiServer')['service-account-issuer'], 'https://oidc.example.com');
    assert.equal(argsOf(cluster, 'apiServer').profiling, 'false');
  });

  it('renders nothing of it without hardening (kubeadm defaults)', () => {
    const [, cluster] = documents(INIT);
    assert.equal(cluster?.controllerManager, undefined);
    assert.equal(cluster?.scheduler, undefined);
    assert.equal(cluster?.apiServer, undefined);
  });
});

describe('encryption at rest', () => {
  const key = generateEncryptionKey();

  it('makes a fresh 32-byte key each time', () => {
    assert.equal(Buffer.from(key.reveal(), 'base64').length, 32);
    assert.notEqual(generateEncryptionKey().reveal(), key.reveal());
  });

  it('writes the secretbox key first, identity after, for Secrets only; the file is a Secret', () => {
    const [file] = hardeningFiles(
      { ...resolveHardening({ audit: false, anonymousAuth: 'kubeadm-default' }) },
      'v1.33.0',
      key,
    );
    assert.equal(file?.path, ENCRYPTION_CONFIG_PATH);
    const content = file?.content;
    assert.ok(content instanceof Secret, 'the encryption config is kept as a Secret');
    const text = content.reveal();
    const config = parse(text) as {
      kind: string;
      resources: { resources: string[]; providers: Record<string, unknown>[] }[];
    };
    assert.equal(config.kind, 'EncryptionConfiguration');
    assert.deepEqual(config.resources[0]?.resources, ['secrets']);
    assert.deepEqual(config.resources[0]?.providers, [
      { secretbox: { keys: [{ name: 'key1', secret: key.reveal() }] } },
      { identity: {} },
    ]);
    assert.equal(encryptionKeyFromConfig(text)?.reveal(), key.reveal());
    assert.equal(String(file?.content).includes(key.reveal()), false);
  });

  it('hides the key in a plan', () => {
    const text = renderEncryptionConfig({ provider: 'secretbox' }, undefined, 'redacted');
    assert.match(text, /secret: "\[REDACTED\]"/);
    assert.equal(encryptionKeyFromConfig(text), undefined);
  });

  it('refuses to write secretbox without a key, or with a malformed one, never quoting it', () => {
    assert.throws(() => renderEncryptionConfig({ provider: 'secretbox' }, undefined), /has no key/);
    assert.throws(
      () => renderEncryptionConfig({ provider: 'secretbox' }, new Secret('c2hvcnQ=')),
      (error: Error) => /not 32 bytes/.test(error.message) && !error.message.includes('c2hvcnQ='),
    );
  });

  it('uses a KMS v2 plugin when asked, and mounts its socket directory', () => {
    const config = parseNodeConfig(
      'hardening:\n  encryptionAtRest:\n    provider: kms\n    kms:\n      endpoint: unix:///var/run/kmsplugin/socket.sock\n',
      'config.yaml',
    );
    const hardening = resolveHardening(config.hardening);
    assert.deepEqual(hardening.encryptionAtRest, {
      provider: 'kms',
      name: 'aws-encryption-provider',
      endpoint: 'unix:///var/run/kmsplugin/socket.sock',
    });
    const text = renderEncryptionConfig(hardening.encryptionAtRest as never, undefined);
    const providers = (parse(text) as { resources: { providers: Record<string, unknown>[] }[] }).resources[0]
      ?.providers;
    assert.deepEqual(providers?.[0], {
      kms: {
        apiVersion: 'v2',
        name: 'aws-encryption-provider',
        endpoint: 'unix:///var/run/kmsplugin/socket.sock',
        timeout: '3s',
      },
    });
    const volumes = clusterConfigurationHardening(hardening, 'v1.33.0').apiServerVolumes;
    assert.ok(
      volumes.some((volume) => volume.hostPath === '/var/run/kmsplugin' && volume.pathType === 'Directory'),
    );
  });

  it('refuses kms without an endpoint, and kms settings with provider secretbox', () => {
    assert.throws(() => resolveHardening({ encryptionAtRest: { provider: 'kms' } }), /needs kms.endpoint/);
    assert.throws(
      () =>
        resolveHardening({
          encryptionAtRest: { provider: 'secretbox', kms: { endpoint: 'unix:///run/k.sock' } },
        }),
      /provider is secretbox/,
    );
  });

  it('names the encryption config to the API server', () => {
    const [, cluster] = documents({ ...INIT, hardening: resolveHardening(undefined) });
    assert.equal(argsOf(cluster, 'apiServer')['encryption-provider-config'], ENCRYPTION_CONFIG_PATH);
  });
});
