#!/usr/bin/env bash
# kboot AMI build, last step: leave nothing instance-specific in the image. Every instance made
# from it must start as a blank node: no cluster credentials or kboot state, a fresh machine-id
# (Kubernetes and journald tell nodes apart by it), fresh SSH host keys, no authorized key of the
# build, no hostname, empty logs, cloud-init ready to run again, no build files.
#
# /etc/machine-id is emptied, not deleted: systemd fills an empty file at the first boot, but
# treats a missing one as a broken system while / is still read-only. cloud-init 22.4 (Debian
# 12's) `clean --machine-id` deletes the file (writing "uninitialized" came only in 23.1), so it is
# not used here.
#
# Environment: KBOOT_BUILD_DIR, DESTDIR (clean this directory instead of /, without touching the
#              running system; tests use it).
set -euo pipefail

log() { printf '[kboot-ami] %s: %s\n' "${0##*/}" "$*" >&2; }
die() {
  log "error: $*"
  exit 1
}

readonly BUILD_DIR="${KBOOT_BUILD_DIR:-/tmp/kboot-build}"
readonly DESTDIR="${DESTDIR:-}"

# Fails if anything under root $1 holds cluster state.
check_no_cluster_state() {
  local root=$1 path
  for path in /etc/kubernetes/admin.conf /etc/kubernetes/kubelet.conf /etc/kubernetes/pki /var/lib/etcd/member; do
    [[ ! -e $root$path ]] || die "$path exists: the image must not hold cluster state (did something run kubeadm?)"
  done
}

# Removes what identifies this build instance under root $1.
remove_instance_identity() {
  local root=$1
  # Empty, present, mode 0444: systemd writes a new id at the first boot (ConditionFirstBoot).
  rm -f "$root/etc/machine-id"
  install -m 0444 /dev/null "$root/etc/machine-id"
  # Debian links D-Bus' copy to /etc/machine-id; a stale regular file would keep the old id.
  if [[ -e $root/var/lib/dbus/machine-id && ! -L $root/var/lib/dbus/machine-id ]]; then
    rm -f "$root/var/lib/dbus/machine-id"
  fi
  # cloud-init's ssh module makes new host keys at the first boot of each instance.
  rm -f "$root"/etc/ssh/ssh_host_*
  # Packer's temporary key; cloud-init installs the instance's key pair at the first boot.
  rm -f "$root"/root/.ssh/authorized_keys "$root"/home/*/.ssh/authorized_keys
  # cloud-init sets the hostname from the instance metadata.
  if [[ -e $root/etc/hostname ]]; then
    : >"$root/etc/hostname"
  fi
  rm -f "$root"/root/.bash_history "$root"/home/*/.bash_history
}

# Empties the logs under root $1: the journal, and every file in /var/log (kept, emptied, so the
# packages that own them need not recreate them; rotated copies removed).
remove_logs() {
  local root=$1
  if [[ -d $root/var/log ]]; then
    rm -rf "$root"/var/log/journal/*
    find "$root/var/log" -type f \( -name '*.gz' -o -name '*.[0-9]' -o -name '*.old' \) -delete
    find "$root/var/log" -type f -exec truncate -s 0 {} +
  fi
}

main() {
  if [[ -z $DESTDIR ]]; then
    # The kubelet restarts in a loop until kubeadm configures it; stop it writing while we clean.
    systemctl stop kubelet || true
  fi
  check_no_cluster_state "$DESTDIR"
  rm -rf "$DESTDIR/var/lib/kboot" "$DESTDIR$BUILD_DIR"

  if [[ -z $DESTDIR ]]; then
    apt-get clean
    rm -rf /var/lib/apt/lists/*
    log "resetting cloud-init"
    cloud-init clean --logs --seed
    systemctl stop systemd-journald.socket systemd-journald-dev-log.socket systemd-journald || true
  fi
  log "removing machine-id, SSH host and authorized keys, hostname and logs"
  remove_instance_identity "$DESTDIR"
  remove_logs "$DESTDIR"
  sync
}

if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
  main "$@"
fi
