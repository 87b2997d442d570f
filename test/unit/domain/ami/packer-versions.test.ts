/**
 * packer/versions.pkr.hcl is what kboot's version tables render (they are the one source of the
 * AMI's versions), and the tables pin everything the AMI build installs for each minor it builds.
 */

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { PACKER_VERSIONS_FILE, renderPackerVersions } from '../../../../src/domain/ami/packer-versions.js';
import { CONTAINERD, DEBIAN_ARCHES, RUNC } from '../../../../src/domain/ami/runtime-versions.js';
import {
  DEFAULT_KUBERNETES_VERSION,
  KUBERNETES_MINORS,
  newestMinor,
  supportedMinors,
} from '../../../../src/domain/kubeadm/versions.js';
import { repoRoot } from '../../../support/paths.js';

const TODAY_MS = Date.parse('2026-12-07T12:00:00Z');
/** A Debian version apt-get takes as `name=VERSION` exactly: upstream version and revision. */
const EXACT_DEBIAN_VERSION = /^\d+\.\d+\.\d+-\d+(\.\d+)?$/;

describe('packer/versions.pkr.hcl', () => {
  const committed = readFileSync(path.join(repoRoot(), PACKER_VERSIONS_FILE), 'utf8');

  it('is what the version tables render (run `npm run packer:versions` after changing them)', () => {
    assert.equal(committed, renderPackerVersions());
  });

  it('defaults to the newest Kubernetes release and pins the packages of every minor with pins', () => {
    assert.match(
      committed,
      new RegExp(`variable "kubernetes_version" \\{[^}]*default\\s*=\\s*"${DEFAULT_KUBERNETES_VERSION}"`),
    );
    for (const entry of KUBERNETES_MINORS) {
      const block = new RegExp(
        `"${entry.minor.replace('.', '\\.')}" = \\{\\s*cri_tools\\s*= "([^"]+)"\\s*kubernetes_cni = "([^"]+)"\\s*\\}`,
      ).exec(committed);
      if (entry.packages === undefined) {
        assert.equal(block, null, `${entry.minor} has no pins and is not in the file`);
        continue;
      }
      assert.deepEqual(block?.slice(1), [entry.packages.criTools, entry.packages.kubernetesCni]);
    }
    for (const [name, release] of [
      ['containerd', CONTAINERD],
      ['runc', RUNC],
    ] as const) {
      assert.match(
        committed,
        new RegExp(`variable "${name}_version" \\{[^}]*default\\s*=\\s*"${release.version}"`),
      );
      for (const arch of DEBIAN_ARCHES) assert.ok(committed.includes(`${arch} = "${release.sha256[arch]}"`));
    }
  });
});

describe('the pins behind the AMI build', () => {
  it('cover every supported minor and the default one, each package at an exact Debian version', () => {
    const minors = new Set([...supportedMinors(TODAY_MS), newestMinor()]);
    assert.deepEqual(
      [...minors].map((entry) => entry.minor),
      ['1.35', '1.36', '1.37'],
    );
    for (const entry of minors) {
      const packages = entry.packages;
      assert.ok(packages !== undefined, `${entry.minor} has pinned cri-tools and kubernetes-cni`);
      assert.match(packages.criTools, EXACT_DEBIAN_VERSION);
      assert.match(packages.kubernetesCni, EXACT_DEBIAN_VERSION);
      // cri-tools follows the Kubernetes minor it is published for.
      assert.ok(packages.criTools.startsWith(`${entry.minor}.`), `cri-tools ${packages.criTools}`);
    }
  });

  it('pin containerd and runc by SHA-256 for both architectures', () => {
    for (const release of [CONTAINERD, RUNC]) {
      assert.match(release.version, /^\d+\.\d+\.\d+$/);
      assert.deepEqual(Object.keys(release.sha256).sort(), [...DEBIAN_ARCHES].sort());
      for (const arch of DEBIAN_ARCHES) assert.match(release.sha256[arch], /^[0-9a-f]{64}$/);
      assert.notEqual(release.sha256.amd64, release.sha256.arm64);
    }
    // containerd 1.7 reached its end of life in September 2026; 2.3 is the LTS line to April 2028.
    const [major, minor] = CONTAINERD.version.split('.').map(Number) as [number, number];
    assert.ok(major > 2 || (major === 2 && minor >= 3), `containerd ${CONTAINERD.version} is supported`);
  });
});
