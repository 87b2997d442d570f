/**
 * The AMI build installs exactly what kboot's version tables pin: the provisioning scripts'
 * functions run (sourced, their main not) with the values of the rendered packer/versions.pkr.hcl,
 * and with stand-ins for the network (`curl`) and dpkg's database (`dpkg-query`) on PATH.
 *   - 30-kubernetes.sh installs kubelet, kubeadm, kubectl, cri-tools and kubernetes-cni each as
 *     name=VERSION, refuses anything but an exact version, and checks what was installed;
 *   - 40-containerd.sh checks each download against its pinned SHA-256 (sha256sum -c) before it
 *     unpacks or installs it, and refuses to download without a pin.
 */

import assert from 'node:assert/strict';
import { type SpawnSyncReturns, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { tempDir as makeTempDir, repoRoot } from '../support/paths.js';

const PACKER_DIR = path.join(repoRoot(), 'packer');
const SCRIPTS_DIR = path.join(PACKER_DIR, 'scripts');
const EXACT = /^[0-9][0-9A-Za-z.+~-]*$/;

const tempDirs: string[] = [];
function tempDir(prefix: string): string {
  const dir = makeTempDir(prefix);
  tempDirs.push(dir);
  return dir;
}
after(() => {
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
});

/** Runs function `fn` of a provisioning script (sourced: its main does not run). */
function callScriptFunction(
  name: string,
  fn: string,
  args: readonly string[],
  env: NodeJS.ProcessEnv = process.env,
): SpawnSyncReturns<string> {
  return spawnSync(
    'bash',
    ['-c', `source "$1"; shift; ${fn} "$@"`, 'bash', path.join(SCRIPTS_DIR, name), ...args],
    {
      encoding: 'utf8',
      env,
      timeout: 60_000,
    },
  );
}

function output(result: SpawnSyncReturns<string>): string {
  return `${result.stdout}${result.stderr}`;
}

/** A directory of stand-in commands, put first on PATH. */
function fakeBin(commands: Record<string, string>): NodeJS.ProcessEnv {
  const dir = tempDir('kboot-fake-bin-');
  for (const [name, body] of Object.entries(commands)) {
    writeFileSync(path.join(dir, name), `#!/bin/sh\n${body}\n`, { mode: 0o755 });
  }
  return { ...process.env, PATH: `${dir}:${process.env.PATH ?? ''}` };
}

// --- the rendered variables ----------------------------------------------------------------------

const VERSIONS = readFileSync(path.join(PACKER_DIR, 'versions.pkr.hcl'), 'utf8');
const VARIABLES = readFileSync(path.join(PACKER_DIR, 'variables.pkr.hcl'), 'utf8');

function variableBlock(text: string, name: string): string {
  const block = new RegExp(`^variable "${name}" \\{\\n([\\s\\S]*?)^\\}`, 'm').exec(text)?.[1];
  assert.ok(block !== undefined, `variable ${name} is declared`);
  return block;
}

function stringDefault(text: string, name: string): string {
  const value = /^ {2}default\s*=\s*"([^"]*)"$/m.exec(variableBlock(text, name))?.[1];
  assert.ok(value !== undefined, `${name} has a string default`);
  return value;
}

/** A map(map(string)) default: outer key → inner key → value. */
function nestedMapDefault(text: string, name: string): Map<string, Record<string, string>> {
  const entries = new Map<string, Record<string, string>>();
  for (const [, key, body] of variableBlock(text, name).matchAll(
    /^ {4}"([^"]+)" = \{\n([\s\S]*?)^ {4}\}/gm,
  )) {
    entries.set(
      key as string,
      Object.fromEntries(
        [...(body as string).matchAll(/^\s+(\w+)\s*=\s*"([^"]*)"$/gm)].map((m) => [m[1], m[2]]),
      ),
    );
  }
  return entries;
}

