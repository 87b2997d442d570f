/**
 * The container runtime the AMI build downloads (packer/scripts/40-containerd.sh), as data: the
 * release and the SHA-256 of its download per Debian architecture. The build checks every
 * download against these sums before it unpacks it (packer/versions.pkr.hcl is rendered from
 * this file and ../kubeadm/versions.ts; `npm run packer:versions`).
 *
 * Sources of the sums: kubernetes-sigs/kubespray, roles/kubespray_defaults/vars/main/checksums.yml
 * at commit 46dbdd3994b32640bcd806b0097f50e8fdf1d514 (2026-08-21): `containerd_archive_checksums`
 * (containerd-<version>-linux-<arch>.tar.gz, added in 8d69fb8f9) and `runc_checksums`
 * (runc.<arch>); kubespray takes them from the releases' own .sha256sum files.
 *
 * containerd 2.3 is containerd's LTS line (supported to April 2028); 1.7 ended in September 2026.
 */

/** Debian architectures the AMI is built for (EC2 x86_64 → amd64, arm64 → arm64). */
export const DEBIAN_ARCHES = ['amd64', 'arm64'] as const;
export type DebianArch = (typeof DEBIAN_ARCHES)[number];

export interface PinnedRelease {
  version: string;
  /** SHA-256 (hex) of the download for each architecture. */
  sha256: Record<DebianArch, string>;
}

/** containerd-<version>-linux-<arch>.tar.gz from github.com/containerd/containerd/releases. */
export const CONTAINERD: PinnedRelease = {
  version: '2.3.2',
  sha256: {
    amd64: '75625e6f6595bb95f3fb9c8123a60534af4a8d9b52d7617065967bcefe71a17a',
    arm64: '6874adea935300402b7782d63bf58f1bd59a3323d76a9f22f27686001fb8997a',
  },
};

/** runc.<arch> from github.com/opencontainers/runc/releases. */
export const RUNC: PinnedRelease = {
  version: '1.3.4',
  sha256: {
    amd64: '5966ca40b6187b30e33bfc299c5f1fe72e8c1aa01cf3fefdadf391668f47f103',
    arm64: 'd6dcab36d1b6af1b72c7f0662e5fcf446a291271ba6006532b95c4144e19d428',
  },
};
