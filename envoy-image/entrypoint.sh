#!/usr/bin/env bash
# MarchProxy's Envoy entrypoint: register this proxy through the API, attach the XDP program when
# XDP_INTERFACE is set, render the bootstrap (ADS to xds-service) and exec Envoy.
#
#   entrypoint.sh [extra envoy arguments...]   run (the image's default)
#   entrypoint.sh render                       register if needed, print the bootstrap, exit
#
# Every setting is an environment variable; docs/envoy-image.md lists them. The cluster key is a
# secret: it is sent to the API and to xds-service, never printed.
set -euo pipefail

PROG="marchproxy-envoy"

log() { echo "$PROG: $*" >&2; }
die() {
  log "$*"
  exit 1
}

: "${MARCHPROXY_API_URL:=http://functions:8000}"
: "${MARCHPROXY_CLUSTER:=}"
: "${MARCHPROXY_CLUSTER_KEY:=}"
: "${MARCHPROXY_NODE_ID:=}"
: "${MARCHPROXY_PROXY_NAME:=${HOSTNAME:-$(cat /proc/sys/kernel/hostname 2>/dev/null || echo envoy)}}"
: "${MARCHPROXY_REGION:=local}"
: "${MARCHPROXY_ZONE:=local-a}"
: "${MARCHPROXY_VERSION:=dev}"
: "${MARCHPROXY_REGISTER_ATTEMPTS:=30}"
: "${MARCHPROXY_XDS_HOST:=xds-service}"
: "${MARCHPROXY_XDS_PORT:=18000}"
: "${MARCHPROXY_XDS_TLS:=false}"
: "${MARCHPROXY_XDS_CA_FILE:=/etc/ssl/certs/ca-certificates.crt}"
: "${MARCHPROXY_XDS_CERT_FILE:=}"
: "${MARCHPROXY_XDS_KEY_FILE:=}"
: "${MARCHPROXY_ADMIN_ADDRESS:=0.0.0.0}"
: "${MARCHPROXY_ADMIN_PORT:=9901}"
: "${MARCHPROXY_BOOTSTRAP_TEMPLATE:=/etc/envoy/bootstrap.json.tmpl}"
: "${MARCHPROXY_XDS_TLS_TEMPLATE:=/etc/envoy/xds-tls.json.tmpl}"
: "${MARCHPROXY_BOOTSTRAP_PATH:=/etc/envoy/bootstrap.json}"
: "${MARCHPROXY_ENVOY_BIN:=envoy}"
: "${ENVOY_LOG_LEVEL:=info}"
: "${XDP_INTERFACE:=}"
: "${XDP_MODE:=native}"
: "${XDP_OPTIONS:=}"
: "${XDP_CLASSPATH:=/opt/marchproxy/xdp/xdp.jar}"
: "${JAVA:=java}"

# Values that end up inside JSON strings: a narrow character set keeps them from breaking out.
require_name() {
  local field="$1" value="$2"
  [[ -n "$value" ]] || die "$field is required"
  [[ "$value" =~ ^[A-Za-z0-9._:-]{1,128}$ ]] || die "$field must be 1-128 characters of [A-Za-z0-9._:-]"
}

require_port() {
  local field="$1" value="$2"
  if ! [[ "$value" =~ ^[0-9]{1,5}$ ]] || ((value < 1 || value > 65535)); then
    die "$field must be a port number"
  fi
}

json_string() {
  local value="$1"
  [[ "$value" != *[[:cntrl:]]* ]] || die "a setting contains control characters"
  value="${value//\\/\\\\}"
  value="${value//\"/\\\"}"
  printf '"%s"' "$value"
}

