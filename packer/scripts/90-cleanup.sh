#!/usr/bin/env bash
# kboot AMI build, last step: leave nothing instance-specific in the image. Every instance made
# from it must start as a blank node: no cluster credentials or kboot state, a fresh machine-id
# (Kubernetes and journald tell nodes apart by it), cloud-init ready to run again, no build files.
#
# Environment: KBOOT_BUILD_DIR.
set -euo pipefail

log() { printf '[kboot-ami] %s: %s\n' "${0##*/}" "$*" >&2; }
die() {
  log "error: $*"
  exit 1
}

readonly BUILD_DIR="${KBOOT_BUILD_DIR:-/tmp/kboot-build}"

main() {
  # The kubelet restarts in a loop until kubeadm configures it; stop it writing while we clean.
  systemctl stop kubelet || true

  local path
  for path in /etc/kubernetes/admin.conf /etc/kubernetes/kubelet.conf /etc/kubernetes/pki /var/lib/etcd/member; do
    [[ ! -e $path ]] || die "$path exists: the image must not hold cluster state (did something run kubeadm?)"
  done
  rm -rf /var/lib/kboot "$BUILD_DIR"

  apt-get clean
  rm -rf /var/lib/apt/lists/*

  log "resetting cloud-init, machine-id and logs"
  cloud-init clean --logs --seed --machine-id
  journalctl --rotate >/dev/null 2>&1 || true
  journalctl --vacuum-time=1s >/dev/null 2>&1 || true
  rm -f /root/.bash_history /home/*/.bash_history
  sync
}

main "$@"
