#!/bin/sh
# Writes the cluster API key from AWS Secrets Manager to /etc/marchproxy/cluster-key (0400,
# readable by the marchproxy user only). Needs MARCHPROXY_CLUSTER_KEY_SECRET_ARN and AWS_REGION
# (from /etc/marchproxy/l4.env) and an instance role allowed secretsmanager:GetSecretValue on it.
set -eu
: "${MARCHPROXY_CLUSTER_KEY_SECRET_ARN:?set in /etc/marchproxy/l4.env}"
: "${AWS_REGION:?set in /etc/marchproxy/l4.env}"
tmp="$(mktemp /etc/marchproxy/.cluster-key.XXXXXX)"
trap 'rm -f "$tmp"' EXIT
aws secretsmanager get-secret-value --region "$AWS_REGION" \
  --secret-id "$MARCHPROXY_CLUSTER_KEY_SECRET_ARN" --query SecretString --output text >"$tmp"
[ -s "$tmp" ] || { echo "fetch-cluster-key: the secret is empty" >&2; exit 1; }
chown marchproxy:marchproxy "$tmp"
chmod 0400 "$tmp"
mv -f "$tmp" /etc/marchproxy/cluster-key
trap - EXIT

# The instance's zone and id (IMDSv2): the proxy reports them and registers under the id.
token="$(curl -fsS -X PUT http://169.254.169.254/latest/api/token -H 'X-aws-ec2-metadata-token-ttl-seconds: 60')"
imds() { curl -fsS -H "X-aws-ec2-metadata-token: $token" "http://169.254.169.254/latest/meta-data/$1"; }
{
  echo "MARCHPROXY_ZONE=$(imds placement/availability-zone)"
  echo "MARCHPROXY_PROXY_NAME=$(imds instance-id)"
} >/etc/marchproxy/instance.env
