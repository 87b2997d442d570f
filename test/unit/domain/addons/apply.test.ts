/**
 * applyAddons with the real kubectl adapter and the recording kubectl: manifests through stdin
 * in plan order, rendered ones kept 0600 for the operator, a second run changing nothing, and a
 * failure naming the addon and its file.
 */

import assert from 'node:assert/strict';
import { mkdirSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { FsRoot } from '../../../../src/adapters/fs/root.js';
import { kubectlRunner } from '../../../../src/adapters/process/kubectl.js';
import { systemClock } from '../../../../src/core/clock.js';
import { KubectlError } from '../../../../src/core/errors.js';
import { APPLY_ARGS, appliedObjects, applyAddons } from '../../../../src/domain/addons/apply.js';
import { type Addon, planAddons } from '../../../../src/domain/addons/plan.js';
import { withTestChildEnv } from '../../../support/child-env.js';
import { fakeKubectlPath, readKubectlLog } from '../../../support/kubectl-log.js';
import { tempDir } from '../../../support/paths.js';
import { silentLogger } from '../../../support/silent-logger.js';

function world(env: Record<string, string> = {}) {
  const dir = tempDir('kboot-addons-');
  const fs = new FsRoot(path.join(dir, 'root'));
  mkdirSync(fs.resolve('/etc/kubernetes'), { recursive: true });
  writeFileSync(fs.resolve('/etc/kubernetes/admin.conf'), 'apiVersion: v1\nkind: Config\n', { mode: 0o600 });
  const log = path.join(dir, 'kubectl.jsonl');
  const kubectl = kubectlRunner({
    command: fakeKubectlPath(),
    logger: silentLogger(),
    env: withTestChildEnv({
      PATH: process.env.PATH ?? '',
      FAKE_KUBECTL_LOG: log,
      FAKE_KUBECTL_STATE_DIR: path.join(dir, 'api'),
      ...env,
    }),
  });
  const seen: string[] = [];
  const deps = {
    kubectl,
    fs,
    logger: silentLogger(),
    clock: systemClock,
    kubeconfigPath: '/etc/kubernetes/admin.conf',
    timeoutMs: 30_000,
    signal: new AbortController().signal,
    onAddon: (addon: Addon) => seen.push(addon.name),
  };
  return { fs, log, deps, seen };
}

const plan = planAddons({
  clusterName: 'prod',
  podCidr: '10.244.0.0/16',
  kubernetesVersion: '1.31.2',
  addons: { cni: 'cilium', cloudController: true },
  manifestsDir: {
    path: '/etc/kboot/addons.d',
    files: [{ name: '10-team.yaml', text: 'apiVersion: v1\nkind: Namespace\nmetadata: { name: team-a }\n' }],
  },
});

describe('applyAddons', () => {
  it('applies each addon through stdin in order; a second run changes nothing', async () => {
    const w = world();
    const first = await applyAddons(w.deps, plan);
    assert.deepEqual(w.seen, ['cilium', 'aws-cloud-controller-manager', 'addons.d/10-team.yaml']);
    assert.deepEqual(
      first.map((a) => a.objects.length),
      [13, 5, 1],
    );
    assert.ok(first[0]?.objects.includes('daemonset.apps/cilium serverside-applied'));
    const calls = readKubectlLog(w.log);
    assert.deepEqual(
      calls.map((c) => c.argv),
      plan.map(() => ['--kubeconfig', w.fs.resolve('/etc/kubernetes/admin.conf'), ...APPLY_ARGS]),
    );
    assert.deepEqual(
      calls.map((c) => c.stdin),
      plan.map((a) => a.manifest),
    );
    assert.ok(calls.every((c) => c.objects.every((o) => o.result === 'created')));

    await applyAddons(w.deps, plan);
    const again = readKubectlLog(w.log).slice(calls.length);
    assert.equal(again.length, plan.length);
    assert.ok(again.every((c) => c.objects.length > 0 && c.objects.every((o) => o.result === 'unchanged')));
  });

  it('keeps the rendered manifests, 0600, where the error message points', async () => {
    const w = world();
    await applyAddons(w.deps, plan);
    for (const addon of plan.filter((a) => a.origin === 'rendered')) {
      const file = w.fs.resolve(addon.file);
      assert.equal(statSync(file).mode & 0o777, 0o600);
      assert.equal(await w.fs.readText(addon.file), addon.manifest);
    }
    assert.equal(
      await w.fs.exists('/etc/kboot/addons.d/10-team.yaml'),
      false,
      'addons.d files are not written',
    );
  });

  it('stops at the first rejected addon and names it and its file', async () => {
    const w = world();
    const bad: Addon = {
      name: 'addons.d/20-monitor.yaml',
      file: '/etc/kboot/addons.d/20-monitor.yaml',
      origin: 'addons.d',
      manifest:
        'apiVersion: monitoring.coreos.com/v1\nkind: ServiceMonitor\nmetadata: { name: m, namespace: default }\n',
      description: '/etc/kboot/addons.d/20-monitor.yaml',
    };
    const error = await applyAddons(w.deps, [plan[2] as Addon, bad, plan[0] as Addon]).catch(
      (e: unknown) => e,
    );
    assert.ok(error instanceof KubectlError);
    assert.equal(error.exitCode, 10);
    assert.match(
      error.message,
      /^addon addons\.d\/20-monitor\.yaml \(\/etc\/kboot\/addons\.d\/20-monitor\.yaml\) was not applied: kubectl apply exited 1: error: resource mapping not found/,
    );
    assert.match(error.hint ?? '', /fix or remove \/etc\/kboot\/addons\.d\/20-monitor\.yaml/);
    assert.deepEqual(w.seen, ['addons.d/10-team.yaml', 'addons.d/20-monitor.yaml']);
    assert.equal(readKubectlLog(w.log).length, 2, 'nothing after the failure');
  });

  it('reads kubectl’s per-object lines', () => {
    assert.deepEqual(
      appliedObjects(
        'namespace/a serverside-applied\nWarning: something\n\ndaemonset.apps/x serverside-applied\n',
      ),
      ['namespace/a serverside-applied', 'daemonset.apps/x serverside-applied'],
    );
  });
});
