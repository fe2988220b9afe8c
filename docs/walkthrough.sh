#!/usr/bin/env bash
# A walk through the MarchProxy API with curl: sign in, create a cluster, a service, a route, an L4
# mapping, register a proxy, and look at the revisions this produced.
#
#   ADMIN_PASSWORD=... ./docs/walkthrough.sh            # against http://localhost:8000
#   API=http://host:8000 ADMIN_PASSWORD=... ./docs/walkthrough.sh
set -euo pipefail

API="${API:-http://localhost:8000}"
: "${ADMIN_PASSWORD:?set ADMIN_PASSWORD to the admin password ./marchproxy up printed}"
NAME="${CLUSTER_NAME:-demo}"
command -v jq >/dev/null || { echo "walkthrough: needs jq (apt-get install jq)" >&2; exit 2; }

step() { printf '\n== %s\n' "$*"; }
# call METHOD PATH [JSON]: prints the response body, fails with the problem document on errors.
call() {
  local method="$1" path="$2" body="${3:-}" out status
  out="$(mktemp)"
  status="$(curl -sS -o "$out" -w '%{http_code}' -X "$method" "$API$path" \
    -H "Authorization: Bearer ${TOKEN:-}" -H "${EXTRA_HEADER:-X-Walkthrough: 1}" \
    -H 'Content-Type: application/json' ${body:+--data "$body"})"
  if ((status >= 400)); then
    echo "walkthrough: $method $path -> $status" >&2
    cat "$out" >&2
    echo >&2
    rm -f "$out"
    exit 1
  fi
  cat "$out"
  rm -f "$out"
}

step "Sign in as admin"
TOKEN="$(call POST /api/v1/auth/login "{\"username\":\"admin\",\"password\":\"$ADMIN_PASSWORD\"}" | jq -r .accessToken)"
echo "access token: ${TOKEN:0:16}..."

step "Create cluster $NAME"
CLUSTER="$(call POST /api/v1/clusters "{\"name\":\"$NAME\",\"description\":\"walkthrough\"}" | jq -r .id)"
echo "cluster id: $CLUSTER"

step "Create an HTTP service with two endpoints in two zones"
call POST "/api/v1/clusters/$CLUSTER/services" '{
  "name": "web", "protocol": "http", "lbPolicy": "least_request",
  "endpoints": [
    {"host": "10.0.1.10", "port": 8080, "region": "eu-west-1", "zone": "eu-west-1a"},
    {"host": "10.0.2.10", "port": 8080, "region": "eu-west-1", "zone": "eu-west-1b"}],
  "healthCheck": {"type": "http", "path": "/healthz", "intervalMs": 5000}
}' | jq -c '.service | {id, name, protocol, lbPolicy}'

step "Route www.example.com/ to it"
call POST "/api/v1/clusters/$CLUSTER/routes" '{
  "name": "www", "hosts": ["www.example.com"], "match": {"pathPrefix": "/"},
  "backends": [{"service": "web", "weight": 100}], "timeoutMs": 15000,
  "retries": {"attempts": 2, "on": ["5xx", "connect-failure"]}
}' | jq -c '{id, name, hosts}'

step "Map TCP port 15432 on the L4 proxies to a Postgres service, from 10.0.0.0/8 only"
call POST "/api/v1/clusters/$CLUSTER/services" \
  '{"name": "pg", "protocol": "tcp", "endpoints": [{"host": "10.0.3.5", "port": 5432}]}' | jq -c '.service | {id, name}'
call POST "/api/v1/clusters/$CLUSTER/mappings" '{
  "name": "pg", "protocol": "tcp", "listenPort": 15432, "service": "pg",
  "allowedSources": {"cidrs": ["10.0.0.0/8"]},
  "perSourceLimits": {"connectionsPerSecond": 20, "maxConnections": 50}
}' | jq -c '{id, name, protocol, listenPort}'

step "Create a cluster API key for the proxies (shown once)"
KEY="$(call POST "/api/v1/clusters/$CLUSTER/keys" '{"name": "fleet"}' | jq -r .key)"
echo "cluster key: ${KEY:0:12}..."

step "Register a proxy with that key"
PROXY="$(TOKEN="" EXTRA_HEADER="X-Cluster-Key: $KEY" call POST /api/v1/proxies/register \
  '{"name": "edge-1", "kind": "l4", "hostname": "edge-1.internal", "region": "eu-west-1", "zone": "eu-west-1a", "version": "0.1.0"}')"
echo "$PROXY" | jq -c '{id, name, kind, status}'

step "The revisions these changes made (newest first)"
call GET "/api/v1/clusters/$CLUSTER/revisions" | jq -r '.items[] | "revision \(.revision)  \(.contentHash[0:12])  \(.reason)"'

step "What changed between revision 1 and now"
LATEST="$(call GET "/api/v1/clusters/$CLUSTER/revisions?limit=1" | jq -r '.items[0].revision')"
call GET "/api/v1/clusters/$CLUSTER/revisions/1/diff/$LATEST" | jq -c .changes

step "Done"
echo "cluster $NAME is at revision $LATEST"
