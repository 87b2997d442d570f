#!/usr/bin/env bash
# kboot AMI build, step 2: what kubeadm's preflight checks of the kernel and the kubelet need.
#   - modules overlay and br_netfilter loaded at every boot (/etc/modules-load.d/kubernetes.conf)
#   - net.bridge.bridge-nf-call-iptables/ip6tables = 1, net.ipv4.ip_forward = 1
#     (/etc/sysctl.d/99-kubernetes.conf)
#   - no swap: swap entries in /etc/fstab commented out, swap turned off now
#
# Environment: KBOOT_BUILD_DIR (uploaded packer/files/ is in $KBOOT_BUILD_DIR/files),
#              DESTDIR (install into this directory instead of /, without touching the running
#              system; tests use it).
set -euo pipefail

log() { printf '[kboot-ami] %s: %s\n' "${0##*/}" "$*" >&2; }
die() {
  log "error: $*"
  exit 1
}

readonly FILES="${KBOOT_BUILD_DIR:-/tmp/kboot-build}/files"
readonly DESTDIR="${DESTDIR:-}"

# Comments out every active swap entry (third field "swap") of an fstab file.
disable_swap_in_fstab() {
  local fstab=$1
  sed -i -E 's/^([[:space:]]*[^#[:space:]][^[:space:]]*[[:space:]]+[^[:space:]]+[[:space:]]+swap[[:space:]].*)$/# kboot: swap disabled for the kubelet: \1/' "$fstab"
}

apply_to_running_system() {
  modprobe overlay
  modprobe br_netfilter
  sysctl --system >/dev/null
  swapoff -a
  local key
  for key in net.bridge.bridge-nf-call-iptables net.ipv4.ip_forward; do
    [[ $(sysctl -n "$key") == 1 ]] || die "sysctl $key is not 1 after sysctl --system"
  done
  [[ -z $(swapon --show --noheadings) ]] || die "swap is still on: $(swapon --show --noheadings)"
}

main() {
  log "kernel modules, sysctls and swap for kubeadm"
  install -D -m 0644 "$FILES/kubernetes-modules.conf" "$DESTDIR/etc/modules-load.d/kubernetes.conf"
  install -D -m 0644 "$FILES/kubernetes-sysctl.conf" "$DESTDIR/etc/sysctl.d/99-kubernetes.conf"
  if [[ -f $DESTDIR/etc/fstab ]]; then
    disable_swap_in_fstab "$DESTDIR/etc/fstab"
  fi
  if [[ -z $DESTDIR ]]; then
    apply_to_running_system
  fi
}

if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
  main "$@"
fi
