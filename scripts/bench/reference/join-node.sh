#!/bin/bash
# The hand-written alternative to `kboot join-node`, as users put it in EC2 user-data today:
# IMDSv2 with curl, the instance's tags from `aws ec2 describe-tags`, the cluster record from
# DynamoDB (consistent read) until it says `initialized`, the join material from Secrets Manager,
# parsed with jq, a JoinConfiguration written from a heredoc, then `kubeadm join --config`.
#
# It is the reference kboot is benchmarked against (scripts/bench/sections/aws-cli-join.ts), so it
# does the same look-ups kboot does, and no more: no kubeadm version check, no retries beyond
# the AWS CLI's own, no membership record. It keeps the token out of argv and logs.
#
# Needs: bash, curl, jq, the AWS CLI (v1 or v2; Debian: apt-get install curl jq awscli), kubeadm.
# Environment (all optional; the defaults are what a real instance uses):
#   AWS_EC2_METADATA_SERVICE_ENDPOINT  IMDS base URL (default http://169.254.169.254)
#   AWS_ENDPOINT_URL                   passed to the AWS CLI as --endpoint-url (emulators)
#   KBOOT_TABLE                        DynamoDB table holding the cluster records (default kboot)
#   KUBEADM                            the kubeadm to run (default kubeadm on PATH)
#   ROOT                               filesystem root the config file goes under (default /)
#   POLL_SECONDS                       delay between reads of the cluster record (default 5)
set -euo pipefail

IMDS="${AWS_EC2_METADATA_SERVICE_ENDPOINT:-http://169.254.169.254}"
IMDS="${IMDS%/}"
TABLE="${KBOOT_TABLE:-kboot}"
KUBEADM="${KUBEADM:-kubeadm}"
ROOT="${ROOT:-}"
export AWS_PAGER=""

fail() {
  echo "join-node.sh: $*" >&2
  exit 1
}

# --- identity: IMDSv2 --------------------------------------------------------------------------
IMDS_TOKEN="$(curl -sSf --max-time 2 --retry 3 -X PUT "$IMDS/latest/api/token" \
  -H 'X-aws-ec2-metadata-token-ttl-seconds: 300')" || fail "no IMDSv2 token from $IMDS"
metadata() {
  curl -sSf --max-time 2 --retry 3 -H "X-aws-ec2-metadata-token: $IMDS_TOKEN" "$IMDS/latest/meta-data/$1"
}
INSTANCE_ID="$(metadata instance-id)"
REGION="$(metadata placement/region)"
NODE_NAME="$(metadata local-hostname)"

aws_cli() {
  aws --region "$REGION" ${AWS_ENDPOINT_URL:+--endpoint-url "$AWS_ENDPOINT_URL"} "$@"
}

# --- tags: cluster name and role ---------------------------------------------------------------
TAGS="$(aws_cli ec2 describe-tags --filters "Name=resource-id,Values=$INSTANCE_ID" --output json)"
CLUSTER="$(jq -r '
  [.Tags[] | select(.Key == "KubernetesCluster" or .Key == "kboot.io:cluster" or .Key == "kboot.io/cluster") | .Value]
  + [.Tags[] | select(.Key | startswith("kubernetes.io/cluster/")) | .Key | ltrimstr("kubernetes.io/cluster/")]
  | unique | if length == 1 then .[0] else "" end' <<<"$TAGS")"
ROLE="$(jq -r '[.Tags[] | select(.Key == "kboot.io:role" or .Key == "kboot.io/role") | .Value][0] // ""' <<<"$TAGS")"
[[ -n "$CLUSTER" ]] || fail "instance $INSTANCE_ID has no (or more than one) cluster tag"
[[ "$ROLE" == worker || "$ROLE" == node ]] || fail "instance $INSTANCE_ID is tagged role '$ROLE', not worker"

# --- wait until the first control-plane node initialized the cluster ---------------------------
KEY="$(jq -cn --arg pk "cluster#$CLUSTER" '{pk: {S: $pk}, sk: {S: "meta"}}')"
until aws_cli dynamodb get-item --table-name "$TABLE" --key "$KEY" --consistent-read --output json |
  jq -e '.Item.initialized.M.at.S // empty' >/dev/null; do
  echo "join-node.sh: cluster $CLUSTER is not initialized yet; waiting" >&2
  sleep "${POLL_SECONDS:-5}"
done

# --- join material -----------------------------------------------------------------------------
JOIN="$(aws_cli secretsmanager get-secret-value --secret-id "kboot/$CLUSTER/join" \
  --version-stage AWSCURRENT --query SecretString --output text)"
API_ENDPOINT="$(jq -r '.apiEndpoint' <<<"$JOIN")"
TOKEN="$(jq -r '.token' <<<"$JOIN")"
CA_HASHES="$(jq -r '.caCertHashes[] | "      - " + .' <<<"$JOIN")"
unset JOIN
[[ -n "$API_ENDPOINT" && -n "$TOKEN" && -n "$CA_HASHES" ]] || fail "kboot/$CLUSTER/join is incomplete"

# --- kubeadm join --------------------------------------------------------------------------------
CONFIG="$ROOT/etc/kubernetes/kubeadm-join.yaml"
mkdir -p "$(dirname "$CONFIG")"
(
  umask 077
  cat >"$CONFIG" <<EOF
apiVersion: kubeadm.k8s.io/v1beta4
kind: JoinConfiguration
discovery:
  bootstrapToken:
    apiServerEndpoint: $API_ENDPOINT
    token: $TOKEN
    caCertHashes:
$CA_HASHES
nodeRegistration:
  name: $NODE_NAME
  kubeletExtraArgs:
    - name: cloud-provider
      value: external
EOF
)
unset TOKEN
trap 'rm -f "$CONFIG"' EXIT
"$KUBEADM" join --config "$CONFIG"
echo "join-node.sh: joined cluster $CLUSTER as $NODE_NAME" >&2
