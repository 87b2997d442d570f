#!/usr/bin/env bash
# kboot AMI build, step 6: the kboot binary as /usr/local/bin/kboot (it must report exactly
# KBOOT_VERSION, the value the AMI is tagged with), its systemd units in
# /usr/local/lib/systemd/system, and /etc/kboot for the node config user-data writes.
# Enabled: kboot-boot.service (runs `kboot boot` at every boot), kboot-rotate.timer (runs
# `kboot rotate` every 15 minutes; the service skips itself on workers), kboot-etcd-snapshot.timer
# (runs `kboot etcd snapshot` every 15 minutes, on masters only), kboot-leave-controller.timer
# (runs `kboot leave-controller` every 10 s: masters drain the workers that asked to leave; the
# service skips itself on workers), kboot-leave-watch.service
# (`kboot leave --watch`) and kboot-leave.service (`kboot leave` at a shutdown for termination).
# kboot-boot-failed.service is started by kboot-boot.service's OnFailure= only.
#
# Environment: KBOOT_VERSION, KBOOT_BUILD_DIR (holds the uploaded binary `kboot` and `files/`),
#              DESTDIR (install into this directory instead of /; tests use it).
set -euo pipefail

log() { printf '[kboot-ami] %s: %s\n' "${0##*/}" "$*" >&2; }
die() {
  log "error: $*"
  exit 1
}

readonly BUILD_DIR="${KBOOT_BUILD_DIR:-/tmp/kboot-build}"
readonly DESTDIR="${DESTDIR:-}"
readonly UNIT_DIR=/usr/local/lib/systemd/system
readonly -a UNITS=(kboot-boot.service kboot-boot-failed.service kboot-rotate.service kboot-rotate.timer kboot-etcd-snapshot.service kboot-etcd-snapshot.timer kboot-approve-csrs.service kboot-approve-csrs.timer kboot-leave-controller.service kboot-leave-controller.timer kboot-leave.service kboot-leave-watch.service)
readonly -a ENABLED=(kboot-boot.service kboot-rotate.timer kboot-etcd-snapshot.timer kboot-approve-csrs.timer kboot-leave-controller.timer kboot-leave.service kboot-leave-watch.service)

main() {
  local expected=${KBOOT_VERSION:?set KBOOT_VERSION to the version the AMI is tagged with}
  [[ -f $BUILD_DIR/kboot ]] || die "$BUILD_DIR/kboot is missing (the template uploads dist/kboot-linux-<arch> there)"

  log "installing kboot ${expected}"
  install -D -m 0755 "$BUILD_DIR/kboot" "$DESTDIR/usr/local/bin/kboot"
  local actual
  actual=$("$DESTDIR/usr/local/bin/kboot" --version) || die "the kboot binary does not run on this instance (wrong architecture?)"
  [[ $actual == "$expected" ]] ||
    die "the kboot binary is version $actual, but the AMI would be tagged kboot.io/version=$expected; pass -var kboot_version=$actual or rebuild the binary"

  local unit
  for unit in "${UNITS[@]}"; do
    install -D -m 0644 "$BUILD_DIR/files/$unit" "$DESTDIR$UNIT_DIR/$unit"
  done
  install -d -m 0755 "$DESTDIR/etc/kboot"

  if [[ -n $DESTDIR ]]; then
    systemctl --root="$DESTDIR" enable "${ENABLED[@]}"
  else
    systemctl daemon-reload
    systemctl enable "${ENABLED[@]}"
    systemd-analyze verify --man=no "${UNITS[@]/#/$UNIT_DIR/}"
  fi
  log "kboot ${actual} installed; enabled ${ENABLED[*]}"
}

if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
  main "$@"
fi
