#!/usr/bin/env bash
# kboot AMI build, step 8: the image manifest, /usr/share/kboot/image-manifest.json: every Debian
# package (name, version, architecture, SHA-256 of its .deb as the archive's Packages index lists
# it), every binary installed outside dpkg (path, version, SHA-256) and every container image
# pulled (reference, digest). Runs before 90-cleanup.sh removes the apt lists it reads. The
# template downloads it beside packer-manifest.json (build/image-manifest-<arch>.json).
#
# Environment: DESTDIR (write under this root; the package and image queries still ask the
#              running system), KBOOT_VERSION, KUBERNETES_VERSION, CONTAINERD_VERSION, RUNC_VERSION.
set -euo pipefail

log() { printf '[kboot-ami] %s: %s\n' "${0##*/}" "$*" >&2; }
die() {
  log "error: $*"
  exit 1
}

readonly DESTDIR="${DESTDIR:-}"
readonly MANIFEST=/usr/share/kboot/image-manifest.json
# Binaries that come from GitHub releases or the kboot build, not from a Debian package.
readonly -a BINARIES=(/usr/local/bin/kboot /usr/local/bin/containerd /usr/local/bin/containerd-shim-runc-v2
  /usr/local/bin/ctr /usr/local/sbin/runc /usr/bin/kubelet /usr/bin/kubeadm /usr/bin/kubectl /usr/bin/crictl)

# JSON string of $1 (escapes backslash, quote and control characters).
json_string() {
  local text=$1
  text=${text//\\/\\\\}
  text=${text//\"/\\\"}
  text=${text//$'\n'/\\n}
  text=${text//$'\t'/\\t}
  printf '"%s"' "$text"
}

# One JSON object per installed package, comma-separated; the .deb's SHA-256 from apt's lists
# (one apt-cache call for all of them; null for a package no configured archive lists).
packages_json() {
  local installed sums
  installed=$(dpkg-query -W -f='${Package}\t${Version}\t${Architecture}\n' | LC_ALL=C sort)
  sums=$(awk -F'\t' '{ print $1 "=" $2 }' <<<"$installed" | xargs -r apt-cache show 2>/dev/null |
    awk '/^Package:/ { p = $2 } /^Version:/ { v = $2 } /^SHA256:/ { print p "\t" v "\t" $2 }') || true
  awk -F'\t' -v sums="$sums" '
    BEGIN {
      n = split(sums, lines, "\n")
      for (i = 1; i <= n; i++) { split(lines[i], f, "\t"); if (!((f[1] "\t" f[2]) in sha)) sha[f[1] "\t" f[2]] = f[3] }
    }
    function q(s) { gsub(/\\/, "\\\\", s); gsub(/"/, "\\\"", s); return "\"" s "\"" }
    {
      key = $1 "\t" $2
      printf "%s    {\"name\": %s, \"version\": %s, \"architecture\": %s, \"debSha256\": %s}", (NR > 1 ? ",\n" : ""), q($1), q($2), q($3), ((key in sha) ? q(sha[key]) : "null")
    }' <<<"$installed"
}

# The first line a binary prints about its version.
binary_version() {
  local path=$1
  case ${path##*/} in
    kubelet | kboot) "$path" --version ;;
    kubeadm) "$path" version -o short ;;
    kubectl) "$path" version --client ;;
    crictl | runc | containerd | ctr) "$path" --version ;;
    containerd-shim-runc-v2) "$path" -v ;;
    *) echo unknown ;;
  esac 2>/dev/null | head -n 1
}

binaries_json() {
  local first=1 path
  for path in "$@"; do
    ((first)) || printf ',\n'
    first=0
    printf '    {"path": %s, "version": %s, "sha256": %s}' "$(json_string "$path")" \
      "$(json_string "$(binary_version "$DESTDIR$path")")" \
      "$(json_string "$(sha256sum "$DESTDIR$path" | awk '{ print $1 }')")"
  done
}

images_json() {
  command -v crictl >/dev/null || return 0
  local first=1 reference digest
  while read -r reference digest; do
    ((first)) || printf ',\n'
    first=0
    printf '    {"reference": %s, "digest": %s}' "$(json_string "$reference")" "$(json_string "$digest")"
  done < <(crictl images --digests -o json 2>/dev/null |
    python3 -c 'import json,sys
for image in json.load(sys.stdin).get("images", []):
    for tag in image.get("repoTags") or []:
        print(tag, (image.get("repoDigests") or [""])[0])' | LC_ALL=C sort)
}

main() {
  log "writing the image manifest"
  local binary
  for binary in "${BINARIES[@]}"; do
    [[ -x $DESTDIR$binary ]] || die "$binary is missing: the manifest lists every binary the build installs"
  done
  install -d -m 0755 "$DESTDIR${MANIFEST%/*}"
  {
    printf '{\n  "schemaVersion": 1,\n'
    printf '  "versions": {"kboot": %s, "kubernetes": %s, "containerd": %s, "runc": %s, "kernel": %s},\n' \
      "$(json_string "${KBOOT_VERSION:-}")" "$(json_string "${KUBERNETES_VERSION:-}")" \
      "$(json_string "${CONTAINERD_VERSION:-}")" "$(json_string "${RUNC_VERSION:-}")" \
      "$(json_string "$(find "$DESTDIR/boot" -maxdepth 1 -name 'vmlinuz-*' -printf '%f\n' 2>/dev/null | LC_ALL=C sort -V | tail -n 1)")"
    printf '  "binaries": [\n%s\n  ],\n' "$(binaries_json "${BINARIES[@]}")"
    printf '  "packages": [\n%s\n  ],\n' "$(packages_json)"
    printf '  "images": [\n%s\n  ]\n}\n' "$(images_json)"
  } >"$DESTDIR$MANIFEST.tmp"
  python3 -m json.tool "$DESTDIR$MANIFEST.tmp" >/dev/null || die "the manifest is not valid JSON"
  chmod 0644 "$DESTDIR$MANIFEST.tmp"
  mv "$DESTDIR$MANIFEST.tmp" "$DESTDIR$MANIFEST"
  log "$(grep -c '"name":' "$DESTDIR$MANIFEST") packages, ${#BINARIES[@]} binaries in $MANIFEST"
}

if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
  main "$@"
fi
