/**
 * The AMI build in packer/, checked offline with real tools where they are installed:
 *   - the template: `packer fmt -check`, and `packer validate` with the Packer on PATH. Debian's
 *     Packer 1.6 has the amazon-ebs builder built in but rejects `required_plugins`, so it checks
 *     a copy without plugins.pkr.hcl; a newer Packer checks packer/ as it is (skipped when the
 *     amazon plugin is not installed: `packer init` needs the network). Fake kboot binaries stand
 *     in for dist/, so the build need not have run.
 *   - the scripts: shellcheck; the containerd config edits and the fstab swap edit on fixtures;
 *     20-kernel.sh, 25-node-os.sh and 60-kboot.sh installing into a DESTDIR and 90-cleanup.sh
 *     cleaning one, then `systemd-analyze verify` on the units as installed there (their ExecStart
 *     binaries included) and `systemd --test` of the boot transaction they make (ordering).
 *   - the units and the template say what kboot's code expects: exit codes, paths, AMI tags.
 * A missing tool skips its test with a message saying which Debian package provides it.
 */

import assert from 'node:assert/strict';
import { type SpawnSyncReturns, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmodSync,
  cpSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import { after, describe, it, type TestContext } from 'node:test';
import { AMI_ARCHES } from '../../src/cli/commands/ami.js';
import { parseDurationMs } from '../../src/core/duration.js';
import { ExitCode } from '../../src/core/errors.js';
import {
  KBOOT_VERSION_TAG,
  KUBERNETES_VERSION_TAG,
  kubernetesVersionValues,
} from '../../src/domain/ami/query.js';
import { MEMBERSHIP_PATH } from '../../src/domain/flows/paths.js';
import { DEFAULT_KUBERNETES_VERSION } from '../../src/domain/kubeadm/versions.js';
import { tempDir as makeTempDir, repoRoot } from '../support/paths.js';

const PACKER_DIR = path.join(repoRoot(), 'packer');
const SCRIPTS_DIR = path.join(PACKER_DIR, 'scripts');
const FILES_DIR = path.join(PACKER_DIR, 'files');
const UNIT_DIR = '/usr/local/lib/systemd/system';
const KBOOT_UNITS = [
  'kboot-boot.service',
  'kboot-boot-failed.service',
  'kboot-rotate.service',
  'kboot-rotate.timer',
  'kboot-approve-csrs.service',
  'kboot-approve-csrs.timer',
  'kboot-leave-controller.service',
  'kboot-leave-controller.timer',
  'kboot-leave.service',
  'kboot-leave-watch.service',
] as const;
const TEST_KBOOT_VERSION = '1.2.3-test+abc123';

const tempDirs: string[] = [];

function tempDir(prefix: string): string {
  const dir = makeTempDir(prefix);
  tempDirs.push(dir);
  return dir;
}

after(() => {
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
});

// Offline: no update check from Packer.
const TOOL_ENV = { ...process.env, CHECKPOINT_DISABLE: '1' };

function run(
  command: string,
  args: readonly string[],
  env: NodeJS.ProcessEnv = TOOL_ENV,
): SpawnSyncReturns<string> {
  return spawnSync(command, [...args], { encoding: 'utf8', env, timeout: 120_000 });
}

function output(result: SpawnSyncReturns<string>): string {
  return `${result.stdout}${result.stderr}`;
}

function installed(command: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' }).status === 0;
}

/** Skips the test unless `command` is on PATH; true when it is. */
function requireTool(t: TestContext, command: string, debianPackage: string): boolean {
  if (installed(command)) return true;
  t.skip(`${command} is not installed (Debian: apt-get install ${debianPackage})`);
  return false;
}

// --- Packer -------------------------------------------------------------------------------------

let packerVersionCache: [number, number] | undefined;

function packerVersion(): [number, number] {
  if (packerVersionCache !== undefined) return packerVersionCache;
  const match = /Packer v(\d+)\.(\d+)/.exec(output(run('packer', ['version'])));
  assert.ok(match, 'packer version prints "Packer vX.Y.Z"');
  packerVersionCache = [Number(match[1]), Number(match[2])];
  return packerVersionCache;
}

/** Packer before 1.7 does not know required_plugins (plugins.pkr.hcl). */
function knowsRequiredPlugins(): boolean {
  const [major, minor] = packerVersion();
  return major > 1 || minor >= 7;
}

/** Settings the amazon plugin has and Packer 1.6's built-in builder does not know. */
const PLUGIN_ONLY_SETTINGS = [
  /^ {2}imds_support\s*=.*\n/m,
  /^ {2}metadata_options \{[^}]*\}\n/m,
  /^ {2}temporary_security_group_source_public_ip\s*=.*\n/m,
] as const;

/** A copy of packer/ that this Packer can read, and fake kboot binaries for the architectures given. */
function templateCopy(binaries: readonly string[] = ['kboot-linux-x64', 'kboot-linux-arm64']): {
  templateDir: string;
  binaryDir: string;
} {
  const root = tempDir('kboot-packer-');
  const templateDir = path.join(root, 'packer');
  cpSync(PACKER_DIR, templateDir, { recursive: true });
  if (!knowsRequiredPlugins()) {
    // Packer 1.6 rejects this file; it has the amazon-ebs builder built in.
    rmSync(path.join(templateDir, 'plugins.pkr.hcl'));
    // …and these settings of the amazon plugin (>= 1.1), which the template tests check as text.
    const file = path.join(templateDir, 'kboot.pkr.hcl');
    let template = readFileSync(file, 'utf8');
    for (const pattern of PLUGIN_ONLY_SETTINGS) {
      assert.match(template, pattern, `the template has ${pattern}`);
      template = template.replace(pattern, '');
    }
    writeFileSync(file, template);
  }
  const binaryDir = path.join(root, 'dist');
  mkdirSync(binaryDir);
  for (const name of binaries) writeFileSync(path.join(binaryDir, name), '#!/bin/sh\n', { mode: 0o755 });
  return { templateDir, binaryDir };
}

/** The default of a variable in variables.pkr.hcl or versions.pkr.hcl (rendered), as written. */
function variableDefault(name: string): string | undefined {
  const variables = ['variables.pkr.hcl', 'versions.pkr.hcl']
    .map((file) => readFileSync(path.join(PACKER_DIR, file), 'utf8'))
    .join('\n');
  return new RegExp(`variable "${name}" \\{[^}]*?default\\s*=\\s*([^\\n]+)`, 's')
    .exec(variables)?.[1]
    ?.trim();
}

function packerValidate(templateDir: string, vars: Record<string, string>): SpawnSyncReturns<string> {
  const args = ['validate'];
  for (const [key, value] of Object.entries(vars)) args.push('-var', `${key}=${value}`);
  return run('packer', [...args, templateDir]);
}

/** A newer Packer without the amazon plugin installed cannot validate offline. */
function missingPlugin(result: SpawnSyncReturns<string>): boolean {
  return knowsRequiredPlugins() && result.status !== 0 && /plugin|packer init/i.test(output(result));
}

// --- Unit files ---------------------------------------------------------------------------------

/** Section → key → every value given (systemd keys may repeat). */
type UnitFile = Map<string, Map<string, string[]>>;

function parseUnitFile(text: string): UnitFile {
  const unit: UnitFile = new Map();
  let section: Map<string, string[]> | undefined;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    assert.ok(!line.endsWith('\\'), `no continuation lines: ${line}`);
    const header = /^\[(\w+)\]$/.exec(line);
    if (header) {
      section = new Map();
      unit.set(header[1] as string, section);
      continue;
    }
    const index = line.indexOf('=');
    assert.ok(section !== undefined && index > 0, `a key=value line inside a section: ${line}`);
    const key = line.slice(0, index).trim();
    section.set(key, [...(section.get(key) ?? []), line.slice(index + 1).trim()]);
  }
  return unit;
}