const KUBERNETES_VERSION = stringDefault(VERSIONS, 'kubernetes_version');
const PACKAGE_REVISION = stringDefault(VARIABLES, 'kubernetes_package_revision');
const KUBERNETES_PACKAGES = nestedMapDefault(VERSIONS, 'kubernetes_packages');

// --- 30-kubernetes.sh ----------------------------------------------------------------------------

describe('30-kubernetes.sh', () => {
  it('has pins for the default Kubernetes version', () => {
    assert.ok(KUBERNETES_PACKAGES.has(KUBERNETES_VERSION.split('.').slice(0, 2).join('.')));
  });

  for (const [minor, pins] of KUBERNETES_PACKAGES) {
    it(`pins kubelet, kubeadm, kubectl, cri-tools and kubernetes-cni to exact versions for ${minor}`, () => {
      const version = minor === KUBERNETES_VERSION.replace(/\.\d+$/, '') ? KUBERNETES_VERSION : `${minor}.0`;
      const result = callScriptFunction('30-kubernetes.sh', 'pinned_packages', [
        version,
        PACKAGE_REVISION,
        pins.cri_tools ?? '',
        pins.kubernetes_cni ?? '',
      ]);
      assert.equal(result.status, 0, output(result));
      const packages = result.stdout.trim().split('\n');
      assert.deepEqual(
        packages.map((pin) => pin.split('=')[0]),
        ['kubelet', 'kubeadm', 'kubectl', 'cri-tools', 'kubernetes-cni'],
      );
      for (const pin of packages) assert.match(pin.split('=')[1] as string, EXACT, pin);
      for (const tool of ['kubelet', 'kubeadm', 'kubectl']) {
        assert.ok(packages.includes(`${tool}=${version}-${PACKAGE_REVISION}`), `${tool} at ${version}`);
      }
      assert.ok(packages.includes(`cri-tools=${pins.cri_tools}`));
      assert.ok(packages.includes(`kubernetes-cni=${pins.kubernetes_cni}`));
    });
  }

  for (const [label, criTools] of [
    ['a wildcard', '1.37.*'],
    ['no version', ''],
    ['a range', '>=1.37.0'],
  ] as const) {
    it(`refuses cri-tools with ${label}`, () => {
      const result = callScriptFunction('30-kubernetes.sh', 'pinned_packages', [
        KUBERNETES_VERSION,
        PACKAGE_REVISION,
        criTools,
        '1.9.1-1.1',
      ]);
      assert.equal(result.status, 1);
      assert.match(result.stderr, /error: cri-tools is not pinned to an exact version/);
      assert.equal(result.stdout, '');
    });
  }

  it('installs exactly the pinned packages, checks what dpkg installed, then holds them', () => {
    const text = readFileSync(path.join(SCRIPTS_DIR, '30-kubernetes.sh'), 'utf8');
    const install = text.search(
      /^ {2}"\$\{APT\[@\]\}" install --no-install-recommends "\$\{packages\[@\]\}"$/m,
    );
    const check = text.search(/^ {2}check_installed_versions "\$\{packages\[@\]\}"$/m);
    const hold = text.search(/^ {2}apt-mark hold "\$\{packages\[@\]%%=\*\}"$/m);
    assert.ok(install > 0 && install < check && check < hold, 'install, check, then hold');
    assert.match(
      text,
      /mapfile -t packages < <\(pinned_packages "\$version" "\$revision" "\$cri_tools" "\$kubernetes_cni"\)/,
    );
  });

  it('stops when an installed package is not at its pinned version', () => {
    const env = fakeBin({
      'dpkg-query':
        'case "$3" in cri-tools) echo 1.36.0-1.1 ;; kubelet) echo 1.37.1-1.1 ;; *) exit 1 ;; esac',
    });
    const ok = callScriptFunction(
      '30-kubernetes.sh',
      'check_installed_versions',
      ['kubelet=1.37.1-1.1'],
      env,
    );
    assert.equal(ok.status, 0, output(ok));
    const wrong = callScriptFunction(
      '30-kubernetes.sh',
      'check_installed_versions',
      ['cri-tools=1.37.0-1.1'],
      env,
    );
    assert.equal(wrong.status, 1);
    assert.match(wrong.stderr, /error: cri-tools is 1\.36\.0-1\.1, expected 1\.37\.0-1\.1/);
    const missing = callScriptFunction(
      '30-kubernetes.sh',
      'check_installed_versions',
      ['kubelet=1.37.1-1.1', 'kubernetes-cni=1.9.1-1.1'],
      env,
    );
    assert.equal(missing.status, 1);
    assert.match(missing.stderr, /error: kubernetes-cni is not installed, expected 1\.9\.1-1\.1/);
  });
});

