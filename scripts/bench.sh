#!/usr/bin/env bash
# Builds in Release, starts a private redis-server, the hub and the web
# adapter on free loopback ports, runs every benchmark beside its ceiling
# (Redis alone through the service's own store code; an empty gRPC handler;
# the web adapter with fsync off), and prints one table. Not part of the
# test suite's pass/fail; tests/bench/loadgen_smoke_test keeps it working.
#
#   scripts/bench.sh              # ~3 minutes on 2 cores
#   BENCH_SECONDS=30 BENCH_MEMORY_EVENTS=1000000 scripts/bench.sh
#   scripts/bench.sh --smoke      # one second each, to see that it runs
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${BENCH_SECONDS:-10}
memory_events=${BENCH_MEMORY_EVENTS:-200000}
memory_customers=${BENCH_MEMORY_CUSTOMERS:-20000}
if [ "${1:-}" = "--smoke" ]; then
  seconds=1 memory_events=2000 memory_customers=200
fi

scripts/install-deps.sh
command -v wrk >/dev/null || { echo "wrk is missing (apt-get install wrk)"; exit 1; }
build=build/bench
cmake -S . -B $build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build $build -j"$(nproc)" --target omnihub-timeline omnihub-loadgen \
  omnihub-web-adapter

work=$(mktemp -d)
children=()
cleanup() {
  for pid in "${children[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT INT TERM

free_port() {
  local port
  while :; do
    port=$((20000 + RANDOM % 30000))
    (echo >/dev/tcp/127.0.0.1/$port) 2>/dev/null || { echo $port; return; }
  done
}
wait_for_port() {
  for _ in $(seq 100); do
    (echo >/dev/tcp/127.0.0.1/"$1") 2>/dev/null && return 0
    sleep 0.1
  done
  echo "nothing listens on $1"; exit 1
}

redis_port=$(free_port)
# The settings of deploy/redis.conf that change speed or memory; persistence
# off, so the figures are the store's and not the disk's.
redis-server --bind 127.0.0.1 --port "$redis_port" --save "" \
  --appendonly no --dir "$work" --logfile "$work/redis.log" \
  --hash-max-listpack-value 1024 &
children+=($!)
wait_for_port "$redis_port"
hub_port=$(free_port)
$build/services/timeline/omnihub-timeline --listen=127.0.0.1:$hub_port \
  --metrics_listen=127.0.0.1:$(free_port) \
  --redis_address=127.0.0.1:$redis_port --log_level=warning &
children+=($!)
wait_for_port "$hub_port"

results=$work/results.jsonl
loadgen() {
  $build/tests/bench/omnihub-loadgen --target=127.0.0.1:$hub_port \
    --redis_address=127.0.0.1:$redis_port --duration="${seconds}s" "$@" \
    >>"$results"
}
redis() { redis-cli -p "$redis_port" "$@"; }

echo "== ingest, batches of 100 (Redis alone first: the same store code, no gRPC)"
loadgen --name=redis_alone_batch100 --mode=redis --batch=100 --inflight=32
loadgen --name=ingest_batch100 --ceiling=redis_alone_batch100 --batch=100 --inflight=32
echo "== ingest, one event per call (empty gRPC handler first)"
loadgen --name=empty_grpc_single --mode=empty --batch=1 --inflight=128
loadgen --name=ingest_single --ceiling=empty_grpc_single --batch=1 --inflight=128
loadgen --name=redis_alone_single --mode=redis --batch=1 --inflight=128
echo "== reads paced at 5000/s (customers written above)"
loadgen --name=empty_grpc_read_5000 --mode=empty --workload=timeline --rate=5000 --inflight=256
loadgen --name=timeline_page50_5000 --ceiling=empty_grpc_read_5000 --workload=timeline --rate=5000 --inflight=256
loadgen --name=customer_5000 --ceiling=empty_grpc_read_5000 --workload=customer --rate=5000 --inflight=256

echo "== web adapter (wrk, 10 calls per request), fsync off first"
web_events=10
for fsync in false true; do
  web_port=$(free_port)
  $build/services/web_adapter/omnihub-web-adapter --listen=127.0.0.1:$web_port \
    --hub_address=127.0.0.1:$hub_port --spool_dir="$work/spool-$fsync" \
    --spool_fsync=$fsync --write_keys=bench-key=bench --log_level=warning &
  web_pid=$!
  children+=($web_pid)
  wait_for_port "$web_port"
  cat >"$work/post.lua" <<LUA
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["X-Write-Key"] = "bench-key"
local calls = {}
for i = 1, $web_events do
  calls[i] = '{"type":"page","messageId":"m-' .. i .. '","anonymousId":"a-' .. i ..
    '","context":{"page":{"url":"https://shop.example/boots","path":"/boots","title":"Boots"}}}'
end
wrk.body = '{"batch":[' .. table.concat(calls, ",") .. ']}'
LUA
  per_second=$(wrk -t2 -c32 -d"${seconds}s" -s "$work/post.lua" \
    "http://127.0.0.1:$web_port/v1/batch" | awk '/Requests\/sec/ {print $2}')
  name=web_adapter_fsync_$fsync
  ceiling=""
  [ "$fsync" = true ] && ceiling=web_adapter_fsync_false
  printf '{"name":"%s","ceiling":"%s","events_per_second":%s}\n' "$name" \
    "$ceiling" "$(awk -v r="$per_second" -v n=$web_events 'BEGIN {print r * n}')" >>"$results"
  kill -TERM "$web_pid"; wait "$web_pid" 2>/dev/null || true
done

echo "== Redis memory: $memory_events events over $memory_customers customers"
redis FLUSHALL >/dev/null
before=$(redis INFO memory | awk -F: '/^used_memory:/ {print $2+0}')
loadgen --name=memory_fill --batch=100 --inflight=32 --duration=3600s \
  --customers="$memory_customers" --total_events="$memory_events"
after=$(redis INFO memory | awk -F: '/^used_memory:/ {print $2+0}')

echo
$build/tests/bench/omnihub-loadgen --report="$results"
awk -v b="$before" -v a="$after" -v e="$memory_events" -v c="$memory_customers" \
  'BEGIN {printf "\nRedis memory: %.0f bytes per event, %.0f bytes per customer (used_memory %d -> %d)\n", (a-b)/e, (a-b)/c, b, a}'
echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -r)"
