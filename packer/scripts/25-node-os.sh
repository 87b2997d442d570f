#!/usr/bin/env bash
# kboot AMI build, step 2b: operating-system settings of a long-running, immutable node.
#   - the journal capped (/etc/systemd/journald.conf.d/50-kboot.conf): persistent, at most 1 GiB
#   - no automatic upgrades: unattended-upgrades purged, apt's daily timers masked and APT::Periodic
#     off (/etc/apt/apt.conf.d/99-kboot-no-automatic-upgrades). Updates come as a new AMI rolled
#     out by replacing nodes (each drained by kboot leave), not as apt runs on a live node, which
#     would restart containerd or change the kernel under a running kubelet, make nodes of one
#     AMI differ, and take the dpkg lock at boot. Kubernetes' own packages are held anyway.
#
# Environment: KBOOT_BUILD_DIR (uploaded packer/files/ is in $KBOOT_BUILD_DIR/files),
#              DESTDIR (install into this directory instead of /; tests use it).
set -euo pipefail

log() { printf '[kboot-ami] %s: %s\n' "${0##*/}" "$*" >&2; }
die() {
  log "error: $*"
  exit 1
}

readonly FILES="${KBOOT_BUILD_DIR:-/tmp/kboot-build}/files"
readonly DESTDIR="${DESTDIR:-}"
readonly -a APT_UNITS=(apt-daily.timer apt-daily.service apt-daily-upgrade.timer apt-daily-upgrade.service)

# Masks apt's daily update and upgrade units under root $1 ("" for the running system).
mask_automatic_upgrades() {
  local root=$1
  if [[ -n $root ]]; then
    systemctl --root="$root" mask "${APT_UNITS[@]}"
  else
    systemctl disable --now apt-daily.timer apt-daily-upgrade.timer || true
    systemctl mask "${APT_UNITS[@]}"
  fi
}

main() {
  log "journald size cap, no automatic upgrades"
  install -D -m 0644 "$FILES/journald-kboot.conf" "$DESTDIR/etc/systemd/journald.conf.d/50-kboot.conf"
  install -D -m 0644 "$FILES/apt-no-automatic-upgrades.conf" \
    "$DESTDIR/etc/apt/apt.conf.d/99-kboot-no-automatic-upgrades"
  if [[ -z $DESTDIR ]] && dpkg-query -W -f='${Status}' unattended-upgrades 2>/dev/null | grep -q 'install ok installed'; then
    apt-get -y -q -o DPkg::Lock::Timeout=300 purge unattended-upgrades
  fi
  mask_automatic_upgrades "$DESTDIR"
  if [[ -z $DESTDIR ]]; then
    systemctl restart systemd-journald
    local unit
    for unit in "${APT_UNITS[@]}"; do
      [[ $(systemctl is-enabled "$unit" 2>/dev/null || true) == masked ]] || die "$unit is not masked"
    done
  fi
}

if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
  main "$@"
fi