# POST /api/v1/proxies/register with the cluster key; prints the proxy id. Retries while the API
# is starting (connection refused, 5xx); gives up at once when the key is refused.
register() {
  local body attempt status response
  body="{\"name\":$(json_string "$MARCHPROXY_PROXY_NAME"),\"kind\":\"envoy\""
  body+=",\"hostname\":$(json_string "${HOSTNAME:-$MARCHPROXY_PROXY_NAME}")"
  body+=",\"region\":$(json_string "$MARCHPROXY_REGION"),\"zone\":$(json_string "$MARCHPROXY_ZONE")"
  body+=",\"version\":$(json_string "$MARCHPROXY_VERSION")}"
  response="$(mktemp)"
  for ((attempt = 1; attempt <= MARCHPROXY_REGISTER_ATTEMPTS; attempt++)); do
    status="$(curl -sS -o "$response" -w '%{http_code}' --max-time 10 \
      -X POST "${MARCHPROXY_API_URL%/}/api/v1/proxies/register" \
      -H "X-Cluster-Key: $MARCHPROXY_CLUSTER_KEY" \
      -H 'Content-Type: application/json' -H 'Accept: application/json' \
      --data-binary "$body" 2>/dev/null)" || status="000"
    case "$status" in
      200 | 201)
        local id
        id="$(tr -d '\n' <"$response" | sed -n 's/.*"id"[[:space:]]*:[[:space:]]*"\{0,1\}\([A-Za-z0-9._:-]*\).*/\1/p')"
        rm -f "$response"
        [[ -n "$id" ]] || die "the API accepted the registration but returned no id"
        echo "$id"
        return 0
        ;;
      400 | 401 | 403 | 404 | 409 | 422)
        log "registration refused with HTTP $status: $(head -c 500 "$response")"
        rm -f "$response"
        exit 1
        ;;
    esac
    log "registration attempt $attempt/$MARCHPROXY_REGISTER_ATTEMPTS: HTTP $status from $MARCHPROXY_API_URL; retrying"
    sleep "$((attempt < 5 ? attempt : 5))"
  done
  rm -f "$response"
  die "could not register with $MARCHPROXY_API_URL"
}

attach_xdp() {
  [[ -n "$XDP_INTERFACE" ]] || return 0
  [[ "$XDP_INTERFACE" =~ ^[A-Za-z0-9._-]{1,15}$ ]] || die "XDP_INTERFACE is not an interface name"
  local options=()
  read -r -a options <<<"$XDP_OPTIONS"
  log "attaching XDP to $XDP_INTERFACE ($XDP_MODE)"
  "$JAVA" --enable-native-access=ALL-UNNAMED -cp "$XDP_CLASSPATH" io.marchproxy.xdp.cli.XdpCli \
    attach "$XDP_INTERFACE" --mode "$XDP_MODE" "${options[@]}" >&2 ||
    die "XDP attach on $XDP_INTERFACE failed (unset XDP_INTERFACE to run without it)"
}

substitute() {
  local text="$1" name
  shift
  for name in "$@"; do
    text="${text//"\${$name}"/"${!name}"}"
  done
  printf '%s' "$text"
}

