/**
 * packer/versions.pkr.hcl, rendered from kboot's version tables so that they are the one source
 * of every version the AMI build installs: the Kubernetes default and, per minor, the pinned
 * cri-tools and kubernetes-cni packages (../kubeadm/versions.ts), containerd and runc with the
 * SHA-256 of each download (./runtime-versions.ts). `npm run packer:versions` writes the file; a
 * test fails while the file differs from what this renders. The output is `packer fmt` clean.
 */

import { KUBERNETES_MINORS, newestMinor } from '../kubeadm/versions.js';
import { CONTAINERD, DEBIAN_ARCHES, type PinnedRelease, RUNC } from './runtime-versions.js';

export const PACKER_VERSIONS_FILE = 'packer/versions.pkr.hcl';

const HEADER = `# Versions of what the kboot AMI installs. GENERATED from src/domain/kubeadm/versions.ts and
# src/domain/ami/runtime-versions.ts by \`npm run packer:versions\`: change those, not this file (a
# test checks that it is up to date). Override any of them with -var as usual.
`;

/** An HCL string literal (the values are versions and hex sums; quotes and backslashes escaped). */
function quote(text: string): string {
  return `"${text.replaceAll('\\', '\\\\').replaceAll('"', '\\"')}"`;
}

/** `key = value` lines with the `=` aligned, as `packer fmt` writes them. */
function aligned(entries: readonly [string, string][], indent: string): string[] {
  const width = Math.max(...entries.map(([key]) => key.length));
  return entries.map(([key, value]) => `${indent}${key.padEnd(width)} = ${value}`);
}

function sumsByVersion(release: PinnedRelease): string[] {
  return [
    `    ${quote(release.version)} = {`,
    ...aligned(
      DEBIAN_ARCHES.map((arch) => [arch, quote(release.sha256[arch])]),
      '      ',
    ),
    '    }',
  ];
}

function variable(name: string, lines: readonly string[]): string {
  return [`variable ${quote(name)} {`, ...lines, '}'].join('\n');
}

export function renderPackerVersions(): string {
  const packaged = KUBERNETES_MINORS.filter((entry) => entry.packages !== undefined);
  const kubernetesVersion = newestMinor().newestPatch;
  const blocks = [
    variable('kubernetes_version', [
      ...aligned(
        [
          ['type', 'string'],
          ['default', quote(kubernetesVersion)],
          [
            'description',
            quote(
              "Kubernetes version of kubelet, kubeadm and kubectl (MAJOR.MINOR.PATCH); tagged kboot.io/kubernetes-version. Default: the newest release in kboot's table of Kubernetes minors. Its minor must have an entry in kubernetes_packages.",
            ),
          ],
        ],
        '  ',
      ),
      '',
      '  validation {',
      ...aligned(
        [
          [
            'condition',
            'length(split(".", var.kubernetes_version)) == 3 && substr(var.kubernetes_version, 0, 1) != "v"',
          ],
          [
            'error_message',
            quote(
              `The kubernetes_version must be MAJOR.MINOR.PATCH without a leading v, such as ${kubernetesVersion}.`,
            ),
          ],
        ],
        '    ',
      ),
      '  }',
    ]),
    variable('kubernetes_packages', [
      '  type = map(map(string))',
      '  default = {',
      ...packaged.flatMap((entry) => [
        `    ${quote(entry.minor)} = {`,
        ...aligned(
          [
            ['cri_tools', quote(entry.packages?.criTools ?? '')],
            ['kubernetes_cni', quote(entry.packages?.kubernetesCni ?? '')],
          ],
          '      ',
        ),
        '    }',
      ]),
      '  }',
      `  description = ${quote(
        "Per Kubernetes minor: the exact Debian versions of cri-tools and kubernetes-cni installed from that minor's pkgs.k8s.io repository (apt-get install cri-tools=<version>). A minor missing here stops the build.",
      )}`,
    ]),
    variable('containerd_version', [
      ...aligned(
        [
          ['type', 'string'],
          ['default', quote(CONTAINERD.version)],
          [
            'description',
            quote(
              "containerd release (github.com/containerd/containerd) installed in /usr/local; tagged kboot.io/containerd-version. 2.3 is containerd's LTS line (supported to April 2028); 1.7 reached its end of life in September 2026. Needs an entry in containerd_sha256.",
            ),
          ],
        ],
        '  ',
      ),
    ]),
    variable('containerd_sha256', [
      '  type = map(map(string))',
      '  default = {',
      ...sumsByVersion(CONTAINERD),
      '  }',
      `  description = ${quote(
        'SHA-256 of containerd-<version>-linux-<amd64|arm64>.tar.gz, per containerd version and Debian architecture; the build checks the download against it (sha256sum -c) before unpacking and stops on a mismatch or a missing sum.',
      )}`,
    ]),
    variable('runc_version', [
      ...aligned(
        [
          ['type', 'string'],
          ['default', quote(RUNC.version)],
          [
            'description',
            quote(
              'runc release (github.com/opencontainers/runc) installed as /usr/local/sbin/runc. Needs an entry in runc_sha256.',
            ),
          ],
        ],
        '  ',
      ),
    ]),
    variable('runc_sha256', [
      '  type = map(map(string))',
      '  default = {',
      ...sumsByVersion(RUNC),
      '  }',
      `  description = ${quote(
        'SHA-256 of runc.<amd64|arm64>, per runc version and Debian architecture; checked like containerd_sha256.',
      )}`,
    ]),
  ];
  return `${HEADER}\n${blocks.join('\n\n')}\n`;
}