function readUnit(name: string): UnitFile {
  return parseUnitFile(readFileSync(path.join(FILES_DIR, name), 'utf8'));
}

function values(unit: UnitFile, section: string, key: string): string[] {
  return unit.get(section)?.get(key) ?? [];
}

/** Space-separated list values of a key, across its repetitions. */
function words(unit: UnitFile, section: string, key: string): string[] {
  return values(unit, section, key).flatMap((value) => value.split(/\s+/).filter((word) => word !== ''));
}

const SYSTEMD_UNIT_MS: Record<string, number> = {
  ms: 1,
  s: 1000,
  sec: 1000,
  m: 60_000,
  min: 60_000,
  h: 3_600_000,
  hr: 3_600_000,
  d: 86_400_000,
};

/** A systemd time span ("90", "3min", "1h 30min") in milliseconds; a bare number is seconds. */
function systemdSpanMs(text: string): number {
  let totalMs = 0;
  const rest = text.replace(/(\d+)\s*([a-z]*)/g, (_, amount: string, unit: string) => {
    const unitMs = SYSTEMD_UNIT_MS[unit === '' ? 's' : unit];
    assert.ok(unitMs !== undefined, `a systemd time unit: ${unit}`);
    totalMs += Number(amount) * unitMs;
    return '';
  });
  assert.equal(rest.trim(), '', `a systemd time span: ${text}`);
  return totalMs;
}

function single(unit: UnitFile, section: string, key: string): string | undefined {
  const all = values(unit, section, key);
  assert.ok(all.length <= 1, `${section}.${key} is set once`);
  return all[0];
}

// --- Scripts ------------------------------------------------------------------------------------

function script(name: string): string {
  return path.join(SCRIPTS_DIR, name);
}

/** Runs a function of a provisioning script (the script is sourced; its main does not run). */
function callScriptFunction(name: string, fn: string, args: readonly string[]): SpawnSyncReturns<string> {
  return run('bash', ['-c', `source "$1"; shift; ${fn} "$@"`, 'bash', script(name), ...args]);
}

/** A build directory as the template uploads it: files/ and the kboot binary. */
function buildDir(kbootVersion: string): string {
  const dir = tempDir('kboot-build-');
  cpSync(FILES_DIR, path.join(dir, 'files'), { recursive: true });
  writeFileSync(path.join(dir, 'kboot'), `#!/bin/sh\necho '${kbootVersion}'\n`, { mode: 0o755 });
  return dir;
}

function runInstallScript(name: string, env: Record<string, string>): SpawnSyncReturns<string> {
  return run('bash', [script(name)], { ...TOOL_ENV, ...env });
}

const CONTAINERD_1_CONFIG = `version = 2
root = "/var/lib/containerd"

[plugins]

  [plugins."io.containerd.grpc.v1.cri"]
    disable_apparmor = false
    sandbox_image = "registry.k8s.io/pause:3.8"

    [plugins."io.containerd.grpc.v1.cri".registry]
      config_path = ""

    [plugins."io.containerd.grpc.v1.cri".containerd]
      default_runtime_name = "runc"

      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes]

        [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
          runtime_type = "io.containerd.runc.v2"

          [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
            BinaryName = ""
            NoPivotRoot = false
            SystemdCgroup = false
`;

const CONTAINERD_2_CONFIG = `version = 3
root = '/var/lib/containerd'

[plugins]
  [plugins.'io.containerd.cri.v1.images']
    snapshotter = 'overlayfs'

    [plugins.'io.containerd.cri.v1.images'.pinned_images]
      sandbox = 'registry.k8s.io/pause:3.10'

    [plugins.'io.containerd.cri.v1.images'.registry]
      config_path = ''

  [plugins.'io.containerd.cri.v1.runtime']
    enable_selinux = false

    [plugins.'io.containerd.cri.v1.runtime'.containerd]
      default_runtime_name = 'runc'

      [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes]
        [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc]
          runtime_type = 'io.containerd.runc.v2'

          [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc.options]
            BinaryName = ''
            SystemdCgroup = false
`;

const PAUSE_IMAGE = 'registry.k8s.io/pause:3.10';
const CERTS_D = '/etc/containerd/certs.d';

// --- systemd --test ------------------------------------------------------------------------------

/** Prints cloud-init's version and what `clean --machine-id` does to /etc/machine-id. */
const CLOUD_INIT_MACHINE_ID_PROBE = `
import inspect
from cloudinit import version
from cloudinit.cmd import clean
source = inspect.getsource(clean)
print(version.version_string(), "deletes" if "del_file(ETC_MACHINE_ID)" in source else "writes")
`;

interface TransactionUnit {
  /** Units this one starts after (After=, with systemd's implicit and default dependencies). */
  after: string[];
  /** Whether booting to multi-user.target queues a job for this unit. */
  job: boolean;
}

/**
 * The boot transaction systemd itself computes for multi-user.target with the units under
 * `destdir` added (`systemd --test`, which prints every loaded unit with its resolved
 * dependencies and queued job); undefined (test skipped) where systemd --test cannot run.
 */
