/**
 * Golden files for the kubeadm config renderers: every folder test/cases/kubeadm-<name>/ holds
 *  - input.json: { "render": "init" | "join" | "token-create" | "upload-certs",
 *                  "mode"?: "reveal" | "redacted", "input": {…} }, where a secret is written
 *    { "$secret": "…" } (test values only);
 *  - overrides/*.yaml (optional): override files, read in name order like /etc/kboot/kubeadm-patches;
 *  - expected.yaml: the exact output.
 * test/support/golden.ts runs them; UPDATE_GOLDEN=1 rewrites expected.yaml (review the diff).
 */

import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Secret } from '../../../../src/core/secrets.js';
import { parseOverrides } from '../../../../src/domain/kubeadm/overrides.js';
import {
  type RenderOptions,
  renderInitConfig,
  renderJoinConfig,
  renderTokenCreateConfig,
  renderUploadCertsConfig,
} from '../../../../src/domain/kubeadm/render.js';
import type {
  InitConfigInput,
  JoinConfigInput,
  TokenCreateConfigInput,
  UploadCertsConfigInput,
} from '../../../../src/domain/kubeadm/types.js';
import { goldenSuite } from '../../../support/golden.js';

/** Turns every { "$secret": "…" } into a Secret. */
function withSecrets(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withSecrets);
  if (value !== null && typeof value === 'object') {
    const record = value as Record<string, unknown>;
    if (typeof record.$secret === 'string' && Object.keys(record).length === 1)
      return new Secret(record.$secret);
    return Object.fromEntries(Object.entries(record).map(([key, v]) => [key, withSecrets(v)]));
  }
  return value;
}

interface GoldenCase {
  render: 'init' | 'join' | 'token-create' | 'upload-certs';
  mode?: RenderOptions['mode'];
  input: Record<string, unknown>;
}

function render(caseDir: string): string {
  const spec = JSON.parse(readFileSync(path.join(caseDir, 'input.json'), 'utf8')) as GoldenCase;
  const input = withSecrets(spec.input) as Record<string, unknown>;
  const overridesDir = path.join(caseDir, 'overrides');
  if (existsSync(overridesDir)) {
    input.overrides = readdirSync(overridesDir)
      .filter((name) => name.endsWith('.yaml'))
      .sort()
      .flatMap((name) =>
        parseOverrides(readFileSync(path.join(overridesDir, name), 'utf8'), `overrides/${name}`),
      );
  }
  const options: RenderOptions = spec.mode === undefined ? {} : { mode: spec.mode };
  switch (spec.render) {
    case 'init':
      return renderInitConfig(input as unknown as InitConfigInput, options);
    case 'join':
      return renderJoinConfig(input as unknown as JoinConfigInput, options);
    case 'token-create':
      return renderTokenCreateConfig(input as unknown as TokenCreateConfigInput, options);
    case 'upload-certs':
      return renderUploadCertsConfig(input as unknown as UploadCertsConfigInput, options);
  }
}

goldenSuite({
  title: 'kubeadm config golden files (test/cases/kubeadm-*)',
  prefix: 'kubeadm-',
  promised: [
    'kubeadm-init-v1beta3',
    'kubeadm-init-v1beta4',
    'kubeadm-init-v1beta4-overrides',
    'kubeadm-join-worker-v1beta3',
    'kubeadm-join-worker-v1beta4',
    'kubeadm-join-control-plane-v1beta4',
  ],
  render,
});
