#!/usr/bin/env bash
# kboot AMI build, step 4: containerd and runc at pinned versions from their GitHub releases,
# checked against pinned SHA-256 sums, with containerd's default config changed in three places:
#   - SystemdCgroup = true for runc (the kubelet's cgroup driver is systemd, kubeadm's default)
#   - the sandbox (pause) image kubeadm expects for this Kubernetes version
#   - the CRI registry's config_path = /etc/containerd/certs.d (registry mirrors and CAs as
#     hosts.toml files, e.g. written by user-data)
# Runs after 30-kubernetes.sh (it asks kubeadm for the pause image).
#
# Every download is checked against its pinned SHA-256 (`sha256sum -c`) before it is unpacked or
# installed; a mismatch or a missing sum stops the build.
#
# Environment: CONTAINERD_VERSION, CONTAINERD_SHA256, RUNC_VERSION, RUNC_SHA256 (the sums of this
#              architecture's downloads), KUBERNETES_VERSION, KBOOT_BUILD_DIR.
set -euo pipefail

log() { printf '[kboot-ami] %s: %s\n' "${0##*/}" "$*" >&2; }
die() {
  log "error: $*"
  exit 1
}

readonly FILES="${KBOOT_BUILD_DIR:-/tmp/kboot-build}/files"
readonly CONFIG=/etc/containerd/config.toml
readonly -a CURL=(curl --fail --silent --show-error --location
  --connect-timeout 10 --max-time 300 --retry 5 --retry-delay 2 --retry-all-errors)

# Sets SystemdCgroup = true in a containerd config.toml: on every existing SystemdCgroup line
# (config version 2 of containerd 1.x and version 3 of 2.x both have one under the runc options),
# or, when the default leaves it out, as a new line under the runc options table.
containerd_config_enable_systemd_cgroup() {
  local file=$1
  if grep -qE '^[[:space:]]*SystemdCgroup[[:space:]]*=' "$file"; then
    sed -i -E 's/^([[:space:]]*)SystemdCgroup[[:space:]]*=.*$/\1SystemdCgroup = true/' "$file"
  else
    local header
    header=$(grep -nE "^[[:space:]]*\[plugins\.[\"'](io\.containerd\.grpc\.v1\.cri|io\.containerd\.cri\.v1\.runtime)[\"']\.containerd\.runtimes\.runc\.options\][[:space:]]*$" "$file" |
      head -n 1 | cut -d: -f1) || true
    [[ -n $header ]] || die "$file has neither a SystemdCgroup setting nor a runc options table; check the containerd version"
    sed -i "${header}a\\  SystemdCgroup = true" "$file"
  fi
  grep -qE '^[[:space:]]*SystemdCgroup = true$' "$file" || die "could not set SystemdCgroup = true in $file"
  if grep -qE '^[[:space:]]*SystemdCgroup = false' "$file"; then
    die "$file still sets SystemdCgroup = false"
  fi
}

# Points the CRI sandbox image at $2: sandbox_image = "…" (containerd 1.x) or sandbox = '…' (2.x).
containerd_config_set_sandbox_image() {
  local file=$1 image=$2
  if grep -qE '^[[:space:]]*sandbox_image[[:space:]]*=' "$file"; then
    sed -i -E "s|^([[:space:]]*)sandbox_image[[:space:]]*=.*$|\\1sandbox_image = \"${image}\"|" "$file"
  elif grep -qE '^[[:space:]]*sandbox[[:space:]]*=' "$file"; then
    sed -i -E "s|^([[:space:]]*)sandbox[[:space:]]*=.*$|\\1sandbox = '${image}'|" "$file"
  else
    die "$file has no sandbox image setting; check the containerd version"
  fi
  grep -qF "$image" "$file" || die "could not set the sandbox image in $file"
}

# Points the CRI registry's config_path at $2, so hosts.toml files in $2/<registry>/ (mirrors,
# CA certificates) apply: `config_path = "…"` under [plugins."io.containerd.grpc.v1.cri".registry]
# (containerd 1.x, config version 2) or [plugins.'io.containerd.cri.v1.images'.registry] (2.x,
# version 3). Without it, containerd ignores /etc/containerd/certs.d.
containerd_config_set_registry_config_path() {
  local file=$1 dir=$2
  if grep -qE '^[[:space:]]*config_path[[:space:]]*=' "$file"; then
    sed -i -E "s|^([[:space:]]*)config_path[[:space:]]*=.*$|\\1config_path = '${dir}'|" "$file"
  else
    local header
    header=$(grep -nE "^[[:space:]]*\[plugins\.[\"'](io\.containerd\.grpc\.v1\.cri|io\.containerd\.cri\.v1\.images)[\"']\.registry\][[:space:]]*$" "$file" |
      head -n 1 | cut -d: -f1) || true
    [[ -n $header ]] || die "$file has no CRI registry table; check the containerd version"
    sed -i "${header}a\\  config_path = '${dir}'" "$file"
  fi
  [[ $(grep -cE "^[[:space:]]*config_path = '${dir}'$" "$file") == 1 ]] ||
    die "could not set the registry config_path in $file"
}