function systemdTestTransaction(t: TestContext, destdir: string): Map<string, TransactionUnit> | undefined {
  // systemd refuses test mode as root; run it as nobody, who must be able to read the units.
  const readable = spawnSync('chmod', ['-R', 'a+rX', destdir]);
  assert.equal(readable.status, 0);
  const env = {
    ...TOOL_ENV,
    // Searched first; the trailing colon appends systemd's own unit directories.
    SYSTEMD_UNIT_PATH: `${path.join(destdir, 'etc/systemd/system')}:${path.join(destdir, UNIT_DIR)}:`,
  };
  const args = ['--test', '--system', '--unit=multi-user.target', '--no-pager'];
  const result =
    process.getuid?.() === 0
      ? run(
          'setpriv',
          ['--reuid=nobody', '--regid=nogroup', '--clear-groups', '/lib/systemd/systemd', ...args],
          env,
        )
      : run('/lib/systemd/systemd', args, env);
  if (result.status !== 0 || !result.stdout.includes('-> Unit multi-user.target:')) {
    t.skip(`systemd --test does not run here:\n${output(result).slice(-2000)}`);
    return undefined;
  }
  const units = new Map<string, TransactionUnit>();
  let current: TransactionUnit | undefined;
  for (const line of result.stdout.split('\n')) {
    const unit = /^\t-> Unit (.+):$/.exec(line);
    if (unit) {
      current = { after: [], job: false };
      units.set(unit[1] as string, current);
      continue;
    }
    if (current === undefined) continue;
    const after = /^\t\tAfter: (\S+) \(/.exec(line);
    if (after) current.after.push(after[1] as string);
    else if (/^\t\t-> Job \d+:$/.test(line)) current.job = true;
  }
  return units;
}

/** Every unit with a job that `unit` starts after, directly or through others. */
function startsAfter(transaction: Map<string, TransactionUnit>, unit: string): string[] {
  const seen = new Set<string>();
  const queue = [unit];
  while (queue.length > 0) {
    const next = queue.pop() as string;
    for (const dependency of transaction.get(next)?.after ?? []) {
      if (seen.has(dependency) || !transaction.get(dependency)?.job) continue;
      seen.add(dependency);
      queue.push(dependency);
    }
  }
  return [...seen];
}

/** One chain of After= from `from` to `to`, for a failure message. */
function waitPath(transaction: Map<string, TransactionUnit>, from: string, to: string): string {
  const previous = new Map<string, string>();
  const queue = [from];
  while (queue.length > 0) {
    const next = queue.shift() as string;
    if (next === to) break;
    for (const dependency of transaction.get(next)?.after ?? []) {
      if (previous.has(dependency) || !transaction.get(dependency)?.job) continue;
      previous.set(dependency, next);
      queue.push(dependency);
    }
  }
  const chain = [to];
  for (let unit = to; previous.has(unit); unit = previous.get(unit) as string)
    chain.push(previous.get(unit) as string);
  return chain.reverse().join(' -> after -> ');
}

// --- Tests --------------------------------------------------------------------------------------

describe('packer template', () => {
  it('is formatted (packer fmt -check)', (t) => {
    if (!requireTool(t, 'packer', 'packer')) return;
    const result = run('packer', ['fmt', '-check', '-diff', PACKER_DIR]);
    assert.equal(result.status, 0, `packer fmt would change:\n${output(result)}`);
  });

  it('validates (packer validate, offline)', (t) => {
    if (!requireTool(t, 'packer', 'packer')) return;
    const { templateDir, binaryDir } = templateCopy();
    const result = packerValidate(templateDir, {
      kboot_version: TEST_KBOOT_VERSION,
      kboot_binary_dir: binaryDir,
    });
    if (missingPlugin(result)) {
      t.skip(
        `this Packer needs the amazon plugin: run \`packer init packer/\` (network) first\n${output(result)}`,
      );
      return;
    }
    assert.equal(result.status, 0, output(result));
  });

  it("needs each architecture's kboot binary", (t) => {
    if (!requireTool(t, 'packer', 'packer')) return;
    const { templateDir, binaryDir } = templateCopy(['kboot-linux-x64']);
    const result = packerValidate(templateDir, {
      kboot_version: TEST_KBOOT_VERSION,
      kboot_binary_dir: binaryDir,
    });
    if (missingPlugin(result)) {
      t.skip('this Packer needs the amazon plugin: run `packer init packer/` (network) first');
      return;
    }
    assert.notEqual(result.status, 0);
    assert.match(output(result), /kboot-linux-arm64/);
    assert.doesNotMatch(output(result), /kboot-linux-x64/);
  });

  const badVariables: [string, Record<string, string>, RegExp][] = [
    ['no kboot_version', {}, /kboot_version/],
    ['a v-prefixed kboot_version', { kboot_version: 'v1.2.3' }, /kboot_version/],
    ['a v-prefixed kubernetes_version', { kubernetes_version: 'v1.31.2' }, /kubernetes_version/],
    ['a kubernetes_version without a patch', { kubernetes_version: '1.31' }, /kubernetes_version/],
    ['a short key fingerprint', { kubernetes_apt_key_fingerprint: 'DE15B144' }, /fingerprint/],
    ['SSH open to the internet', { ssh_source_cidrs: '["0.0.0.0/0"]' }, /ssh_source_cidrs/],
    [
      'a Kubernetes minor without pinned cri-tools and kubernetes-cni',
      { kubernetes_version: '1.34.9' },
      /kubernetes_packages\s+has\s+no\s+cri-tools\s+and\s+kubernetes-cni\s+versions\s+for\s+Kubernetes\s+1\.34/,
    ],
    [
      'a containerd version without pinned sums',
      { containerd_version: '2.3.9' },
      /containerd_sha256\s+has\s+no\s+SHA-256\s+sums\s+for\s+containerd\s+2\.3\.9/,
    ],
    [
      'a runc version without pinned sums',
      { runc_version: '1.9.9' },
      /runc_sha256\s+has\s+no\s+SHA-256\s+sums\s+for\s+runc\s+1\.9\.9/,
    ],
    [
      'sharing an AMI encrypted with the default EBS key',
      { ami_users: '["111122223333"]' },
      /ami_users with encrypt_boot needs\s+kms_key_id/,
    ],
  ];
  for (const [label, vars, message] of badVariables) {
    it(`refuses ${label}`, (t) => {
      if (!requireTool(t, 'packer', 'packer')) return;
      const { templateDir, binaryDir } = templateCopy();
      const result = packerValidate(templateDir, {
        ...(label === 'no kboot_version' ? {} : { kboot_version: TEST_KBOOT_VERSION }),
        kboot_binary_dir: binaryDir,
        ...vars,
      });
      assert.notEqual(result.status, 0, `packer validate accepted ${JSON.stringify(vars)}`);
      assert.match(output(result), message);
    });
  }

  it('takes another containerd version with its sums given as a variable', (t) => {
    if (!requireTool(t, 'packer', 'packer')) return;
    const { templateDir, binaryDir } = templateCopy();
    const result = packerValidate(templateDir, {
      kboot_version: TEST_KBOOT_VERSION,
      kboot_binary_dir: binaryDir,
      containerd_version: '2.3.9',
      containerd_sha256: `{"2.3.9" = {amd64 = "${'a'.repeat(64)}", arm64 = "${'b'.repeat(64)}"}}`,
    });
    if (missingPlugin(result)) {
      t.skip('this Packer needs the amazon plugin: run `packer init packer/` (network) first');
      return;
    }
    assert.equal(result.status, 0, output(result));
  });

  it('shares an encrypted AMI when a customer-managed key is given', (t) => {
    if (!requireTool(t, 'packer', 'packer')) return;
    const { templateDir, binaryDir } = templateCopy();
    const result = packerValidate(templateDir, {
      kboot_version: TEST_KBOOT_VERSION,
      kboot_binary_dir: binaryDir,
      ami_users: '["111122223333"]',
      kms_key_id: 'alias/kboot-ami',
    });
    if (missingPlugin(result)) {
      t.skip('this Packer needs the amazon plugin: run `packer init packer/` (network) first');
      return;
    }
    assert.equal(result.status, 0, output(result));
  });

  it('encrypts the AMI by default, requires IMDSv2 on it and on the build instance, and keeps SSH closed', () => {
    const template = readFileSync(path.join(PACKER_DIR, 'kboot.pkr.hcl'), 'utf8');
    assert.equal(variableDefault('encrypt_boot'), 'true');
    assert.match(template, /^ {2}encrypt_boot\s*=\s*var\.encrypt_boot$/m);
    assert.match(template, /^ {2}imds_support\s*=\s*"v2\.0"$/m);
    const metadata = /^ {2}metadata_options \{([^}]*)\}/m.exec(template)?.[1] ?? '';
    assert.match(metadata, /http_tokens\s*=\s*"required"/);
    assert.match(metadata, /http_put_response_hop_limit\s*=\s*1$/m);
    assert.match(metadata, /http_endpoint\s*=\s*"enabled"/);
    // Port 22: the given CIDRs, or else only Packer's own public IP; never Packer's 0.0.0.0/0 default.
    assert.match(template, /temporary_security_group_source_cidrs\s*=\s*var\.ssh_source_cidrs$/m);
    assert.match(
      template,
      /temporary_security_group_source_public_ip\s*=\s*length\(var\.ssh_source_cidrs\) == 0$/m,
    );
    assert.equal(variableDefault('ssh_source_cidrs'), '[]');
    assert.match(template, /ssh_clear_authorized_keys\s*=\s*true/);
  });

  it('downloads the image manifest and tags the AMI with its versions', () => {
    const template = readFileSync(path.join(PACKER_DIR, 'kboot.pkr.hcl'), 'utf8');
    const download =
      /provisioner "file" \{\s*direction\s*=\s*"download"([\s\S]*?)\n {2}\}/.exec(template)?.[1] ?? '';
    assert.match(download, /source\s*=\s*"\/usr\/share\/kboot\/image-manifest\.json"/);
    assert.match(
      download,
      /destination\s*=\s*"\$\{local\.artifact_dir\}\/image-manifest-\$\{source\.name\}\.json"/,
    );
    assert.ok(
      template.indexOf('scripts/80-manifest.sh') < template.indexOf('scripts/90-cleanup.sh'),
      'the manifest is written while apt lists still exist',
    );
    for (const [tag, variable] of [
      ['kboot.io/containerd-version', 'containerd_version'],
      ['kboot.io/runc-version', 'runc_version'],
    ]) {
      assert.match(template, new RegExp(`"${tag}"\\s*=\\s*var\\.${variable}\\b`));
    }
    assert.match(template, /"kboot\.io\/manifest"\s*=\s*"\/usr\/share\/kboot\/image-manifest\.json"/);
  });

  it('builds from an available base image only, and writes a manifest of what it built', () => {
    const template = readFileSync(path.join(PACKER_DIR, 'kboot.pkr.hcl'), 'utf8');
    const filters = [...template.matchAll(/source_ami_filter \{[\s\S]*?filters = \{([\s\S]*?)\n {6}\}/g)];
    assert.equal(filters.length, AMI_ARCHES.length);
    for (const [, body] of filters) assert.match(body as string, /^\s*state\s*=\s*"available"$/m);
    const manifest = /post-processor "manifest" \{([\s\S]*?)\n {2}\}/.exec(template)?.[1] ?? '';
    assert.match(manifest, /output\s*=/);
    for (const key of ['kboot_version', 'kubernetes_version', 'containerd_version', 'runc_version']) {
      assert.match(manifest, new RegExp(`${key}\\s*=\\s*var\\.${key}`), `manifest custom_data has ${key}`);
    }
  });

  it('tags each AMI so that `kboot ami` finds it', () => {
    const template = readFileSync(path.join(PACKER_DIR, 'kboot.pkr.hcl'), 'utf8');
    assert.match(template, new RegExp(`"${KBOOT_VERSION_TAG}"\\s*=\\s*var\\.kboot_version\\b`));
    assert.match(template, new RegExp(`"${KUBERNETES_VERSION_TAG}"\\s*=\\s*var\\.kubernetes_version\\b`));
    const sources = [
      ...template.matchAll(/source "amazon-ebs\.node" \{\s*name\s*=\s*"([^"]+)"([\s\S]*?)\n {2}\}/g),
    ];
    assert.deepEqual(
      sources.map((match) => match[1]),
      [...AMI_ARCHES],
      'one build per `kboot ami --arch` value, named after it',
    );
    for (const [, arch, body] of sources) {
      assert.match(
        body as string,
        new RegExp(`"kboot\\.io/arch"\\s*=\\s*"${arch}"`),
        `${arch} AMI tagged with its arch`,
      );
      assert.match(
        body as string,
        new RegExp(`architecture\\s*=\\s*"${arch}"`),
        `${arch} built from an ${arch} base`,
      );
    }
  });

  it('defaults to a Kubernetes version that `kboot ami --kubernetes-version MINOR` matches', () => {
    const version = variableDefault('kubernetes_version')?.replaceAll('"', '');
    assert.ok(version !== undefined);
    const minor = version.split('.').slice(0, 2).join('.');
    const globs = kubernetesVersionValues(minor).map(
      (pattern) => new RegExp(`^${pattern.replaceAll('.', '\\.').replaceAll('*', '.*')}$`),
    );
    assert.ok(
      globs.some((glob) => glob.test(version)),
      `tag ${version} matches --kubernetes-version ${minor}`,
    );
  });

  it("defaults to the newest Kubernetes release of kboot's table and a supported containerd line", () => {
    assert.equal(variableDefault('kubernetes_version'), `"${DEFAULT_KUBERNETES_VERSION}"`);
    // containerd 1.7 reached its end of life in September 2026; 2.3 is the LTS line to April 2028.
    const containerd = variableDefault('containerd_version')?.replaceAll('"', '') ?? '';
    const [major, minor] = containerd.split('.').map(Number) as [number, number];
    assert.ok(major > 2 || (major === 2 && minor >= 3), `containerd ${containerd} is on a supported line`);
  });

  it('names the amazon plugin for `packer init` (Packer >= 1.7)', () => {
    const plugins = readFileSync(path.join(PACKER_DIR, 'plugins.pkr.hcl'), 'utf8');
    assert.match(
      plugins,
      /required_plugins\s*\{\s*amazon\s*=\s*\{[^}]*source\s*=\s*"github\.com\/hashicorp\/amazon"/s,
    );
  });

  it('runs every script under packer/scripts, in order', () => {
    const template = readFileSync(path.join(PACKER_DIR, 'kboot.pkr.hcl'), 'utf8');
    const listed = [...template.matchAll(/"\$\{path\.root\}\/scripts\/([^"]+)"/g)].map((match) => match[1]);
    const present = readdirSync(SCRIPTS_DIR).sort();
    assert.deepEqual(listed, present);
    for (const name of present) {
      assert.ok((statSync(script(name)).mode & 0o111) !== 0, `${name} is executable`);
    }
  });
});

describe('provisioning scripts', () => {
  it('pass shellcheck', (t) => {
    if (!requireTool(t, 'shellcheck', 'shellcheck')) return;
    const scripts = readdirSync(SCRIPTS_DIR).map(script);
    const result = run('shellcheck', ['--external-sources', '--severity=style', ...scripts]);
    assert.equal(result.status, 0, output(result));
  });

  const containerdConfigs: [string, string][] = [
    ['containerd 1.x (config version 2)', CONTAINERD_1_CONFIG],
    ['containerd 2.x (config version 3)', CONTAINERD_2_CONFIG],
    ['a config without SystemdCgroup', CONTAINERD_2_CONFIG.replace(/^\s*SystemdCgroup = false\n/m, '')],
    ['a config without config_path', CONTAINERD_2_CONFIG.replace(/^\s*config_path = ''\n/m, '')],
  ];
  for (const [label, config] of containerdConfigs) {
    it(`sets SystemdCgroup = true, the pause image and the registry config_path in ${label}`, () => {
      const file = path.join(tempDir('kboot-containerd-'), 'config.toml');
      writeFileSync(file, config);
      const result = callScriptFunction(
        '40-containerd.sh',
        'containerd_config_enable_systemd_cgroup "$1" && containerd_config_set_sandbox_image "$1" "$2" && containerd_config_set_registry_config_path "$1" "$3"',
        [file, PAUSE_IMAGE, CERTS_D],
      );
      assert.equal(result.status, 0, output(result));
      const lines = readFileSync(file, 'utf8').split('\n');
      const options = lines.findIndex((line) => line.trim().endsWith('.containerd.runtimes.runc.options]'));
      const table = lines.slice(
        options + 1,
        lines.findIndex((line, index) => index > options && /^\s*\[/.test(line)),
      );
      assert.ok(
        table.some((line) => line.trim() === 'SystemdCgroup = true'),
        `SystemdCgroup = true in the runc options table:\n${lines.join('\n')}`,
      );
      assert.ok(!lines.some((line) => /SystemdCgroup = false/.test(line)));
      assert.equal(lines.filter((line) => line.includes(PAUSE_IMAGE)).length, 1);
      assert.ok(!lines.some((line) => /pause:3\.8/.test(line)), 'the old pause image is gone');
      // containerd reads hosts.toml files (mirrors, CAs) from certs.d only with config_path set.
      const registry = lines.findIndex((line) => line.trim().endsWith('.registry]'));
      assert.ok(registry >= 0);
      assert.equal(lines[registry + 1]?.trim(), `config_path = '${CERTS_D}'`, lines.join('\n'));
      assert.equal(lines.filter((line) => line.includes('config_path')).length, 1);
    });
  }

  it('installs containerd with the registry config_path and creates certs.d', () => {
    const text = readFileSync(script('40-containerd.sh'), 'utf8');
    assert.match(text, /containerd_config_set_registry_config_path "\$CONFIG" \/etc\/containerd\/certs\.d$/m);
    assert.match(text, /install -d -m 0755 \/etc\/containerd\/certs\.d$/m);
  });

  it('applies every Debian update, the kernel included, and enables chrony-wait', () => {
    const text = readFileSync(script('10-base.sh'), 'utf8');
    assert.match(text, /"\$\{APT\[@\]\}" dist-upgrade$/m);
    assert.doesNotMatch(text, /"\$\{APT\[@\]\}" upgrade$/m, 'apt-get upgrade keeps new kernels back');
    assert.match(text, /^\s*systemctl enable chrony-wait\.service$/m);
  });

  it('stops on a containerd config it does not understand', () => {
    const file = path.join(tempDir('kboot-containerd-'), 'config.toml');
    writeFileSync(file, 'version = 4\n[plugins]\n');
    const result = callScriptFunction('40-containerd.sh', 'containerd_config_enable_systemd_cgroup', [file]);
    assert.equal(result.status, 1);
    assert.match(result.stderr, /error: .*neither a SystemdCgroup setting nor a runc options table/);
  });

  it('comments out swap entries in fstab, and nothing else', () => {
    const fstab = [
      'UUID=0a1b / ext4 rw,discard,errors=remount-ro 0 1',
      'UUID=2c3d none swap sw 0 0',
      '/swapfile\tnone\tswap\tsw\t0\t0',
      '# /old-swap none swap sw 0 0',
      'UUID=4e5f /boot/efi vfat defaults 0 0',
      '',
    ].join('\n');
    const file = path.join(tempDir('kboot-fstab-'), 'fstab');
    writeFileSync(file, fstab);
    const result = callScriptFunction('20-kernel.sh', 'disable_swap_in_fstab', [file]);
    assert.equal(result.status, 0, output(result));
    const active = readFileSync(file, 'utf8')
      .split('\n')
      .filter((line) => line !== '' && !line.startsWith('#'));
    assert.deepEqual(active, [
      'UUID=0a1b / ext4 rw,discard,errors=remount-ro 0 1',
      'UUID=4e5f /boot/efi vfat defaults 0 0',
    ]);
    assert.match(
      readFileSync(file, 'utf8'),
      /^# kboot: swap disabled for the kubelet: \/swapfile\tnone\tswap/m,
    );
  });

  describe('installed into a DESTDIR', () => {
    it('caps the journal and turns automatic upgrades off', (t) => {
      if (!requireTool(t, 'systemctl', 'systemd')) return;
      const destdir = tempDir('kboot-destdir-');
      const result = runInstallScript('25-node-os.sh', {
        KBOOT_BUILD_DIR: buildDir(TEST_KBOOT_VERSION),
        DESTDIR: destdir,
      });
      assert.equal(result.status, 0, output(result));
      const journald = readFileSync(path.join(destdir, 'etc/systemd/journald.conf.d/50-kboot.conf'), 'utf8');
      assert.match(journald, /^\[Journal\]$/m);
      assert.match(journald, /^SystemMaxUse=1G$/m);
      assert.match(journald, /^SystemKeepFree=\d+G$/m);
      for (const unit of [
        'apt-daily.timer',
        'apt-daily-upgrade.timer',
        'apt-daily.service',
        'apt-daily-upgrade.service',
      ]) {
        assert.equal(
          readlinkSync(path.join(destdir, 'etc/systemd/system', unit)),
          '/dev/null',
          `${unit} is masked`,
        );
      }
      const periodic = readFileSync(
        path.join(destdir, 'etc/apt/apt.conf.d/99-kboot-no-automatic-upgrades'),
        'utf8',
      );
      assert.match(periodic, /^APT::Periodic::Unattended-Upgrade "0";$/m);
      assert.match(periodic, /^APT::Periodic::Update-Package-Lists "0";$/m);
      assert.match(readFileSync(script('25-node-os.sh'), 'utf8'), /purge unattended-upgrades/);
    });

    it('writes an image manifest of every package, binary and image with its version and checksum', (t) => {
      if (!requireTool(t, 'dpkg-query', 'dpkg')) return;
      const destdir = tempDir('kboot-destdir-');
      const binaries: Record<string, string> = {
        'usr/local/bin/kboot': TEST_KBOOT_VERSION,
        'usr/local/bin/containerd': 'containerd github.com/containerd/containerd/v2 v2.3.2 abc',
        'usr/local/bin/containerd-shim-runc-v2': 'containerd-shim-runc-v2 v2.3.2',
        'usr/local/bin/ctr': 'ctr github.com/containerd/containerd/v2 v2.3.2',
        'usr/local/sbin/runc': 'runc version 1.3.4',
        'usr/bin/kubelet': 'Kubernetes v1.37.1',
        'usr/bin/kubeadm': 'v1.37.1',
        'usr/bin/kubectl': 'Client Version: v1.37.1',
        'usr/bin/crictl': 'crictl version v1.37.0',
      };
      for (const [file, version] of Object.entries(binaries)) {
        mkdirSync(path.dirname(path.join(destdir, file)), { recursive: true });
        writeFileSync(path.join(destdir, file), `#!/bin/sh\necho '${version}'\n`, { mode: 0o755 });
      }
      mkdirSync(path.join(destdir, 'boot'));
      writeFileSync(path.join(destdir, 'boot/vmlinuz-6.1.0-40-cloud-amd64'), '');
      const result = runInstallScript('80-manifest.sh', {
        DESTDIR: destdir,
        KBOOT_VERSION: TEST_KBOOT_VERSION,
        KUBERNETES_VERSION: '1.37.1',
        CONTAINERD_VERSION: '2.3.2',
        RUNC_VERSION: '1.3.4',
        PATH: `/nonexistent:${process.env.PATH ?? ''}`,
      });
      assert.equal(result.status, 0, output(result));
      const file = path.join(destdir, 'usr/share/kboot/image-manifest.json');
      assert.equal(statSync(file).mode & 0o777, 0o644);
      const manifest = JSON.parse(readFileSync(file, 'utf8')) as {
        versions: Record<string, string>;
        binaries: { path: string; version: string; sha256: string }[];
        packages: { name: string; version: string; debSha256: string | null }[];
        images: unknown[];
      };
      assert.deepEqual(manifest.versions, {
        kboot: TEST_KBOOT_VERSION,
        kubernetes: '1.37.1',
        containerd: '2.3.2',
        runc: '1.3.4',
        kernel: 'vmlinuz-6.1.0-40-cloud-amd64',
      });
      assert.equal(manifest.binaries.length, Object.keys(binaries).length);
      for (const binary of manifest.binaries) {
        const content = readFileSync(path.join(destdir, binary.path));
        assert.equal(binary.sha256, createHash('sha256').update(content).digest('hex'), binary.path);
        assert.equal(binary.version, binaries[binary.path.slice(1)], binary.path);
      }
      // The packages are the running system's (dpkg), each with its version as dpkg reports it.
      const bash = manifest.packages.find((entry) => entry.name === 'bash');
      const dpkg = spawnSync('dpkg-query', ['-W', '-f=$' + '{Version}', 'bash'], { encoding: 'utf8' }).stdout;
      assert.equal(bash?.version, dpkg);
      assert.ok(manifest.packages.length > 50);
      for (const entry of manifest.packages) {
        assert.ok(entry.debSha256 === null || /^[0-9a-f]{64}$/.test(entry.debSha256), entry.name);
      }
    });

    it('refuses to write a manifest that misses a binary', () => {
      const result = runInstallScript('80-manifest.sh', { DESTDIR: tempDir('kboot-destdir-') });
      assert.equal(result.status, 1);
      assert.match(result.stderr, /\/usr\/local\/bin\/kboot is missing/);
    });

    it('leaves an empty machine-id and no SSH keys, hostname, logs or build files', () => {
      const root = tempDir('kboot-destdir-');
      const build = '/tmp/kboot-build';
      const files: Record<string, string> = {
        'etc/machine-id': '0123456789abcdef0123456789abcdef\n',
        'var/lib/dbus/machine-id': '0123456789abcdef0123456789abcdef\n',
        'etc/ssh/ssh_host_ed25519_key': 'private',
        'etc/ssh/ssh_host_ed25519_key.pub': 'public',
        'etc/ssh/sshd_config': 'PasswordAuthentication no\n',
        'home/admin/.ssh/authorized_keys': 'ssh-ed25519 AAAA packer\n',
        'home/admin/.bash_history': 'sudo ls\n',
        'root/.ssh/authorized_keys': 'ssh-ed25519 AAAA packer\n',
        'etc/hostname': 'ip-10-0-1-23\n',
        'var/log/syslog': 'build log\n',
        'var/log/syslog.1': 'old log\n',
        'var/log/apt/history.log.1.gz': 'old',
        'var/log/journal/0123/system.journal': 'journal',
        'var/lib/kboot/membership.json': '{}',
        [`${build.slice(1)}/kboot`]: 'binary',
      };
      for (const [file, content] of Object.entries(files)) {
        mkdirSync(path.dirname(path.join(root, file)), { recursive: true });
        writeFileSync(path.join(root, file), content);
      }
      const result = runInstallScript('90-cleanup.sh', { KBOOT_BUILD_DIR: build, DESTDIR: root });
      assert.equal(result.status, 0, output(result));

      // Emptied, not deleted: systemd fills an empty machine-id at the first boot, but a missing one
      // with / still read-only is a broken system.
      const machineId = path.join(root, 'etc/machine-id');
      assert.ok(existsSync(machineId), '/etc/machine-id is still there');
      assert.equal(readFileSync(machineId, 'utf8'), '');
      assert.equal(statSync(machineId).mode & 0o777, 0o444);
      assert.ok(!existsSync(path.join(root, 'var/lib/dbus/machine-id')), "D-Bus' copy of the old id is gone");
      for (const gone of [
        'etc/ssh/ssh_host_ed25519_key',
        'etc/ssh/ssh_host_ed25519_key.pub',
        'home/admin/.ssh/authorized_keys',
        'home/admin/.bash_history',
        'root/.ssh/authorized_keys',
        'var/log/syslog.1',
        'var/log/apt/history.log.1.gz',
        'var/log/journal/0123',
        'var/lib/kboot',
        build.slice(1),
      ]) {
        assert.ok(!existsSync(path.join(root, gone)), `${gone} is removed`);
      }
      assert.equal(readFileSync(path.join(root, 'etc/hostname'), 'utf8'), '');
      assert.equal(readFileSync(path.join(root, 'var/log/syslog'), 'utf8'), '');
      assert.equal(
        readFileSync(path.join(root, 'etc/ssh/sshd_config'), 'utf8'),
        'PasswordAuthentication no\n',
      );
    });

    it("does not use cloud-init's --machine-id, which deletes the file in cloud-init 22.4", (t) => {
      const text = readFileSync(script('90-cleanup.sh'), 'utf8');
      const calls = text.split('\n').filter((line) => /^\s*cloud-init clean\b/.test(line));
      assert.equal(calls.length, 1, 'cloud-init clean runs once');
      assert.doesNotMatch(calls[0] as string, /--machine-id/);
      // The premise, on the cloud-init installed here (Debian 12's): clean --machine-id deletes.
      if (!requireTool(t, 'cloud-init', 'cloud-init')) return;
      // cloud-init's own interpreter (its shebang): the one whose path has the cloudinit package.
      const cloudInit = spawnSync('sh', ['-c', 'command -v cloud-init'], { encoding: 'utf8' }).stdout.trim();
      const python =
        /^#!\s*(\S+)/.exec(readFileSync(cloudInit, 'utf8').split('\n')[0] ?? '')?.[1] ?? 'python3';
      const clean = spawnSync(python, ['-c', CLOUD_INIT_MACHINE_ID_PROBE], { encoding: 'utf8' });
      assert.equal(clean.status, 0, output(clean));
      const [version, behaviour] = clean.stdout.trim().split(' ');
      if (behaviour !== 'deletes') {
        t.diagnostic(`cloud-init ${version} no longer deletes /etc/machine-id (${behaviour})`);
      }
    });

    it('orders the units so that multi-user.target and cloud-final.service never wait for kboot-boot.service (systemd --test)', (t) => {
      if (!requireTool(t, 'systemctl', 'systemd')) return;
      const systemd = '/lib/systemd/systemd';
      if (!existsSync(systemd)) {
        t.skip(`${systemd} is not installed (Debian: apt-get install systemd)`);
        return;
      }
      const destdir = tempDir('kboot-destdir-');
      const result = runInstallScript('60-kboot.sh', {
        KBOOT_BUILD_DIR: buildDir(TEST_KBOOT_VERSION),
        KBOOT_VERSION: TEST_KBOOT_VERSION,
        DESTDIR: destdir,
      });
      assert.equal(result.status, 0, output(result));
      cpSync(path.join(FILES_DIR, 'containerd.service'), path.join(destdir, UNIT_DIR, 'containerd.service'));
      const transaction = systemdTestTransaction(t, destdir);
      if (transaction === undefined) return;
      assert.ok(transaction.get('kboot-boot.service')?.job, 'kboot-boot.service starts at boot');
      assert.ok(transaction.get('kboot-leave.service')?.job, 'kboot-leave.service starts at boot');
      for (const target of ['multi-user.target', 'cloud-final.service']) {
        if (!transaction.get(target)?.job) continue; // cloud-init not installed
        const waitsFor = startsAfter(transaction, target);
        assert.ok(
          !waitsFor.includes('kboot-boot.service'),
          `${target} waits for kboot-boot.service through: ${waitPath(transaction, target, 'kboot-boot.service')}`,
        );
      }
      // kboot boot itself waits for the clock and the network.
      const boot = startsAfter(transaction, 'kboot-boot.service');
      for (const unit of ['time-sync.target', 'network-online.target', 'containerd.service']) {
        assert.ok(boot.includes(unit), `kboot-boot.service starts after ${unit}`);
      }
      assert.ok(transaction.get('time-sync.target')?.job, 'time-sync.target is pulled in');
    });

    it('puts the kernel settings, the kboot binary and its enabled units where the units expect them', (t) => {
      if (!requireTool(t, 'systemctl', 'systemd')) return;
      const destdir = tempDir('kboot-destdir-');
      mkdirSync(path.join(destdir, 'etc'));
      writeFileSync(path.join(destdir, 'etc', 'fstab'), 'UUID=1 none swap sw 0 0\n');
      const env = {
        KBOOT_BUILD_DIR: buildDir(TEST_KBOOT_VERSION),
        KBOOT_VERSION: TEST_KBOOT_VERSION,
        DESTDIR: destdir,
      };
      for (const name of ['20-kernel.sh', '60-kboot.sh']) {
        const result = runInstallScript(name, env);
        assert.equal(result.status, 0, `${name}: ${output(result)}`);
      }

      assert.match(
        readFileSync(path.join(destdir, 'etc/modules-load.d/kubernetes.conf'), 'utf8'),
        /^br_netfilter$/m,
      );
      const sysctl = readFileSync(path.join(destdir, 'etc/sysctl.d/99-kubernetes.conf'), 'utf8');
      assert.match(sysctl, /^net\.bridge\.bridge-nf-call-iptables = 1$/m);
      assert.match(sysctl, /^net\.ipv4\.ip_forward = 1$/m);
      assert.match(sysctl, /^fs\.inotify\.max_user_watches = 524288$/m);
      assert.match(sysctl, /^fs\.inotify\.max_user_instances = 8192$/m);
      assert.match(sysctl, /^vm\.max_map_count = 524288$/m);
      assert.match(readFileSync(path.join(destdir, 'etc/fstab'), 'utf8'), /^# kboot: swap disabled/);
      assert.ok(existsSync(path.join(destdir, 'etc/kboot')));

      for (const unit of KBOOT_UNITS) {
        assert.equal(
          readFileSync(path.join(destdir, UNIT_DIR, unit), 'utf8'),
          readFileSync(path.join(FILES_DIR, unit), 'utf8'),
        );
        for (const execStart of values(readUnit(unit), 'Service', 'ExecStart')) {
          const binary = execStart.split(/\s+/)[0] as string;
          assert.ok(
            (statSync(path.join(destdir, binary)).mode & 0o111) !== 0,
            `${unit}: ${binary} is installed`,
          );
        }
      }
      for (const [wants, unit] of [
        ['multi-user.target.wants', 'kboot-boot.service'],
        ['timers.target.wants', 'kboot-rotate.timer'],
        ['timers.target.wants', 'kboot-approve-csrs.timer'],
        ['timers.target.wants', 'kboot-leave-controller.timer'],
        ['multi-user.target.wants', 'kboot-leave.service'],
        ['multi-user.target.wants', 'kboot-leave-watch.service'],
      ] as const) {
        const link = path.join(destdir, 'etc/systemd/system', wants, unit);
        assert.ok(lstatSync(link).isSymbolicLink(), `${unit} is enabled`);
        assert.equal(readlinkSync(link), `${UNIT_DIR}/${unit}`);
      }
      assert.ok(
        !existsSync(path.join(destdir, 'etc/systemd/system/multi-user.target.wants/kboot-rotate.service')),
      );
      assert.ok(
        !existsSync(
          path.join(destdir, 'etc/systemd/system/multi-user.target.wants/kboot-leave-controller.service'),
        ),
      );

      if (!requireTool(t, 'systemd-analyze', 'systemd')) return;
      // systemd's own units (sysinit.target, …) must be inside the root verify looks at.
      cpSync('/usr/lib/systemd/system', path.join(destdir, 'usr/lib/systemd/system'), { recursive: true });
      mkdirSync(path.join(destdir, UNIT_DIR), { recursive: true });
      cpSync(path.join(FILES_DIR, 'containerd.service'), path.join(destdir, UNIT_DIR, 'containerd.service'));
      writeFileSync(path.join(destdir, 'usr/local/bin/containerd'), '#!/bin/sh\n');
      chmodSync(path.join(destdir, 'usr/local/bin/containerd'), 0o755);
      const verify = run('systemd-analyze', [
        'verify',
        '--man=no',
        `--root=${destdir}`,
        'containerd.service',
        ...KBOOT_UNITS,
      ]);
      assert.equal(verify.status, 0, output(verify));
      assert.equal(output(verify).trim(), '', 'systemd-analyze verify has no warnings');
    });

    it('refuses a kboot binary whose version differs from the AMI tag', (t) => {
      if (!requireTool(t, 'systemctl', 'systemd')) return;
      const result = runInstallScript('60-kboot.sh', {
        KBOOT_BUILD_DIR: buildDir('9.9.9'),
        KBOOT_VERSION: TEST_KBOOT_VERSION,
        DESTDIR: tempDir('kboot-destdir-'),
      });
      assert.equal(result.status, 1);
      assert.match(
        result.stderr,
        /version 9\.9\.9, but the AMI would be tagged kboot\.io\/version=1\.2\.3-test\+abc123/,
      );
    });
  });
});

describe('systemd units', () => {
  describe('kboot-leave.service and kboot-leave-watch.service', () => {
    const onShutdown = readUnit('kboot-leave.service');
    const watch = readUnit('kboot-leave-watch.service');

    it('runs `kboot leave` at a shutdown for termination, before kubelet, containerd and the network stop', () => {
      assert.equal(single(onShutdown, 'Service', 'Type'), 'oneshot');
      assert.equal(single(onShutdown, 'Service', 'RemainAfterExit'), 'yes');
      assert.equal(
        single(onShutdown, 'Service', 'ExecStop'),
        '/usr/local/bin/kboot leave --only-if-terminating',
      );
      // Stop order is the reverse of start order: After= these, so stopped before them.
      for (const after of ['network-online.target', 'containerd.service', 'kubelet.service']) {
        assert.ok(words(onShutdown, 'Unit', 'After').includes(after), `After=${after}`);
      }
      const stopMs = systemdSpanMs(single(onShutdown, 'Service', 'TimeoutStopSec') ?? '0');
      assert.ok(stopMs > parseDurationMs('5m') + parseDurationMs('2m'), 'longer than the drain deadline');
      assert.deepEqual(values(onShutdown, 'Install', 'WantedBy'), ['multi-user.target']);
    });

    it('keep the usual service dependencies without making multi-user.target wait for kboot boot', () => {
      for (const leave of [onShutdown, watch]) {
        assert.equal(single(leave, 'Unit', 'DefaultDependencies'), 'no');
        assert.ok(words(leave, 'Unit', 'Requires').includes('sysinit.target'));
        for (const after of ['sysinit.target', 'basic.target'])
          assert.ok(words(leave, 'Unit', 'After').includes(after));
        assert.ok(words(leave, 'Unit', 'Conflicts').includes('shutdown.target'));
        assert.ok(words(leave, 'Unit', 'Before').includes('shutdown.target'));
      }
    });

    it('watches IMDS with `kboot leave --watch`, restarted on failure', () => {
      assert.equal(single(watch, 'Service', 'ExecStart'), '/usr/local/bin/kboot leave --watch');
      assert.equal(single(watch, 'Service', 'Restart'), 'on-failure');
      assert.ok(values(watch, 'Service', 'SuccessExitStatus').includes(String(ExitCode.interrupted)));
      // kboot-leave.service too: at shutdown the watcher stops first, then the shutdown leave runs.
      for (const after of [
        'network-online.target',
        'kubelet.service',
        'kboot-boot.service',
        'kboot-leave.service',
      ]) {
        assert.ok(words(watch, 'Unit', 'After').includes(after), `After=${after}`);
      }
      assert.deepEqual(values(watch, 'Install', 'WantedBy'), ['multi-user.target']);
    });
  });

  describe('kboot-boot.service', () => {
    const unit = readUnit('kboot-boot.service');

    it('runs `kboot boot` once per boot, after the network and containerd, with JSON logs to the journal', () => {
      assert.equal(single(unit, 'Service', 'Type'), 'oneshot');
      assert.equal(single(unit, 'Service', 'RemainAfterExit'), 'yes');
      assert.equal(single(unit, 'Service', 'ExecStart'), '/usr/local/bin/kboot boot');
      assert.ok(values(unit, 'Service', 'Environment').includes('KBOOT_LOG_FORMAT=json'));
      assert.equal(single(unit, 'Service', 'StandardError'), 'journal');
      for (const after of ['network-online.target', 'containerd.service', 'cloud-init.service']) {
        assert.ok(words(unit, 'Unit', 'After').includes(after), `After=${after}`);
      }
      assert.ok(words(unit, 'Unit', 'Wants').includes('network-online.target'));
      assert.deepEqual(values(unit, 'Install', 'WantedBy'), ['multi-user.target']);
    });

    it('keeps the usual service dependencies while not holding up multi-user.target', () => {
      assert.equal(single(unit, 'Unit', 'DefaultDependencies'), 'no');
      assert.ok(words(unit, 'Unit', 'Requires').includes('sysinit.target'));
      assert.ok(words(unit, 'Unit', 'After').includes('sysinit.target'));
      assert.ok(words(unit, 'Unit', 'After').includes('basic.target'));
      assert.ok(words(unit, 'Unit', 'Conflicts').includes('shutdown.target'));
      assert.ok(words(unit, 'Unit', 'Before').includes('shutdown.target'));
    });

    it('retries the exit codes a retry can fix, and no others', () => {
      assert.equal(single(unit, 'Service', 'Restart'), 'on-failure');
      const prevented: readonly number[] = words(unit, 'Service', 'RestartPreventExitStatus')
        .map(Number)
        .sort((a, b) => a - b);
      assert.deepEqual([...prevented], [ExitCode.usage, ExitCode.incompatible]);
      for (const retryable of [
        ExitCode.awsUnavailable,
        ExitCode.awsDenied,
        ExitCode.awsThrottled,
        ExitCode.clusterTimeout,
        ExitCode.kubeadmFailed,
        ExitCode.stateConflict,
      ]) {
        assert.ok(!prevented.includes(retryable), `exit code ${retryable} is retried`);
      }
      assert.deepEqual(values(unit, 'Service', 'SuccessExitStatus'), [], 'only 0 is success');
      assert.ok(Number(single(unit, 'Unit', 'StartLimitBurst')) > 1, 'retries are bounded');
      assert.ok(single(unit, 'Unit', 'StartLimitIntervalSec') !== undefined);
    });

    it('spends its start budget on fast failures in no less time than IAM and networking take to settle', () => {
      // A new instance's role, its policy (IAM is eventually consistent) and its network can take
      // minutes to work; each fast failure (exit 3/4/5 within seconds) then costs RestartSec.
      const settleMs = parseDurationMs('15m');
      const burst = Number(single(unit, 'Unit', 'StartLimitBurst'));
      const restartMs = systemdSpanMs(single(unit, 'Service', 'RestartSec') ?? '0');
      const intervalMs = systemdSpanMs(single(unit, 'Unit', 'StartLimitIntervalSec') ?? '0');
      assert.ok((burst - 1) * restartMs >= settleMs, `${burst} starts ${restartMs} ms apart cover 15 min`);
      assert.ok(intervalMs > (burst - 1) * restartMs, 'the limit can be reached within its interval');
    });

    it('waits for a synchronized clock: time-sync.target and chrony-wait.service wanted, not only ordered', () => {
      for (const sync of ['time-sync.target', 'chrony-wait.service']) {
        assert.ok(words(unit, 'Unit', 'Wants').includes(sync), `Wants=${sync}`);
        assert.ok(words(unit, 'Unit', 'After').includes(sync), `After=${sync}`);
      }
      assert.deepEqual(
        words(unit, 'Unit', 'Requires'),
        ['sysinit.target'],
        'a clock that never syncs does not stop the boot',
      );
    });

    it('hands a boot that spent its retries to kboot-boot-failed.service, which reports it for replacement', () => {
      assert.deepEqual(values(unit, 'Unit', 'OnFailure'), ['kboot-boot-failed.service']);
      const failed = readUnit('kboot-boot-failed.service');
      assert.equal(single(failed, 'Service', 'ExecStart'), '/usr/local/bin/kboot boot-failed');
      assert.equal(single(failed, 'Service', 'Type'), 'oneshot');
      assert.equal(failed.get('Install'), undefined, 'started by OnFailure= only');
      assert.deepEqual(values(failed, 'Service', 'Restart'), []);
    });

    it("lets kboot's own timeouts fire first, and clean up when stopped", () => {
      const timeoutMs = systemdSpanMs(single(unit, 'Service', 'TimeoutStartSec') ?? '0');
      assert.ok(
        timeoutMs > parseDurationMs('30m') + parseDurationMs('15m'),
        'longer than waitForInit + kubeadm',
      );
      assert.equal(single(unit, 'Service', 'KillMode'), 'mixed');
      assert.ok(systemdSpanMs(single(unit, 'Service', 'TimeoutStopSec') ?? '0') >= parseDurationMs('2m'));
    });
  });

  describe('kboot-leave-controller.service and .timer', () => {
    const service = readUnit('kboot-leave-controller.service');
    const timer = readUnit('kboot-leave-controller.timer');

    it('runs `kboot leave-controller` only on a control-plane member with its admin.conf', () => {
      assert.equal(single(service, 'Service', 'ExecStart'), '/usr/local/bin/kboot leave-controller');
      assert.equal(single(service, 'Service', 'Type'), 'oneshot');
      assert.deepEqual(values(service, 'Unit', 'ConditionPathExists').sort(), [
        '/etc/kubernetes/admin.conf',
        '/etc/kubernetes/manifests/kube-apiserver.yaml',
      ]);
      assert.ok(words(service, 'Unit', 'After').includes('kboot-boot.service'));
      assert.ok(values(service, 'Service', 'Environment').includes('KBOOT_LOG_FORMAT=json'));
      assert.equal(service.get('Install'), undefined, 'started by the timer only');
      assert.deepEqual(values(service, 'Service', 'Restart'), [], 'the timer is the retry');
      assert.ok(
        systemdSpanMs(single(service, 'Service', 'TimeoutStartSec') ?? '0') > parseDurationMs('5m'),
        "longer than a worker's default drain deadline",
      );
    });

    it('fires every 10 seconds, as a calendar timer systemd does not coalesce', () => {
      assert.equal(single(timer, 'Timer', 'OnCalendar'), '*:*:0/10');
      assert.ok(systemdSpanMs(single(timer, 'Timer', 'AccuracySec') ?? '1min') <= 1000);
      assert.deepEqual(values(timer, 'Timer', 'OnUnitActiveSec'), []);
      assert.deepEqual(values(timer, 'Install', 'WantedBy'), ['timers.target']);
    });
  });

  describe('kboot-rotate.service and .timer', () => {
    const service = readUnit('kboot-rotate.service');
    const timer = readUnit('kboot-rotate.timer');

    it('runs `kboot rotate` only where a control-plane member joined', () => {
      assert.equal(single(service, 'Service', 'ExecStart'), '/usr/local/bin/kboot rotate');
      assert.equal(single(service, 'Service', 'Type'), 'oneshot');
      assert.deepEqual(values(service, 'Unit', 'ConditionPathExists').sort(), [
        '/etc/kubernetes/manifests/kube-apiserver.yaml',
        MEMBERSHIP_PATH,
      ]);
      assert.ok(words(service, 'Unit', 'After').includes('kboot-boot.service'));
      assert.ok(values(service, 'Service', 'Environment').includes('KBOOT_LOG_FORMAT=json'));
      assert.equal(service.get('Install'), undefined, 'started by the timer only');
      assert.deepEqual(values(service, 'Service', 'Restart'), [], 'the timer is the retry');
    });

    it('fires every 15 minutes with a random delay, as a calendar timer', () => {
      assert.equal(single(timer, 'Timer', 'OnCalendar'), '*:0/15');
      const delayMs = systemdSpanMs(single(timer, 'Timer', 'RandomizedDelaySec') ?? '0');
      assert.ok(
        delayMs > 0 && delayMs + parseDurationMs('15m') < parseDurationMs('30m'),
        'renews within 30 minutes',
      );
      assert.deepEqual(
        values(timer, 'Timer', 'OnUnitActiveSec'),
        [],
        'a skipped service never becomes active',
      );
      assert.deepEqual(values(timer, 'Install', 'WantedBy'), ['timers.target']);
    });
  });
});
