#!/usr/bin/env bash
# Installs what is missing, builds, starts a local Redis when none is
# configured, and runs the omnihub timeline service (gRPC 127.0.0.1:50051)
# with its three channel adapters: phone on http://127.0.0.1:8081, web on
# :8082, visits on :8083. Ctrl-C stops everything it started.
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

bin=build/release/services
$bin/timeline/omnihub-timeline --durability="$durability" "$@" &
children+=($!)
$bin/phone_adapter/omnihub-phone-adapter &
children+=($!)
$bin/web_adapter/omnihub-web-adapter \
  --write_keys="${OMNIHUB_WRITE_KEYS:-demo-key=demo}" \
  --allowed_origins="${OMNIHUB_ALLOWED_ORIGINS:-http://localhost:8000}" &
children+=($!)
$bin/visit_adapter/omnihub-visit-adapter &
children+=($!)
# Whichever stops first (or Ctrl-C) stops the rest.
wait -n "${children[@]}"
