#!/usr/bin/env bash
# kboot AMI build, step 3: kubelet, kubeadm and kubectl at exactly KUBERNETES_VERSION, from the
# Kubernetes project's package repository for that minor version (pkgs.k8s.io), whose signing key
# must have the expected fingerprint. The packages are held so no apt upgrade moves them.
#
# Environment: KUBERNETES_VERSION (1.37.1), KUBERNETES_PACKAGE_REVISION (1.1),
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

main() {
  local version=${KUBERNETES_VERSION:?set KUBERNETES_VERSION, e.g. 1.37.1}
  local revision=${KUBERNETES_PACKAGE_REVISION:?set KUBERNETES_PACKAGE_REVISION, e.g. 1.1}
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

  local package_version="${version}-${revision}"
  log "installing kubelet, kubeadm and kubectl ${package_version}"
  "${APT[@]}" install --no-install-recommends \
    "kubelet=${package_version}" "kubeadm=${package_version}" "kubectl=${package_version}"
  # kubeadm's own dependencies (cri-tools, kubernetes-cni) are held too: the AMI is what was tested.
  local -a held=(kubelet kubeadm kubectl)
  local package
  for package in cri-tools kubernetes-cni; do
    if dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed'; then
      held+=("$package")
    fi
  done
  apt-mark hold "${held[@]}"

  [[ $(kubeadm version -o short) == "v${version}" ]] || die "kubeadm reports $(kubeadm version -o short), expected v${version}"
  [[ $(kubelet --version) == "Kubernetes v${version}" ]] || die "kubelet reports $(kubelet --version), expected v${version}"
  kubectl version --client | grep -qx "Client Version: v${version}" || die "kubectl is not v${version}"

  install -D -m 0644 "$FILES/crictl.yaml" /etc/crictl.yaml
  # kubeadm starts the kubelet; until then it restarts every few seconds, as kubeadm expects.
  systemctl enable kubelet
}

main "$@"