// --- 40-containerd.sh ----------------------------------------------------------------------------

/**
 * A stand-in curl that serves files from `served` by the URL's last path segment and logs each
 * URL it is asked for.
 */
function fakeCurl(served: string, log: string): NodeJS.ProcessEnv {
  return fakeBin({
    curl: `out=''; url=''
while [ $# -gt 0 ]; do
  case "$1" in -o) out=$2; shift ;; http*) url=$1 ;; esac
  shift
done
echo "$url" >>'${log}'
cp "${served}/\${url##*/}" "$out"`,
  });
}

function sha256(file: string): string {
  return createHash('sha256').update(readFileSync(file)).digest('hex');
}

/** A containerd release tarball as GitHub serves it: bin/containerd… under the archive root. */
function containerdTarball(served: string, version: string, arch: string): string {
  const staging = tempDir('kboot-containerd-release-');
  mkdirSync(path.join(staging, 'bin'));
  writeFileSync(path.join(staging, 'bin', 'containerd'), `#!/bin/sh\necho containerd v${version}\n`, {
    mode: 0o755,
  });
  const tarball = path.join(served, `containerd-${version}-linux-${arch}.tar.gz`);
  const tar = spawnSync('tar', ['-C', staging, '-czf', tarball, 'bin'], { encoding: 'utf8' });
  assert.equal(tar.status, 0, output(tar));
  return tarball;
}