render() {
  [[ -r "$MARCHPROXY_BOOTSTRAP_TEMPLATE" ]] || die "no bootstrap template at $MARCHPROXY_BOOTSTRAP_TEMPLATE"
  # Both are read by name in substitute; "null" leaves the transport socket unset (plaintext).
  # shellcheck disable=SC2034
  local MARCHPROXY_XDS_TRANSPORT_SOCKET="null" MARCHPROXY_XDS_CLIENT_CERTIFICATE=""
  case "$MARCHPROXY_XDS_TLS" in
    true | 1 | yes)
      [[ -r "$MARCHPROXY_XDS_TLS_TEMPLATE" ]] || die "no TLS template at $MARCHPROXY_XDS_TLS_TEMPLATE"
      if [[ -n "$MARCHPROXY_XDS_CERT_FILE" || -n "$MARCHPROXY_XDS_KEY_FILE" ]]; then
        [[ -n "$MARCHPROXY_XDS_CERT_FILE" && -n "$MARCHPROXY_XDS_KEY_FILE" ]] ||
          die "set both MARCHPROXY_XDS_CERT_FILE and MARCHPROXY_XDS_KEY_FILE for mutual TLS"
        # shellcheck disable=SC2034
        MARCHPROXY_XDS_CLIENT_CERTIFICATE=",\"tls_certificates\":[{\"certificate_chain\":{\"filename\":$(json_string "$MARCHPROXY_XDS_CERT_FILE")},\"private_key\":{\"filename\":$(json_string "$MARCHPROXY_XDS_KEY_FILE")}}]"
      fi
      local ca_file
      ca_file="$(json_string "$MARCHPROXY_XDS_CA_FILE")"
      ca_file="${ca_file:1:${#ca_file}-2}"
      # shellcheck disable=SC2034
      MARCHPROXY_XDS_TRANSPORT_SOCKET="$(MARCHPROXY_XDS_CA_FILE="$ca_file" \
        substitute "$(<"$MARCHPROXY_XDS_TLS_TEMPLATE")" MARCHPROXY_XDS_HOST MARCHPROXY_XDS_CA_FILE \
        MARCHPROXY_XDS_CLIENT_CERTIFICATE)"
      ;;
    false | 0 | no | "") ;;
    *) die "MARCHPROXY_XDS_TLS must be true or false" ;;
  esac
  local key
  key="$(json_string "$MARCHPROXY_CLUSTER_KEY")"
  MARCHPROXY_CLUSTER_KEY="${key:1:${#key}-2}" substitute "$(<"$MARCHPROXY_BOOTSTRAP_TEMPLATE")" \
    MARCHPROXY_NODE_ID MARCHPROXY_CLUSTER MARCHPROXY_REGION MARCHPROXY_ZONE MARCHPROXY_PROXY_NAME \
    MARCHPROXY_VERSION MARCHPROXY_CLUSTER_KEY MARCHPROXY_XDS_HOST MARCHPROXY_XDS_PORT \
    MARCHPROXY_XDS_TRANSPORT_SOCKET MARCHPROXY_ADMIN_ADDRESS MARCHPROXY_ADMIN_PORT
  echo
}

check_settings() {
  require_name MARCHPROXY_CLUSTER "$MARCHPROXY_CLUSTER"
  [[ -n "$MARCHPROXY_CLUSTER_KEY" ]] || die "MARCHPROXY_CLUSTER_KEY is required (the cluster's API key)"
  require_name MARCHPROXY_PROXY_NAME "$MARCHPROXY_PROXY_NAME"
  require_name MARCHPROXY_REGION "$MARCHPROXY_REGION"
  require_name MARCHPROXY_ZONE "$MARCHPROXY_ZONE"
  require_name MARCHPROXY_VERSION "$MARCHPROXY_VERSION"
  require_name MARCHPROXY_XDS_HOST "$MARCHPROXY_XDS_HOST"
  require_port MARCHPROXY_XDS_PORT "$MARCHPROXY_XDS_PORT"
  require_port MARCHPROXY_ADMIN_PORT "$MARCHPROXY_ADMIN_PORT"
  [[ "$MARCHPROXY_ADMIN_ADDRESS" =~ ^[0-9A-Fa-f.:]{2,45}$ ]] || die "MARCHPROXY_ADMIN_ADDRESS must be an IP address"
  [[ "$MARCHPROXY_REGISTER_ATTEMPTS" =~ ^[0-9]{1,4}$ ]] || die "MARCHPROXY_REGISTER_ATTEMPTS must be a number"
}

node_id() {
  if [[ -z "$MARCHPROXY_NODE_ID" ]]; then
    MARCHPROXY_NODE_ID="$(register)"
    log "registered as proxy $MARCHPROXY_NODE_ID in cluster $MARCHPROXY_CLUSTER"
  fi
  require_name MARCHPROXY_NODE_ID "$MARCHPROXY_NODE_ID"
}

main() {
  check_settings
  if [[ "${1:-}" == "render" ]]; then
    node_id
    render
    return 0
  fi
  node_id
  attach_xdp
  render >"$MARCHPROXY_BOOTSTRAP_PATH"
  chmod 600 "$MARCHPROXY_BOOTSTRAP_PATH"
  log "starting Envoy (node $MARCHPROXY_NODE_ID, ADS at $MARCHPROXY_XDS_HOST:$MARCHPROXY_XDS_PORT)"
  exec "$MARCHPROXY_ENVOY_BIN" -c "$MARCHPROXY_BOOTSTRAP_PATH" --log-level "$ENVOY_LOG_LEVEL" "$@"
}

main "$@"