# Downloads URL $1 to $2 and checks it against the pinned SHA-256 $3 with sha256sum -c; on a
# mismatch the download is deleted and the build stops. Nothing downloaded is used before this.
download_verified() {
  local url=$1 out=$2 expected=$3
  local name=${out##*/}
  [[ $expected =~ ^[0-9a-f]{64}$ ]] ||
    die "no pinned SHA-256 for $name (got '${expected}'): add the release's sum for this architecture to src/domain/ami/runtime-versions.ts"
  "${CURL[@]}" -o "$out" "$url"
  if ! printf '%s  %s\n' "$expected" "$out" | sha256sum --check --strict --quiet - >&2; then
    local actual
    actual=$(sha256sum "$out" | awk '{ print $1 }')
    rm -f "$out"
    die "$name has SHA-256 $actual, expected the pinned $expected (a bad download, or a wrong pin for this version)"
  fi
  log "$name: SHA-256 $expected verified"
}

# containerd $1 for Debian architecture $2, checked against SHA-256 $3, unpacked into $4/usr/local (/ on the build instance).
install_containerd() {
  local version=$1 arch=$2 sha256=$3 root=$4
  local tarball="containerd-${version}-linux-${arch}.tar.gz" work
  work=$(mktemp -d)
  download_verified "https://github.com/containerd/containerd/releases/download/v${version}/${tarball}" \
    "$work/$tarball" "$sha256"
  install -d -m 0755 "$root/usr/local"
  tar -C "$root/usr/local" -xzf "$work/$tarball"
  rm -rf "$work"
}

# runc $1 for Debian architecture $2, checked against SHA-256 $3, installed as $4/usr/local/sbin/runc.
install_runc() {
  local version=$1 arch=$2 sha256=$3 root=$4
  local binary="runc.${arch}" work
  work=$(mktemp -d)
  download_verified "https://github.com/opencontainers/runc/releases/download/v${version}/${binary}" \
    "$work/$binary" "$sha256"
  install -D -m 0755 "$work/$binary" "$root/usr/local/sbin/runc"
  rm -rf "$work"
}

main() {
  local containerd_version=${CONTAINERD_VERSION:?set CONTAINERD_VERSION}
  local runc_version=${RUNC_VERSION:?set RUNC_VERSION}
  local kubernetes_version=${KUBERNETES_VERSION:?set KUBERNETES_VERSION}
  local arch
  arch=$(dpkg --print-architecture)

  log "installing containerd ${containerd_version} (${arch})"
  install_containerd "$containerd_version" "$arch" "${CONTAINERD_SHA256:-}" /
  log "installing runc ${runc_version} (${arch})"
  install_runc "$runc_version" "$arch" "${RUNC_SHA256:-}" /

  install -D -m 0644 "$FILES/containerd.service" /usr/local/lib/systemd/system/containerd.service
  install -d -m 0755 /etc/containerd
  /usr/local/bin/containerd config default >"$CONFIG"
  containerd_config_enable_systemd_cgroup "$CONFIG"
  local pause_image
  pause_image=$(kubeadm config images list --kubernetes-version "v${kubernetes_version}" | grep -E '/pause:' | head -n 1)
  [[ -n $pause_image ]] || die "kubeadm ${kubernetes_version} names no pause image"
  containerd_config_set_sandbox_image "$CONFIG" "$pause_image"
  containerd_config_set_registry_config_path "$CONFIG" /etc/containerd/certs.d
  install -d -m 0755 /etc/containerd/certs.d

  systemctl daemon-reload
  systemctl enable --now containerd
  /usr/local/bin/containerd --version | grep -qF " v${containerd_version} " ||
    die "containerd reports '$(/usr/local/bin/containerd --version)', expected v${containerd_version}"
  /usr/local/sbin/runc --version | grep -qx "runc version ${runc_version}" ||
    die "runc reports '$(/usr/local/sbin/runc --version | head -n 1)', expected ${runc_version}"
  /usr/local/bin/containerd config dump | grep -qE '^[[:space:]]*SystemdCgroup = true$' ||
    die "containerd's effective config does not have SystemdCgroup = true"
  log "containerd ${containerd_version}, runc ${runc_version}, SystemdCgroup = true, sandbox ${pause_image}"
}

if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
  main "$@"
fi
