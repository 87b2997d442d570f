#!/usr/bin/env bash
# kboot AMI build, step 1: check the base image is Debian 12, wait for cloud-init, apply Debian's
# updates and install the base packages kubeadm and kubelet rely on, plus chrony pointed at the
# Amazon Time Sync Service, and chrony-wait.service enabled so time-sync.target means "the clock
# is synchronized" (kboot-boot.service waits for it).
#
# Environment: KBOOT_BUILD_DIR (uploaded packer/files/ is in $KBOOT_BUILD_DIR/files),
#              UPGRADE_OS_PACKAGES (true|false).
set -euo pipefail

log() { printf '[kboot-ami] %s: %s\n' "${0##*/}" "$*" >&2; }
die() {
  log "error: $*"
  exit 1
}

readonly FILES="${KBOOT_BUILD_DIR:-/tmp/kboot-build}/files"
export DEBIAN_FRONTEND=noninteractive
# Bounded retries and timeouts for every download; wait for apt-daily rather than failing on its lock.
readonly -a APT=(apt-get -y -q
  -o Acquire::Retries=5 -o Acquire::http::Timeout=30 -o Acquire::https::Timeout=30
  -o DPkg::Lock::Timeout=300
  -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold)

main() {
  # shellcheck source=/dev/null
  . /etc/os-release
  [[ ${ID:-} == debian && ${VERSION_ID:-} == 12 ]] ||
    die "this build targets Debian 12 (bookworm), the base AMI is ${PRETTY_NAME:-unknown}; set base_ami_name/base_ami_owner to a Debian 12 image"

  log "waiting for cloud-init to finish on the build instance"
  timeout 600 cloud-init status --wait >/dev/null || log "cloud-init did not report done; continuing"

  "${APT[@]}" update
  if [[ ${UPGRADE_OS_PACKAGES:-true} == true ]]; then
    # dist-upgrade, not upgrade: a security update of the kernel is a new linux-image-* package,
    # which `apt-get upgrade` keeps back.
    log "applying Debian updates (kernel included)"
    "${APT[@]}" dist-upgrade
  fi

  log "installing base packages"
  "${APT[@]}" install --no-install-recommends \
    ca-certificates curl gpg chrony conntrack socat ethtool iptables iproute2 kmod

  install -D -m 0644 "$FILES/chrony-aws.sources" /etc/chrony/sources.d/aws.sources
  systemctl enable chrony
  systemctl restart chrony
  # Debian's chrony ships chrony-wait.service disabled: enabled, it orders time-sync.target after
  # `chronyc waitsync` (at most 180 s), and kboot-boot.service pulls it in.
  [[ -f /lib/systemd/system/chrony-wait.service ]] || die "chrony-wait.service is missing from the chrony package"
  systemctl enable chrony-wait.service
}

main "$@"
