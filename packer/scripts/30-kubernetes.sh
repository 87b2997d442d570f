#!/usr/bin/env bash
# kboot AMI build, step 3: kubelet, kubeadm and kubectl at exactly KUBERNETES_VERSION, cri-tools
# (crictl) and kubernetes-cni (the CNI plugins) at exactly the versions pinned for that minor, all
# from the Kubernetes project's package repository for the minor (pkgs.k8s.io), whose signing key
# must have the expected fingerprint. Every package is installed as package=version (kubeadm no
# longer pulls cri-tools in since 1.32), checked after the install and held so no apt upgrade
# moves it.
#
# Environment: KUBERNETES_VERSION (1.37.1), KUBERNETES_PACKAGE_REVISION (1.1),
#              CRI_TOOLS_VERSION (1.37.0-1.1), KUBERNETES_CNI_VERSION (1.9.1-1.1),
#              KUBERNETES_APT_KEY_FINGERPRINT, KBOOT_BUILD_DIR.
set -euo pipefail

log() { printf '[kboot-ami] %s: %s\n' "${0##*/}" "$*" >&2; }
die() {
  log "error: $*"
  exit 1
}

readonly FILES="${KBOOT_BUILD_DIR:-/tmp/kboot-build}/files"
readonly KEYRING=/etc/apt/keyrings/kubernetes-apt-keyring.gpg
export DEBIAN_FRONTEND=noninteractive
readonly -a APT=(apt-get -y -q
  -o Acquire::Retries=5 -o Acquire::http::Timeout=30 -o Acquire::https::Timeout=30
  -o DPkg::Lock::Timeout=300
  -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold)
readonly -a CURL=(curl --fail --silent --show-error --location
  --connect-timeout 10 --max-time 120 --retry 5 --retry-delay 2 --retry-all-errors)

# Prints the fingerprint of the primary key in an OpenPGP key file.
primary_key_fingerprint() {
  gpg --batch --show-keys --with-colons "$1" | awk -F: '$1 == "fpr" { print $10; exit }'
}

# A Debian version as apt-get install name=VERSION takes it exactly: no wildcard, no range.
exact_debian_version() {
  [[ $1 =~ ^[0-9][0-9A-Za-z.+~-]*$ ]]
}

# Prints the packages to install, one `name=version` a line, each pinned to an exact version:
# kubelet, kubeadm and kubectl at $1-$2, cri-tools at $3, kubernetes-cni at $4.
pinned_packages() {
  local version=$1 revision=$2 cri_tools=$3 kubernetes_cni=$4
  local -a pins=("kubelet=${version}-${revision}" "kubeadm=${version}-${revision}"
    "kubectl=${version}-${revision}" "cri-tools=${cri_tools}" "kubernetes-cni=${kubernetes_cni}")
  local pin
  for pin in "${pins[@]}"; do
    exact_debian_version "${pin#*=}" || die "${pin%%=*} is not pinned to an exact version: '${pin#*=}'"
  done
  printf '%s\n' "${pins[@]}"
}

# Checks that each `name=version` given is installed at exactly that version.
check_installed_versions() {
  local pin name expected installed
  for pin in "$@"; do
    name=${pin%%=*} expected=${pin#*=}
    installed=$(dpkg-query -W -f='${Version}' "$name" 2>/dev/null) || installed=''
    [[ $installed == "$expected" ]] || die "$name is ${installed:-not installed}, expected $expected"
  done
}

main() {
  local version=${KUBERNETES_VERSION:?set KUBERNETES_VERSION, e.g. 1.37.1}
  local revision=${KUBERNETES_PACKAGE_REVISION:?set KUBERNETES_PACKAGE_REVISION, e.g. 1.1}
  local cri_tools=${CRI_TOOLS_VERSION:?set CRI_TOOLS_VERSION, e.g. 1.37.0-1.1}
  local kubernetes_cni=${KUBERNETES_CNI_VERSION:?set KUBERNETES_CNI_VERSION, e.g. 1.9.1-1.1}
  local -a packages
  mapfile -t packages < <(pinned_packages "$version" "$revision" "$cri_tools" "$kubernetes_cni")
  ((${#packages[@]} == 5)) || die "could not pin the Kubernetes packages"
  local expected_fingerprint=${KUBERNETES_APT_KEY_FINGERPRINT:?set KUBERNETES_APT_KEY_FINGERPRINT}
  local minor=${version%.*}
  local repository="https://pkgs.k8s.io/core:/stable:/v${minor}/deb/"

  log "adding the Kubernetes v${minor} package repository"
  local key
  key=$(mktemp)
  "${CURL[@]}" -o "$key" "${repository}Release.key"
  local fingerprint
  fingerprint=$(primary_key_fingerprint "$key")
  [[ $fingerprint == "$expected_fingerprint" ]] ||
    die "${repository}Release.key has fingerprint ${fingerprint:-none}, expected $expected_fingerprint (check the key's announcement on kubernetes.io and set kubernetes_apt_key_fingerprint)"
  install -d -m 0755 /etc/apt/keyrings
  gpg --batch --yes --dearmor -o "$KEYRING" "$key"
  chmod 0644 "$KEYRING"
  rm -f "$key"
  printf 'deb [signed-by=%s] %s /\n' "$KEYRING" "$repository" >/etc/apt/sources.list.d/kubernetes.list
  "${APT[@]}" update

  log "installing ${packages[*]}"
  "${APT[@]}" install --no-install-recommends "${packages[@]}"
  check_installed_versions "${packages[@]}"
  apt-mark hold "${packages[@]%%=*}"

  [[ $(kubeadm version -o short) == "v${version}" ]] || die "kubeadm reports $(kubeadm version -o short), expected v${version}"
  [[ $(kubelet --version) == "Kubernetes v${version}" ]] || die "kubelet reports $(kubelet --version), expected v${version}"
  kubectl version --client | grep -qx "Client Version: v${version}" || die "kubectl is not v${version}"

  install -D -m 0644 "$FILES/crictl.yaml" /etc/crictl.yaml
  # kubeadm starts the kubelet; until then it restarts every few seconds, as kubeadm expects.
  systemctl enable kubelet
}

if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
  main "$@"
fi
