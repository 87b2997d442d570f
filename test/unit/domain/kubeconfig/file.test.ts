import assert from 'node:assert/strict';
import {
  chmodSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import YAML from 'yaml';
import type { Clock } from '../../../../src/core/clock.js';
import { ConfigError } from '../../../../src/core/errors.js';
import { Secret } from '../../../../src/core/secrets.js';
import {
  entryNames,
  type KubeconfigEntries,
  parseAdminKubeconfig,
} from '../../../../src/domain/kubeconfig/admin.js';
import { mergeIntoKubeconfigFile } from '../../../../src/domain/kubeconfig/file.js';
import { tempDir } from '../../../support/paths.js';
import { adminConf, OTHER_CLUSTERS_KUBECONFIG } from './fixtures.js';

const entries: KubeconfigEntries = {
  names: entryNames('prod'),
  admin: parseAdminKubeconfig(new Secret(adminConf().text), 'test'),
};

/** A clock whose sleeps return at once, counting them. */
function fakeClock(): Clock & { sleeps: number } {
  const clock = {
    sleeps: 0,
    nowMs: () => 0,
    monotonicMs: () => 0,
    sleepMs: async () => {
      clock.sleeps += 1;
    },
  };
  return clock;
}

const mode = (file: string) => statSync(file).mode & 0o777;
const dirs: string[] = [];
function dir(): string {
  const made = tempDir('kboot-kubeconfig-');
  dirs.push(made);
  return made;
}
after(async () => {
  for (const made of dirs) await rm(made, { recursive: true, force: true });
});

describe('mergeIntoKubeconfigFile', () => {
  it('creates a missing file and its directory, mode 0600, without a backup', async () => {
    const file = path.join(dir(), '.kube', 'config');
    const outcome = await mergeIntoKubeconfigFile(file, entries, { setCurrent: false, clock: fakeClock() });
    assert.equal(outcome.created, true);
    assert.equal(outcome.backup, undefined);
    assert.equal(mode(file), 0o600);
    assert.equal(statSync(path.dirname(file)).mode & 0o777, 0o700);
    assert.equal(YAML.parse(readFileSync(file, 'utf8'))['current-context'], 'prod');
    assert.deepEqual(readdirSync(path.dirname(file)), ['config'], 'no temp or lock file left behind');
  });

  it('merges into an existing file, keeps the old one as <file>.kboot-backup, tightens the mode', async () => {
    const file = path.join(dir(), 'config');
    writeFileSync(file, OTHER_CLUSTERS_KUBECONFIG, { mode: 0o644 });
    chmodSync(file, 0o644);
    const outcome = await mergeIntoKubeconfigFile(file, entries, { setCurrent: false, clock: fakeClock() });
    assert.equal(outcome.changed, true);
    assert.equal(outcome.modeTightened, true);
    assert.equal(outcome.backup, `${file}.kboot-backup`);
    assert.equal(readFileSync(`${file}.kboot-backup`, 'utf8'), OTHER_CLUSTERS_KUBECONFIG);
    assert.equal(mode(`${file}.kboot-backup`), 0o600);
    assert.equal(mode(file), 0o600);
    const merged = YAML.parse(readFileSync(file, 'utf8'));
    assert.deepEqual(
      merged.contexts.map((c: { name: string }) => c.name),
      ['dev', 'staging', 'prod'],
    );

    // A second run: same file, no new backup.
    const firstText = readFileSync(file, 'utf8');
    writeFileSync(`${file}.kboot-backup`, 'marker');
    const again = await mergeIntoKubeconfigFile(file, entries, { setCurrent: false, clock: fakeClock() });
    assert.equal(again.changed, false);
    assert.equal(again.backup, undefined);
    assert.equal(readFileSync(file, 'utf8'), firstText);
    assert.equal(readFileSync(`${file}.kboot-backup`, 'utf8'), 'marker');
    assert.deepEqual(readdirSync(path.dirname(file)).sort(), ['config', 'config.kboot-backup']);
  });

  it('tightens the mode of a file that needs no other change', async () => {
    const file = path.join(dir(), 'config');
    await mergeIntoKubeconfigFile(file, entries, { setCurrent: false, clock: fakeClock() });
    chmodSync(file, 0o664);
    const outcome = await mergeIntoKubeconfigFile(file, entries, { setCurrent: false, clock: fakeClock() });
    assert.equal(outcome.changed, false);
    assert.equal(outcome.modeTightened, true);
    assert.equal(mode(file), 0o600);
  });

  it('writes through a symlink to its target', async () => {
    const base = dir();
    const target = path.join(base, 'dotfiles', 'kubeconfig');
    mkdirSync(path.dirname(target));
    writeFileSync(target, OTHER_CLUSTERS_KUBECONFIG);
    const link = path.join(base, 'config');
    symlinkSync(target, link);
    const outcome = await mergeIntoKubeconfigFile(link, entries, { setCurrent: true, clock: fakeClock() });
    assert.equal(outcome.file, target);
    assert.ok(statSync(link).isFile() && readFileSync(link, 'utf8').includes('prod-admin'));
    assert.equal(YAML.parse(readFileSync(target, 'utf8'))['current-context'], 'prod');
  });

  it('refuses a symlink whose target does not exist, naming both, and leaves the link alone', async () => {
    const base = dir();
    const target = path.join(base, 'dotfiles', 'kubeconfig');
    const link = path.join(base, 'config');
    symlinkSync(target, link);
    await assert.rejects(
      mergeIntoKubeconfigFile(link, entries, { setCurrent: false, clock: fakeClock() }),
      (error: unknown) =>
        error instanceof ConfigError &&
        error.exitCode === 2 &&
        error.message === `${link} is a symlink to ${target}, which does not exist` &&
        /create the target .*remove the link .*--file PATH/.test(error.hint ?? ''),
    );
    assert.ok(lstatSync(link).isSymbolicLink(), 'still a symlink');
    assert.equal(readlinkSync(link), target);
    assert.deepEqual(readdirSync(base), ['config'], 'no file, lock or temp file written');
  });

  it('refuses to rewrite a read-only (0400) kubeconfig that needs a change, and leaves it alone', async () => {
    const file = path.join(dir(), 'config');
    writeFileSync(file, OTHER_CLUSTERS_KUBECONFIG);
    chmodSync(file, 0o400);
    await assert.rejects(
      mergeIntoKubeconfigFile(file, entries, { setCurrent: false, clock: fakeClock() }),
      (error: unknown) =>
        error instanceof ConfigError &&
        error.exitCode === 2 &&
        error.message === `${file} is read-only (mode 0400); kboot does not rewrite a read-only kubeconfig` &&
        /chmod 600 .*--file PATH.*--print/.test(error.hint ?? ''),
    );
    assert.equal(mode(file), 0o400);
    assert.equal(readFileSync(file, 'utf8'), OTHER_CLUSTERS_KUBECONFIG);
    assert.deepEqual(readdirSync(path.dirname(file)), ['config'], 'no backup, lock or temp file');
  });

  it('leaves a read-only kubeconfig that is up to date read-only, removing only group and other access', async () => {
    const file = path.join(dir(), 'config');
    await mergeIntoKubeconfigFile(file, entries, { setCurrent: false, clock: fakeClock() });
    chmodSync(file, 0o444);
    const outcome = await mergeIntoKubeconfigFile(file, entries, { setCurrent: false, clock: fakeClock() });
    assert.equal(outcome.changed, false);
    assert.equal(outcome.modeTightened, true);
    assert.equal(mode(file), 0o400);
  });

  it("waits for kubectl's lock, then gives up with a clear error, leaving the file alone", async () => {
    const file = path.join(dir(), 'config');
    writeFileSync(file, OTHER_CLUSTERS_KUBECONFIG, { mode: 0o600 });
    writeFileSync(`${file}.lock`, '');
    const clock = fakeClock();
    await assert.rejects(
      mergeIntoKubeconfigFile(file, entries, { setCurrent: false, clock }),
      (error: unknown) =>
        error instanceof ConfigError &&
        error.message === `${file}.lock exists: another kubectl or kboot is writing ${file}` &&
        /remove .*config\.lock/.test(error.hint ?? ''),
    );
    assert.equal(clock.sleeps, 19);
    assert.equal(readFileSync(file, 'utf8'), OTHER_CLUSTERS_KUBECONFIG);
    assert.ok(existsSync(`${file}.lock`), "another holder's lock is not removed");
  });

  it('refuses a kubeconfig that is not one, without writing or backing up', async () => {
    const file = path.join(dir(), 'config');
    writeFileSync(file, 'kind: Pod\n', { mode: 0o600 });
    await assert.rejects(
      mergeIntoKubeconfigFile(file, entries, { setCurrent: false, clock: fakeClock() }),
      ConfigError,
    );
    assert.equal(readFileSync(file, 'utf8'), 'kind: Pod\n');
    assert.deepEqual(readdirSync(path.dirname(file)), ['config']);
  });

  it('says what it could not write', {
    skip: process.getuid?.() === 0 ? 'root writes anywhere' : false,
  }, async () => {
    const base = dir();
    chmodSync(base, 0o500);
    await assert.rejects(
      mergeIntoKubeconfigFile(path.join(base, 'config'), entries, { setCurrent: false, clock: fakeClock() }),
      (error: unknown) => error instanceof ConfigError && /\(EACCES\)/.test(error.message),
    );
    chmodSync(base, 0o700);
  });
});
