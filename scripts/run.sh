#!/usr/bin/env bash
# Installs what is missing, builds, starts a local Redis when none is
# configured, and runs the omnihub timeline service (gRPC 127.0.0.1:50051)
# with its three channel adapters: phone on http://127.0.0.1:8081, web on
# :8082, visits on :8083. Ctrl-C stops everything it started.
#
# The hub's gRPC port speaks TLS and checks bearer tokens: on the first run a
# development CA, the hub's certificate and a token per process are made in
# .omnihub/ (openssl), and every process is started with them. For
# omnihub-cli: `source .omnihub/cli.env` (printed at start).
#
#   scripts/run.sh                              # local Redis on 127.0.0.1:6379
#   OMNIHUB_REDIS_ADDRESS=redis:6379 scripts/run.sh   # use that Redis instead
#   scripts/run.sh --listen=0.0.0.0:50051        # extra flags go to the hub
#   OMNIHUB_WRITE_KEYS=k1=shop scripts/run.sh   # the web adapter's write keys
#   OMNIHUB_DURABILITY=fsync scripts/run.sh     # local Redis fsyncs every
#                               # write (appendfsync always), hub checks it
#   OMNIHUB_REDIS_MAXMEMORY=4gb scripts/run.sh  # local Redis's maxmemory
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh
cmake -S . -B build/release -DCMAKE_BUILD_TYPE=Release \
  -DOMNIHUB_BUILD_TESTS=OFF >/dev/null
cmake --build build/release -j"$(nproc)"

children=()
cleanup() {
  for pid in "${children[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT INT TERM

# The settings of deploy/redis.conf; OMNIHUB_DURABILITY=fsync makes Redis
# fsync every write before answering, and tells the hub to insist on it.
durability=${OMNIHUB_DURABILITY:-none}
appendfsync=everysec
[ "$durability" = fsync ] && appendfsync=always

if [ -z "${OMNIHUB_REDIS_ADDRESS:-}" ]; then
  port=${OMNIHUB_LOCAL_REDIS_PORT:-6379}
  if redis-cli -p "$port" ping >/dev/null 2>&1; then
    echo "using the Redis already answering on 127.0.0.1:$port"
  else
    mkdir -p .omnihub/redis
    echo "starting a local redis-server on 127.0.0.1:$port (data in .omnihub/redis)"
    redis-server --bind 127.0.0.1 --port "$port" --dir "$PWD/.omnihub/redis" \
      --appendonly yes --appendfsync "$appendfsync" --save "" \
      --maxmemory "${OMNIHUB_REDIS_MAXMEMORY:-1gb}" \
      --maxmemory-policy noeviction --hash-max-listpack-value 1024 \
      --logfile "$PWD/.omnihub/redis/redis.log" &
    children+=($!)
    for _ in $(seq 50); do
      redis-cli -p "$port" ping >/dev/null 2>&1 && break
      sleep 0.1
    done
  fi
  export OMNIHUB_REDIS_ADDRESS="127.0.0.1:$port"
fi

# Development credentials, made once and kept (delete .omnihub/tls and
# .omnihub/tokens to make new ones). Only the tokens' SHA-256 goes into the
# hub's token file; the tokens themselves are files readable by this user.
make_credentials() {
  local tls=.omnihub/tls tokens=.omnihub/tokens
  mkdir -p "$tls" "$tokens"
  chmod 700 "$tls" "$tokens"
  if [ ! -s "$tls/hub.pem" ]; then
    echo "making a development CA and the hub's certificate in $tls/"
    (
      umask 077
      openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
        -out "$tls/ca.key"
      openssl req -x509 -new -key "$tls/ca.key" -out "$tls/ca.pem" \
        -days 825 -subj "/CN=omnihub development CA"
      openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
        -out "$tls/hub.key"
      openssl req -new -key "$tls/hub.key" -out "$tls/hub.csr" \
        -subj "/CN=localhost"
      printf 'subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1\n' \
        > "$tls/hub.ext"
      openssl x509 -req -in "$tls/hub.csr" -CA "$tls/ca.pem" \
        -CAkey "$tls/ca.key" -CAcreateserial -days 825 \
        -extfile "$tls/hub.ext" -out "$tls/hub.pem" 2>/dev/null
    )
  fi
  if [ ! -s "$tokens/hub-tokens" ]; then
    echo "making development tokens in $tokens/"
    (
      umask 077
      # principal scopes
      printf '%s\n' \
        "phone-adapter ingest,ingest-verified" \
        "web-adapter ingest,ingest-verified" \
        "visit-adapter ingest,ingest-verified" \
        "cli ingest,read,link,privacy,admin" |
        while read -r principal scopes; do
          openssl rand -hex 32 > "$tokens/$principal.token"
          printf '%s %s %s\n' \
            "$(tr -d '\n' < "$tokens/$principal.token" | sha256sum | cut -c1-64)" \
            "$principal" "$scopes"
        done > "$tokens/hub-tokens"
    )
  fi
  cat > .omnihub/cli.env <<ENV
export OMNIHUB_TOKEN_FILE=$PWD/$tokens/cli.token
export OMNIHUB_TLS_CA_FILE=$PWD/$tls/ca.pem
ENV
}
make_credentials
tls=.omnihub/tls
tokens=.omnihub/tokens
to_hub=(--tls_ca_file="$tls/ca.pem")

bin=build/release/services
$bin/timeline/omnihub-timeline --durability="$durability" \
  --tls_cert_file="$tls/hub.pem" --tls_key_file="$tls/hub.key" \
  --auth_tokens_file="$tokens/hub-tokens" "$@" &
children+=($!)
$bin/phone_adapter/omnihub-phone-adapter "${to_hub[@]}" \
  --token_file="$tokens/phone-adapter.token" &
children+=($!)
$bin/web_adapter/omnihub-web-adapter "${to_hub[@]}" \
  --token_file="$tokens/web-adapter.token" \
  --write_keys="${OMNIHUB_WRITE_KEYS:-demo-key=demo}" \
  --allowed_origins="${OMNIHUB_ALLOWED_ORIGINS:-http://localhost:8000}" &
children+=($!)
$bin/visit_adapter/omnihub-visit-adapter "${to_hub[@]}" \
  --token_file="$tokens/visit-adapter.token" &
children+=($!)
cat <<HELP

omnihub is running; its gRPC port wants TLS and a token. For omnihub-cli:
  source .omnihub/cli.env   # OMNIHUB_TOKEN_FILE and OMNIHUB_TLS_CA_FILE
  build/release/services/cli/omnihub-cli customer --identity=email:ann@example.com
(or pass --token_file=$tokens/cli.token --tls_ca_file=$tls/ca.pem). The hub
re-reads $tokens/hub-tokens on SIGHUP.

HELP
# Whichever stops first (or Ctrl-C) stops the rest.
wait -n "${children[@]}"