describe('40-containerd.sh', () => {
  const CONTAINERD_SUMS = nestedMapDefault(VERSIONS, 'containerd_sha256');
  const RUNC_SUMS = nestedMapDefault(VERSIONS, 'runc_sha256');

  it('has a pinned SHA-256 per architecture for the default containerd and runc', () => {
    for (const [name, sums] of [
      ['containerd', CONTAINERD_SUMS],
      ['runc', RUNC_SUMS],
    ] as const) {
      const pinned = sums.get(stringDefault(VERSIONS, `${name}_version`));
      assert.deepEqual(Object.keys(pinned ?? {}).sort(), ['amd64', 'arm64'], `${name} sums`);
      for (const sum of Object.values(pinned ?? {})) assert.match(sum, /^[0-9a-f]{64}$/);
    }
  });

  it('unpacks a containerd download whose SHA-256 matches the pin', () => {
    const served = tempDir('kboot-served-');
    const tarball = containerdTarball(served, '2.3.2', 'arm64');
    const log = path.join(served, 'curl.log');
    const root = tempDir('kboot-root-');
    const result = callScriptFunction(
      '40-containerd.sh',
      'install_containerd',
      ['2.3.2', 'arm64', sha256(tarball), root],
      fakeCurl(served, log),
    );
    assert.equal(result.status, 0, output(result));
    assert.equal(
      readFileSync(log, 'utf8'),
      'https://github.com/containerd/containerd/releases/download/v2.3.2/containerd-2.3.2-linux-arm64.tar.gz\n',
    );
    assert.match(readFileSync(path.join(root, 'usr/local/bin/containerd'), 'utf8'), /containerd v2\.3\.2/);
    assert.match(result.stderr, /containerd-2\.3\.2-linux-arm64\.tar\.gz: SHA-256 [0-9a-f]{64} verified/);
  });

  it('stops before unpacking a containerd download that does not match the pin, and deletes it', () => {
    const served = tempDir('kboot-served-');
    containerdTarball(served, '2.3.2', 'amd64');
    const root = tempDir('kboot-root-');
    const pinned = 'ab'.repeat(32);
    const env = {
      ...fakeCurl(served, path.join(served, 'curl.log')),
      TMPDIR: tempDir('kboot-tmp-'),
    };
    const result = callScriptFunction(
      '40-containerd.sh',
      'install_containerd',
      ['2.3.2', 'amd64', pinned, root],
      env,
    );
    assert.equal(result.status, 1);
    assert.match(
      result.stderr,
      new RegExp(
        `error: containerd-2\\.3\\.2-linux-amd64\\.tar\\.gz has SHA-256 [0-9a-f]{64}, expected the pinned ${pinned}`,
      ),
    );
    assert.match(result.stderr, /FAILED/, 'sha256sum -c reported the mismatch');
    assert.deepEqual(readdirSync(root), [], 'nothing unpacked');
    const leftovers = readdirSync(env.TMPDIR as string, { recursive: true }).filter((name) =>
      String(name).endsWith('.tar.gz'),
    );
    assert.deepEqual(leftovers, [], 'the bad download is deleted');
  });

  it('refuses to download without a pinned SHA-256', () => {
    const served = tempDir('kboot-served-');
    const log = path.join(served, 'curl.log');
    const root = tempDir('kboot-root-');
    for (const sum of ['', 'not-a-sum']) {
      const result = callScriptFunction(
        '40-containerd.sh',
        'install_containerd',
        ['2.3.2', 'amd64', sum, root],
        fakeCurl(served, log),
      );
      assert.equal(result.status, 1);
      assert.match(result.stderr, /error: no pinned SHA-256 for containerd-2\.3\.2-linux-amd64\.tar\.gz/);
    }
    assert.ok(!existsSync(log), 'nothing was downloaded');
    assert.deepEqual(readdirSync(root), []);
  });

  it('installs runc only when its download matches the pin', () => {
    const served = tempDir('kboot-served-');
    const binary = path.join(served, 'runc.arm64');
    writeFileSync(binary, '#!/bin/sh\necho runc version 1.3.4\n');
    const env = fakeCurl(served, path.join(served, 'curl.log'));
    const bad = tempDir('kboot-root-');
    const refused = callScriptFunction(
      '40-containerd.sh',
      'install_runc',
      ['1.3.4', 'arm64', 'cd'.repeat(32), bad],
      env,
    );
    assert.equal(refused.status, 1);
    assert.match(refused.stderr, /error: runc\.arm64 has SHA-256 [0-9a-f]{64}, expected the pinned/);
    assert.ok(!existsSync(path.join(bad, 'usr/local/sbin/runc')));
    const good = tempDir('kboot-root-');
    const installed = callScriptFunction(
      '40-containerd.sh',
      'install_runc',
      ['1.3.4', 'arm64', sha256(binary), good],
      env,
    );
    assert.equal(installed.status, 0, output(installed));
    assert.equal(readFileSync(path.join(good, 'usr/local/sbin/runc'), 'utf8'), readFileSync(binary, 'utf8'));
  });

  it('gets the sums from the rendered variables for the architecture it builds', () => {
    const template = readFileSync(path.join(PACKER_DIR, 'kboot.pkr.hcl'), 'utf8');
    for (const [env, local] of [
      ['CONTAINERD_SHA256', 'containerd_sha256'],
      ['RUNC_SHA256', 'runc_sha256'],
    ]) {
      assert.match(
        template,
        new RegExp(
          `"${env}=\\$\\{lookup\\(local\\.${local}, local\\.debian_arch\\[source\\.name\\], ""\\)\\}"`,
        ),
      );
    }
    assert.match(template, /"CRI_TOOLS_VERSION=\$\{local\.kubernetes_packages\["cri_tools"\]\}"/);
    assert.match(template, /"KUBERNETES_CNI_VERSION=\$\{local\.kubernetes_packages\["kubernetes_cni"\]\}"/);
  });
});
