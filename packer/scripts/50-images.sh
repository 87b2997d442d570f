#!/usr/bin/env bash
# kboot AMI build, step 5: pull the images kubeadm needs for KUBERNETES_VERSION (kube-apiserver,
# controller-manager, scheduler, kube-proxy, etcd, CoreDNS, pause) into containerd, so `kubeadm
# init` and `join` do not download them at boot. Skipped when PREPULL_IMAGES is not true.
#
# Environment: PREPULL_IMAGES (true|false), KUBERNETES_VERSION.
set -euo pipefail

log() { printf '[kboot-ami] %s: %s\n' "${0##*/}" "$*" >&2; }
die() {
  log "error: $*"
  exit 1
}

readonly ATTEMPTS=3

main() {
  if [[ ${PREPULL_IMAGES:-true} != true ]]; then
    log "PREPULL_IMAGES=${PREPULL_IMAGES:-}: not pulling images"
    return 0
  fi
  local version=${KUBERNETES_VERSION:?set KUBERNETES_VERSION}
  local attempt
  for ((attempt = 1; attempt <= ATTEMPTS; attempt++)); do
    log "pulling the images of Kubernetes v${version} (attempt ${attempt} of ${ATTEMPTS})"
    if timeout 15m kubeadm config images pull --kubernetes-version "v${version}" \
      --cri-socket unix:///run/containerd/containerd.sock; then
      crictl images >&2
      return 0
    fi
    sleep $((attempt * 10))
  done
  die "could not pull the images of Kubernetes v${version} after ${ATTEMPTS} attempts"
}

main "$@"
