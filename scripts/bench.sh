#!/usr/bin/env bash
# Builds in Release, starts a private redis-server, the hub and the web
# adapter on free loopback ports, runs every benchmark beside its ceiling
# (Redis alone through the service's own store code; an empty gRPC handler;
# the web adapter with fsync off), and prints one table. Not part of the
# test suite's pass/fail; tests/bench/loadgen_smoke_test keeps it working.
#
#   scripts/bench.sh              # ~12 minutes on 2 cores
#   BENCH_SECONDS=30 BENCH_MEMORY_EVENTS=1000000 scripts/bench.sh
#   BENCH_SYNTHETIC_CUSTOMERS=100000 scripts/bench.sh   # a smaller base
#   scripts/bench.sh --smoke      # one second each, to see that it runs
#   BENCH_ONLY=durability scripts/bench.sh   # only what durability costs
#   scripts/bench.sh --cluster    # one Redis, then Redis Cluster of 1 and 3
#                                 # masters: throughput, Redis CPU per event
#                                 # per node, spread of keys and commands
#   BENCH_ONLY=segments scripts/bench.sh     # only what 20 segments cost
#   BENCH_ONLY=rankings scripts/bench.sh     # only the top-customer rankings
#   BENCH_ONLY=cross_sell scripts/bench.sh   # only what cross-selling costs
#   BENCH_ONLY=insights2 scripts/bench.sh    # issue 13's targets on a base of
#                       # BENCH_SEGMENT_CUSTOMERS (1,000,000) customers, ~45 min
#   BENCH_ONLY=insights2 BENCH_INSIGHTS2_PARTS=pages BENCH_SEGMENT_CUSTOMERS=200000 \
#     scripts/bench.sh  # only some parts of it, comma-separated, of ingest,
#                       # pages (members, top customers), new_segment,
#                       # cross_sell (default: all); the base and the 20
#                       # segments' first evaluation always run
#   BENCH_HUB_FLAGS="--segment_threads=16" ...  # more flags for every hub
#   BENCH_REDIS_HUGE_PAGES=0 ...  # Redis's heap on 4 KiB pages (see below)
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${BENCH_SECONDS:-10}
memory_events=${BENCH_MEMORY_EVENTS:-200000}
memory_customers=${BENCH_MEMORY_CUSTOMERS:-20000}
synthetic_customers=${BENCH_SYNTHETIC_CUSTOMERS:-1000000}
ranking_customers=${BENCH_RANKING_CUSTOMERS:-1000000}
segment_customers=${BENCH_SEGMENT_CUSTOMERS:-1000000}
cross_sell_customers=${BENCH_CROSS_SELL_CUSTOMERS:-20000}
insights2_parts=${BENCH_INSIGHTS2_PARTS:-ingest,pages,new_segment,cross_sell}
# How long the new segment's evaluation is waited for before its pace so far
# is reported instead.
evaluation_timeout=${BENCH_EVALUATION_TIMEOUT:-600}
if [ "${1:-}" = "--smoke" ]; then
  seconds=1 memory_events=2000 memory_customers=200 synthetic_customers=2000
  ranking_customers=2000 segment_customers=2000 cross_sell_customers=200
fi
[ "${1:-}" = "--cluster" ] && BENCH_ONLY=cluster

scripts/install-deps.sh
command -v wrk >/dev/null || { echo "wrk is missing (apt-get install wrk)"; exit 1; }
# BENCH_BUILD_DIR/BENCH_BUILD_TYPE: an existing build tree instead (e.g. to
# measure with the development build when a Release build is too long).
build=${BENCH_BUILD_DIR:-build/bench}
cmake -S . -B $build -DCMAKE_BUILD_TYPE="${BENCH_BUILD_TYPE:-Release}" >/dev/null
targets=(omnihub-timeline omnihub-loadgen)
[ "${BENCH_ONLY:-}" = cluster ] || targets+=(omnihub-web-adapter omnihub-cli ranking_bench)
cmake --build $build -j"$(nproc)" --target "${targets[@]}"

work=$(mktemp -d)
children=()
cleanup() {
  for pid in "${children[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT INT TERM

# Below the kernel's ephemeral range: a port there may be the local end of
# an outgoing connection, which nothing listens on, yet a bind to it fails
# (a hub that could not listen ended a run once).
first_ephemeral=$(awk '{print $1}' /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo 32768)
free_port() {
  local port
  while :; do
    port=$((10000 + RANDOM % (first_ephemeral - 10000)))
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

# Redis's heap on transparent huge pages (jemalloc's thp:always; THP is
# "madvise" here). On this machine a process reading gigabytes of 4 KiB
# pages at random stalls for 10-120 ms about twice a second, and on huge
# pages almost never (README, "Redis on huge pages"); Redis holds ~5 GB at
# a million customers. The Redises with an AOF keep 4 KiB pages: their
# rewrite forks, and a fork's copy-on-write would copy 2 MiB a write.
redis_malloc_conf=thp:always
[ "${BENCH_REDIS_HUGE_PAGES:-1}" = 1 ] || redis_malloc_conf=""
machine() {
  local heap=""
  if [ -r "/proc/$redis_pid/smaps_rollup" ]; then
    heap=$(awk '/^Rss:/ {rss = $2} /^AnonHugePages:/ {huge = $2}
      END {printf "; Redis: %.0f of %.0f MiB on huge pages", huge / 1024, rss / 1024}' \
      "/proc/$redis_pid/smaps_rollup")
  fi
  echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -r)$heap"
}

redis_port=$(free_port)
# The settings of deploy/redis.conf that change speed or memory; persistence
# off, so the figures are the store's and not the disk's.
MALLOC_CONF=$redis_malloc_conf redis-server --bind 127.0.0.1 \
  --port "$redis_port" --save "" --appendonly no --dir "$work" \
  --logfile "$work/redis.log" --hash-max-listpack-value 1024 \
  --latency-monitor-threshold 2 &
redis_pid=$!
children+=($redis_pid)
wait_for_port "$redis_port"
hub_port=$(free_port)
hub_metrics_port=$(free_port)
# Scheduled fits and the census off: nothing runs in the background but
# what a benchmark asks for. A fit reads up to a million customers whole.
# Background lifecycle refreshes unthrottled, so the re-evaluation after a
# fit ends soon; the sweeper's run sets the default rate again.
start_hub() {
  $build/services/timeline/omnihub-timeline --listen=127.0.0.1:$hub_port \
    --metrics_listen=127.0.0.1:$hub_metrics_port \
    --redis_address=127.0.0.1:$redis_port --log_level=warning \
    --model_refit_interval=0 --census_interval=0 \
    --model_sample_customers=1000000 --lifecycle_refresh_rate=0 \
    ${BENCH_HUB_FLAGS:-} "$@" &
  hub_pid=$!
  children+=($hub_pid)
  wait_for_port "$hub_port"
}
stop_hub() { kill -TERM "$hub_pid"; wait "$hub_pid" 2>/dev/null || true; }
# After the store is emptied the hub evaluates every customer under its rules
# again (none, but it takes a tick to see that): runs wait for it, so it
# does not run beside them.
wait_for_reevaluation() {
  until [ -z "$(redis HGET 'omnihub:{insights}:pass' running)" ] &&
        [ -n "$(redis HGET 'omnihub:{insights}:pass' rules)" ]; do sleep 0.2; done
}
start_hub

results=$work/results.jsonl
loadgen() {
  $build/tests/bench/omnihub-loadgen --target=127.0.0.1:$hub_port \
    --redis_address=127.0.0.1:$redis_port --duration="${seconds}s" "$@" \
    >>"$results"
}
redis() { redis-cli -p "$redis_port" "$@"; }
wait_for_reevaluation
cli() { $build/services/cli/omnihub-cli --hub_address=127.0.0.1:$hub_port "$@"; }
figures=$work/figures.txt
figure() { printf '%s\n' "$*" | tee -a "$figures"; }
# A field of the CLI's JSON; proto3 leaves zeros out, so absent is 0.
json_field() {
  local value
  value=$(sed -n "s/^ *\"$1\": \"\{0,1\}\([^\",]*\).*/\1/p" | head -1)
  echo "${value:-0}"
}

# What --durability costs: ingest with Redis's append-only file fsynced once
# a second (the shipped appendfsync everysec) against at every write
# (appendfsync always, --durability=fsync); then with a replica attached,
# without and with waiting for it (--durability=replica). The append-only
# file goes to the build tree, on the machine's disk (/tmp may be memory).
durability_runs() {
  echo "== durability: ingest with appendfsync everysec, then always"
  local main_port=$redis_port aof_dir="$PWD/$build/bench-aof" mode aof_pid
  local replica_port replica_pid
  local -a flags ceiling
  stop_hub
  for mode in everysec always; do
    rm -rf "$aof_dir"; mkdir -p "$aof_dir"
    # A Redis of its own: `dir` cannot be changed at run time (protected).
    redis_port=$(free_port)
    redis-server --bind 127.0.0.1 --port "$redis_port" --save "" \
      --appendonly yes --appendfsync $mode --dir "$aof_dir" \
      --logfile "$work/redis-aof-$mode.log" --hash-max-listpack-value 1024 &
    aof_pid=$!
    children+=($aof_pid)
    wait_for_port "$redis_port"
    flags=()
    [ $mode = always ] && flags=(--durability=fsync)
    start_hub "${flags[@]}"
    wait_for_reevaluation
    ceiling=()
    [ $mode = always ] && ceiling=(--ceiling=ingest_batch100_aof_everysec)
    loadgen --name=ingest_batch100_aof_$mode "${ceiling[@]}" --batch=100 --inflight=32
    [ $mode = always ] && ceiling=(--ceiling=ingest_single_aof_everysec)
    loadgen --name=ingest_single_aof_$mode "${ceiling[@]}" --batch=1 --inflight=128
    stop_hub
    kill -TERM "$aof_pid"; wait "$aof_pid" 2>/dev/null || true
  done
  rm -rf "$aof_dir"
  redis_port=$main_port

  echo "== durability: with a replica, without and with waiting for it"
  replica_port=$(free_port)
  MALLOC_CONF=$redis_malloc_conf redis-server --bind 127.0.0.1 \
    --port "$replica_port" --save "" --appendonly no --dir "$work" \
    --logfile "$work/replica.log" --hash-max-listpack-value 1024 \
    --replicaof 127.0.0.1 "$redis_port" &
  replica_pid=$!
  children+=($replica_pid)
  wait_for_port "$replica_port"
  until redis-cli -p "$replica_port" INFO replication | grep -q '^master_link_status:up'; do sleep 0.2; done
  for mode in none replica; do
    redis FLUSHALL >/dev/null
    start_hub --durability=$mode
    wait_for_reevaluation
    ceiling=()
    [ $mode = replica ] && ceiling=(--ceiling=ingest_batch100_replica_none)
    loadgen --name=ingest_batch100_replica_$mode "${ceiling[@]}" --batch=100 --inflight=32
    [ $mode = replica ] && ceiling=(--ceiling=ingest_single_replica_none)
    loadgen --name=ingest_single_replica_$mode "${ceiling[@]}" --batch=1 --inflight=128
    stop_hub
  done
  kill -TERM "$replica_pid"; wait "$replica_pid" 2>/dev/null || true
  redis FLUSHALL >/dev/null
  start_hub
  wait_for_reevaluation
}
# Redis Cluster: the same ingest and reads on one Redis (the plain client),
# on a cluster of one master and on one of three (the cluster client),
# insights off (their scans are not what is measured). On two cores three
# masters share the cores, so throughput cannot show scaling: each node's
# Redis CPU per event (INFO cpu before and after) does, and the busiest
# node's gives the Redis-bound ceiling when every master has a core.
# "cpu commands keys" of the Redis on port $1.
node_stats() {
  redis-cli -p "$1" INFO all | tr -d '\r' | awk -F: '
    /^used_cpu_(sys|user):/ {cpu += $2}
    /^total_commands_processed:/ {commands = $2}
    /^db0:/ {split($2, kv, /[=,]/); keys = kv[2]}
    END {printf "%.4f %d %d\n", cpu, commands, keys + 0}'
}
# Runs loadgen (its arguments) and prints, per node of the ports in
# $measured_ports, Redis CPU microseconds per event or read and the node's
# share of the commands and of the keys.
measure() {
  local name=$1 port before after events
  shift
  declare -A start
  for port in $measured_ports; do start[$port]=$(node_stats "$port"); done
  loadgen --name="$name" "$@"
  events=$(tail -1 "$results" | awk -F'"calls":' '{split($2, a, ","); print a[1]}')
  local batch
  batch=$(tail -1 "$results" | awk -F'"batch":' '{split($2, a, ","); print a[1]}')
  case "$*" in *--workload=*) batch=1 ;; esac
  events=$((events * batch))
  local total_cpu=0 total_commands=0 total_keys=0 lines=()
  for port in $measured_ports; do
    read -r c0 n0 k0 <<<"${start[$port]}"
    read -r c1 n1 k1 <<<"$(node_stats "$port")"
    lines+=("$port $(awk -v a="$c0" -v b="$c1" 'BEGIN {print b - a}') $((n1 - n0)) $k1")
  done
  for line in "${lines[@]}"; do
    read -r port cpu commands keys <<<"$line"
    total_cpu=$(awk -v a="$total_cpu" -v b="$cpu" 'BEGIN {print a + b}')
    total_commands=$((total_commands + commands))
    total_keys=$((total_keys + keys))
  done
  local busiest=0
  for line in "${lines[@]}"; do
    read -r port cpu commands keys <<<"$line"
    figure "$(awk -v n="$name" -v p="$port" -v c="$cpu" -v e="$events" \
      -v cm="$commands" -v tc="$total_commands" -v k="$keys" -v tk="$total_keys" \
      'BEGIN {printf "%-28s node %-5s %7.1f us Redis CPU per event, %5.1f%% of commands, %5.1f%% of keys", n, p, c / e * 1e6, 100 * cm / (tc ? tc : 1), 100 * k / (tk ? tk : 1)}')"
    busiest=$(awk -v a="$busiest" -v b="$cpu" 'BEGIN {print (b > a) ? b : a}')
  done
  figure "$(awk -v n="$name" -v c="$total_cpu" -v b="$busiest" -v e="$events" \
    'BEGIN {printf "%-28s all nodes %.1f us Redis CPU per event; busiest node %.1f us: Redis-bound ceiling %.0f events/s with a core per master", n, c / e * 1e6, b / e * 1e6, e / b}')"
}
start_cluster() {  # $1 masters, no replicas; sets cluster_ports, cluster_pids
  local masters=$1 i port
  cluster_ports="" cluster_pids=()
  for i in $(seq "$masters"); do
    port=$(free_port)
    while [ "$port" -gt 55000 ]; do port=$(free_port); done  # bus port + 10000
    mkdir -p "$work/cluster-$port"
    MALLOC_CONF=$redis_malloc_conf redis-server --bind 127.0.0.1 \
      --port "$port" --save "" --appendonly no --dir "$work/cluster-$port" \
      --logfile "$work/cluster-$port/redis.log" \
      --hash-max-listpack-value 1024 --cluster-enabled yes \
      --cluster-config-file nodes.conf &
    cluster_pids+=($!)
    children+=($!)
    wait_for_port "$port"
    cluster_ports="$cluster_ports $port"
  done
  if [ "$masters" = 1 ]; then
    # redis-cli --cluster create wants three masters; one takes every slot.
    redis-cli -p "$port" CLUSTER ADDSLOTSRANGE 0 16383 >/dev/null
  else
    local seeds=()
    for port in $cluster_ports; do seeds+=("127.0.0.1:$port"); done
    redis-cli --cluster create "${seeds[@]}" --cluster-replicas 0 \
      --cluster-yes >/dev/null
  fi
  for port in $cluster_ports; do
    until redis-cli -p "$port" CLUSTER INFO | grep -q '^cluster_state:ok'; do
      sleep 0.2
    done
  done
}
stop_cluster() {
  local pid
  for pid in "${cluster_pids[@]}"; do kill -TERM "$pid"; wait "$pid" 2>/dev/null || true; done
}
cluster_runs() {
  local main_port=$redis_port masters seeds
  stop_hub
  redis FLUSHALL >/dev/null
  echo "== one Redis, the plain client (insights off)"
  start_hub --insights=false
  measured_ports=$redis_port
  measure ingest_batch100_one_redis --batch=100 --inflight=32
  measure timeline_5000_one_redis --workload=timeline --rate=5000 --inflight=256
  stop_hub
  local ceiling=one_redis
  for masters in 1 3; do
    echo "== Redis Cluster of $masters master(s), the cluster client"
    start_cluster "$masters"
    seeds=$(for p in $cluster_ports; do printf '127.0.0.1:%s,' "$p"; done)
    start_hub --insights=false --redis_cluster --redis_address="${seeds%,}"
    measured_ports=$cluster_ports
    measure ingest_batch100_cluster$masters --ceiling=ingest_batch100_$ceiling \
      --batch=100 --inflight=32
    measure timeline_5000_cluster$masters --ceiling=timeline_5000_$ceiling \
      --workload=timeline --rate=5000 --inflight=256
    stop_hub
    stop_cluster
    ceiling=cluster$masters
  done
  redis_port=$main_port
}
if [ "${BENCH_ONLY:-}" = cluster ]; then
  cluster_runs
  echo
  $build/tests/bench/omnihub-loadgen --report="$results"
  echo
  cat "$figures"
  machine
  exit 0
fi
# What user-defined segments cost: batched ingest with none defined against
# with 20 (every event evaluates all 20 for its customer), three pairs,
# interleaved, each from an empty store. The issue's floor: 0.8.
segment_definitions() {
  local i channel days
  for i in $(seq 1 20); do
    channel=$(( (i % 3) + 1 ))
    days=$(( 7 * i ))
    cat >"$work/segment-$i.json" <<JSON
{"name": "bench-$i", "condition": {"any": {"conditions": [
  {"all": {"conditions": [
    {"channelCount": {"channel": $channel, "atLeast": $(( i % 4 + 1 ))}},
    {"lastInteraction": {"channel": $channel, "notWithinDays": $days}}]}},
  {"totalValue": {"atLeast": {"amountMicros": $(( i * 10000000 )), "currency": "GBP"}}},
  {"negated": {"identityKind": {"kind": $(( i % 6 + 1 ))}}},
  {"lifecycleStage": {"stages": [$(( i % 5 + 1 ))]}}]}}}
JSON
    cli segment-create --file="$work/segment-$i.json" >/dev/null
  done
}
segments_runs() {
  echo "== segments: batched ingest with none defined and with 20, three pairs"
  stop_hub
  for pair in 1 2 3; do
    redis FLUSHALL >/dev/null
    start_hub
    wait_for_reevaluation
    loadgen --name=ingest_batch100_no_segments_$pair --batch=100 --inflight=32
    stop_hub
    redis FLUSHALL >/dev/null
    start_hub
    wait_for_reevaluation
    segment_definitions
    loadgen --name=ingest_batch100_segments20_$pair \
      --ceiling=ingest_batch100_no_segments_$pair --batch=100 --inflight=32
    stop_hub
  done
  redis FLUSHALL >/dev/null
  start_hub
  wait_for_reevaluation
}
if [ "${BENCH_ONLY:-}" = segments ]; then
  segments_runs
  echo
  $build/tests/bench/omnihub-loadgen --report="$results"
  exit 0
fi
# The top-customer rankings (tests/bench/ranking_bench.cc, its own Redis):
# purchase ingest with and without their upkeep, ListTopCustomers paced at
# 1,000/s over a base of $ranking_customers customers (three runs of each
# kind, beside Redis's own stalls; Redis on huge pages as above), the
# population pass.
ranking_runs() {
  echo "== the top-customer rankings"
  MALLOC_CONF=$redis_malloc_conf $build/tests/bench/ranking_bench \
    --customers="$ranking_customers" --rate=1000 --seconds="$seconds" \
    --repeat=3 | tee -a "$figures"
}
if [ "${BENCH_ONLY:-}" = rankings ]; then
  ranking_runs
  exit 0
fi
# What keeping the cross-selling counts costs: the same ingest of purchases
# with line items with and without --cross_sell. Leaves a hub running.
cross_sell_runs() {
  echo "== cross-selling: batched ingest of purchases with line items, with and without co-occurrence upkeep, three pairs"
  # Every run sends the same mix with line items (30% purchases, 1-5 items
  # from a 10,000-product catalogue): what is measured is the upkeep alone.
  stop_hub
  for pair in 1 2 3; do
    redis FLUSHALL >/dev/null
    start_hub --cross_sell=false
    loadgen --name=ingest_items_no_cross_sell_$pair --batch=100 --inflight=32 \
      --purchase_percent=30 --line_items=5 --catalogue=10000
    stop_hub
    redis FLUSHALL >/dev/null
    start_hub
    loadgen --name=ingest_items_cross_sell_$pair \
      --ceiling=ingest_items_no_cross_sell_$pair --batch=100 --inflight=32 \
      --purchase_percent=30 --line_items=5 --catalogue=10000
    [ $pair = 3 ] || stop_hub
  done
  # The counts of the last run (10,000-product catalogue) answer reads;
  # GetCustomer at the same pace is the ceiling.
  echo "== cross-sell candidates paced at 1000/s, beside GetCustomer"
  loadgen --name=customer_1000_items --workload=customer --rate=1000 \
    --inflight=64
  loadgen --name=cross_sell_1000 --ceiling=customer_1000_items \
    --workload=cross_sell --rate=1000 --inflight=64
}
if [ "${BENCH_ONLY:-}" = cross_sell ]; then
  cross_sell_runs
  echo
  $build/tests/bench/omnihub-loadgen --report="$results"
  machine
  exit 0
fi
# Issue 13's figures on a big base ($segment_customers customers, each with
# purchases, BG/NBD): ingest with no segment and with 20 (interleaved pairs:
# the hub with --segments=false, then with the 20 defined); a page of 100
# members and the top 100 customers paced at 1,000/s beside an empty gRPC
# handler and GetCustomer; a new segment fully evaluated while ingest goes
# on; cross-sell candidates paced at 1,000/s over a 10,000-product
# catalogue. Each target printed beside what was measured.
# A field of the last JSON line of $results named $2 of the run named $1.
result_field() {
  grep "\"name\":\"$1\"" "$results" | tail -1 |
    sed -n "s/.*\"$2\":\([-0-9.e+]*\).*/\1/p"
}
# "name target_ms": p99 beside its ceiling and the target.
p99_against() {
  local p99
  p99=$(result_field "$1" p99_ms)
  figure "$(awk -v n="$1" -v p="$p99" -v t="$2" -v c="$(result_field "$3" p99_ms)" \
    -v cn="$3" 'BEGIN {printf "%-30s p99 %7.2f ms (target <= %s ms: %s); ceiling %s p99 %.2f ms", n, p, t, (p <= t) ? "met" : "NOT met", cn, c}')"
}
load_average() { awk '{print $1, $2, $3}' /proc/loadavg; }
# Redis's busiest commands since the last reset (what a run cost Redis).
redis_top_commands() {
  redis INFO commandstats | tr -d '\r' | awk -F'[:,=]' '/^cmdstat_/ {
      printf "%-24s %10d calls %12d usec %8.2f usec/call\n", substr($1, 9), $3, $5, $7}' |
    sort -k4 -n -r | head -"${1:-6}" | sed 's/^/    redis: /'
}
# Redis's time (µs) and commands since the last reset, per call of the run
# named $1: what one request cost Redis.
redis_per_call() {
  redis INFO commandstats | tr -d '\r' | awk -F'[:,=]' -v n="$(result_field "$1" calls)" -v name="$1" '
    /^cmdstat_/ {calls += $3; usec += $5}
    END {printf "%-30s Redis %.0f usec and %.1f commands per request (%d requests)\n", name, usec / (n ? n : 1), calls / (n ? n : 1), n}'
}
# Redis's own stalls since the last `LATENCY RESET`, in the run named $1:
# the seconds in which one command took 2 ms or more by Redis's clock
# (--latency-monitor-threshold). A stall holds up every request queued
# behind it, so no client of that Redis sees a p99 below them.
redis_stalls() {
  { redis LATENCY HISTORY command; redis LATENCY HISTORY fast-command; } |
    paste - - | awk -v name="$1" '
      NF == 2 {if (!($1 in worst) || $2 > worst[$1]) worst[$1] = $2}
      END {n = 0; max = 0; for (t in worst) {n++; if (worst[t] > max) max = worst[t]}
        printf "%-30s Redis stalled (a command >= 2 ms) in %d different seconds, the worst %d ms\n", name, n, max}'
}
# Segment entries and exits the hub's evaluations of events recorded, per
# event of the run named $1 (the hub started just before it, so its
# counters were at 0): how many events changed what segments hold.
changes_per_event() {
  local events
  events=$(events_of "$1")
  curl -s "http://127.0.0.1:$hub_metrics_port/metrics" | awk -v n="$1" -v e="$events" '
    /^omnihub_segment_membership_changes_total[{]/ && /trigger="event"/ {
      if (/change="entry"/) entries += $NF; else exits += $NF}
    END {printf "%-30s %.2f segment entries and %.2f exits per event", n, entries / (e ? e : 1), exits / (e ? e : 1)}'
}
# "none with label loadgen-flags...": batched ingest with the hub at
# --segments=false (the run named $none), then with the 20 segments (named
# $with), each from a fresh start and Redis's statistics reset; CPU, entries
# and exits per event, and, when $label is not empty, the ratio.
# top_commands=1 also prints Redis's busiest commands after each run.
ingest_pair() {
  local none=$1 with=$2 label=$3 cpu
  shift 3
  stop_hub
  start_hub --segments=false
  redis CONFIG RESETSTAT >/dev/null
  cpu=$(cpu_seconds)
  loadgen --name="$none" --batch=100 --inflight=32 "$@"
  cpu_per_event "$none" "$cpu"
  if [ -n "${top_commands:-}" ]; then redis_top_commands 8; fi
  stop_hub
  start_hub
  redis CONFIG RESETSTAT >/dev/null
  cpu=$(cpu_seconds)
  loadgen --name="$with" --ceiling="$none" --batch=100 --inflight=32 "$@"
  cpu_per_event "$with" "$cpu"
  figure "$(changes_per_event "$with")"
  if [ -n "${top_commands:-}" ]; then redis_top_commands 12; fi
  if [ -n "$label" ]; then
    figure "$(awk -v a="$(result_field "$with" events_per_second)" \
      -v b="$(result_field "$none" events_per_second)" -v l="$label" \
      'BEGIN {printf "ingest with 20 segments / with none, %s: %.2f (one pair)", l, a / b}')"
  fi
}
# Whether BENCH_INSIGHTS2_PARTS (default: all) names part $1.
insights2_part() { [[ ",$insights2_parts," == *",$1,"* ]]; }
# CPU seconds Redis and the hub have used so far: "redis hub".
cpu_seconds() {
  echo "$(redis INFO cpu | tr -d '\r' | awk -F: '/^used_cpu_(sys|user):/ {s += $2} END {printf "%.3f", s}') $(awk -v t="$(getconf CLK_TCK)" '{printf "%.3f", ($14 + $15) / t}' /proc/$hub_pid/stat)"
}
# "name cpu_before": Redis and hub CPU per event of the run named $1.
# Events the run named $1 sent: its rate over its $seconds.
events_of() {
  awk -v r="$(result_field "$1" events_per_second)" -v s="$seconds" 'BEGIN {printf "%.0f", r * s}'
}
cpu_per_event() {
  local events
  events=$(events_of "$1")
  figure "$(echo "$2 $(cpu_seconds)" | awk -v n="$1" -v e="$events" '{printf "%-30s Redis %5.0f us/event, hub %5.0f us/event (%d events)", n, ($3 - $1) * 1e6 / e, ($4 - $2) * 1e6 / e, e}')"
}
insights2_runs() {
  local base=$segment_customers started evaluated complete created completed cpu
  echo "== insights II: a base of $base customers with purchases (load $(load_average))"
  stop_hub
  redis FLUSHALL >/dev/null
  start_hub
  wait_for_reevaluation
  started=$(date +%s.%N)
  loadgen --name=insights2_base --workload=purchases --customers="$base" \
    --batch=100 --inflight=32 --duration=3600s
  figure "base: $base customers, $(result_field insights2_base calls) batches of purchases in $(awk -v s="$started" -v e="$(date +%s.%N)" 'BEGIN {printf "%.0f", e - s}') s"
  if insights2_part ingest; then
  echo "== ingest into the base, segments on but none defined"
  loadgen --name=ingest_big_none_defined --batch=100 --inflight=32 --customers="$base"
  fi
  # The 20 segments are what the ingest, pages and new segment parts measure.
  if insights2_part ingest || insights2_part pages || insights2_part new_segment; then
  echo "== 20 segments defined, evaluated over the base without ingest"
  started=$(date +%s.%N)
  segment_definitions
  local next_print=0
  until [ "$(cli segment --name=bench-20 | json_field complete)" = true ]; do
    if [ "$(date +%s)" -ge "$next_print" ]; then
      echo "  $(awk -v s="$started" -v e="$(date +%s.%N)" 'BEGIN {printf "%.0f", e - s}') s: $(cli segment --name=bench-20 | json_field customers_evaluated) customers evaluated (load $(load_average))"
      next_print=$(( $(date +%s) + 30 ))
    fi
    sleep 1
  done
  figure "20 segments over $base customers evaluated in $(awk -v s="$started" -v e="$(date +%s.%N)" 'BEGIN {printf "%.1f", e - s}') s (nothing else running; load $(load_average))"
  fi
  if insights2_part ingest; then
  echo "== ingest into the base: no segments (--segments=false) against 20, three pairs"
  for pair in 1 2 3; do
    top_commands=$([ "$pair" = 1 ] && echo 1) ingest_pair \
      ingest_big_no_segments_$pair ingest_big_segments20_$pair "" --customers="$base"
  done
  figure "$(for pair in 1 2 3; do echo "$(result_field ingest_big_no_segments_$pair events_per_second) $(result_field ingest_big_segments20_$pair events_per_second)"; done |
    awk '{none += $1; with += $2; r = $2 / $1; ratios = ratios sprintf(" %.2f", r); if (min == "" || r < min) min = r}
      END {printf "ingest with 20 segments / with none, %d customers: mean %.2f (pairs:%s; target >= 0.8: %s)", '"$base"', with / none, ratios, (with / none >= 0.8) ? "met" : "NOT met"}')"
  # The pairs above pick customers uniformly from the base, whose customers
  # have a CRM id and purchases only: nearly every event is its customer's
  # first on its channel, attaching that channel's identity, and changes
  # memberships (see the entries and exits per event). Two more pairs: the
  # customers picked Zipf-skewed (1.1), so most events go to a customer seen
  # a moment before; and customers already known on every channel (a part
  # of the base given 15 events each first).
  local warm=$(( base / 10 < 20000 ? base / 10 : 20000 ))
  echo "== the same, customers Zipf-skewed (--zipf=1.1), one pair"
  ingest_pair ingest_big_zipf_no_segments ingest_big_zipf_segments20 \
    "Zipf-skewed customers" --zipf=1.1 --customers="$base"
  echo "== the same over $warm customers of the base given 15 events each first, one pair"
  loadgen --name=ingest_warm_up --batch=100 --inflight=32 --customers="$warm" \
    --total_events=$((warm * 15)) --duration=3600s
  ingest_pair ingest_warm_no_segments ingest_warm_segments20 \
    "$warm customers known on every channel" --customers="$warm"
  fi

  # The ceiling of every paced read.
  loadgen --name=empty_grpc_1000 --mode=empty --workload=customer --rate=1000 --inflight=64
  if insights2_part pages; then
  echo "== reads paced at 1000/s: empty gRPC, GetCustomer, a page of 100 members, the top 100 (load $(load_average))"
  redis LATENCY RESET >/dev/null
  loadgen --name=customer_1000_big --ceiling=empty_grpc_1000 --workload=customer \
    --rate=1000 --inflight=64 --customers="$base"
  figure "$(redis_stalls customer_1000_big)"
  figure "bench-1: $(cli segment-sizes --name=bench-1 | json_field size) members"
  redis CONFIG RESETSTAT >/dev/null
  redis LATENCY RESET >/dev/null
  loadgen --name=segment_members_1000 --ceiling=customer_1000_big \
    --workload=segment_members --segment=bench-1 --page_size=100 --rate=1000 --inflight=64
  figure "$(redis_stalls segment_members_1000)"
  redis_top_commands
  figure "$(redis_per_call segment_members_1000)"
  redis CONFIG RESETSTAT >/dev/null
  redis LATENCY RESET >/dev/null
  loadgen --name=top100_1000 --ceiling=customer_1000_big --workload=top_customers \
    --currency=GBP --page_size=100 --rate=1000 --inflight=64
  figure "$(redis_stalls top100_1000)"
  redis_top_commands
  figure "$(redis_per_call top100_1000)"
  p99_against segment_members_1000 10 customer_1000_big
  p99_against top100_1000 10 customer_1000_big
  fi

  if insights2_part new_segment; then
  echo "== a new segment evaluated over the base while ingest goes on"
  # The ceiling: the same ingest, 20 segments, nothing evaluated beside it.
  loadgen --name=ingest_big_before_new_segment --batch=100 --inflight=32 --customers="$base"
  $build/tests/bench/omnihub-loadgen --target=127.0.0.1:$hub_port \
    --name=ingest_big_during_new_segment --ceiling=ingest_big_before_new_segment \
    --batch=100 --inflight=32 --customers="$base" --duration=600s >>"$results" &
  local ingest_pid=$!
  children+=($ingest_pid)
  sleep 2
  cat >"$work/segment-new.json" <<JSON
{"name": "bench-new", "condition": {"all": {"conditions": [
  {"channelCount": {"channel": 2, "atLeast": 1}},
  {"totalValue": {"atLeast": {"amountMicros": 50000000, "currency": "GBP"}}}]}}}
JSON
  redis CONFIG RESETSTAT >/dev/null
  started=$(date +%s.%N)
  cli segment-create --file="$work/segment-new.json" >"$work/segment-new.out"
  created=$(json_field created_at <"$work/segment-new.out")
  next_print=0
  local give_up=$(( $(date +%s) + evaluation_timeout ))
  while :; do
    cli segment --name=bench-new >"$work/segment-new.out"
    complete=$(json_field complete <"$work/segment-new.out")
    evaluated=$(json_field customers_evaluated <"$work/segment-new.out")
    [ "$complete" = true ] && break
    [ "$(date +%s)" -ge "$give_up" ] && break
    if [ "$(date +%s)" -ge "$next_print" ]; then
      echo "  $(awk -v s="$started" -v e="$(date +%s.%N)" 'BEGIN {printf "%.0f", e - s}') s: $evaluated customers evaluated (load $(load_average))"
      next_print=$(( $(date +%s) + 10 ))
    fi
    sleep 0.5
  done
  local waited
  waited=$(awk -v s="$started" -v e="$(date +%s.%N)" 'BEGIN {printf "%.1f", e - s}')
  kill -TERM "$ingest_pid"
  wait "$ingest_pid" || true
  redis_top_commands 8
  local took ingest_share
  ingest_share="ingest ran at $(result_field ingest_big_during_new_segment events_per_second | awk '{printf "%.0f", $1}') ev/s, $(awk -v a="$(result_field ingest_big_during_new_segment events_per_second)" -v b="$(result_field ingest_big_before_new_segment events_per_second)" 'BEGIN {printf "%.2f", a / b}') of the same ingest without it"
  if [ "$complete" = true ]; then
    completed=$(json_field completed_at <"$work/segment-new.out")
    took=$(awk -v a="$(date -u -d "$created" +%s.%N)" -v b="$(date -u -d "$completed" +%s.%N)" 'BEGIN {printf "%.1f", b - a}')
    figure "a new segment over $base customers ($evaluated evaluated) complete in $took s while $ingest_share (target < 60 s: $(awk -v t="$took" 'BEGIN {print (t < 60) ? "met" : "NOT met"}'); load $(load_average))"
  else
    figure "a new segment over $base customers NOT complete after $waited s (BENCH_EVALUATION_TIMEOUT): $evaluated evaluated, $(awk -v n="$evaluated" -v t="$waited" 'BEGIN {printf "%.0f", n / t}') customers/s, all $base in ~$(awk -v n="$evaluated" -v t="$waited" -v b="$base" 'BEGIN {printf "%.0f", b * t / (n ? n : 1)}') s at that pace, while $ingest_share (target < 60 s: NOT met; load $(load_average))"
    # The evaluation would go on beside the cross-sell runs: without it.
    stop_hub
    start_hub --segments=false
    echo "(the hub from here on with --segments=false: the evaluation left unfinished)"
  fi
  fi

  if insights2_part cross_sell; then
  echo "== cross-sell: purchases with line items from a 10,000-product catalogue, then candidates paced at 1000/s"
  loadgen --name=ingest_items_big --batch=100 --inflight=32 --purchase_percent=30 \
    --line_items=5 --catalogue=10000 --customers="$cross_sell_customers" \
    --total_events=$((cross_sell_customers * 10)) --duration=3600s
  loadgen --name=customer_1000_items_big --ceiling=empty_grpc_1000 \
    --workload=customer --rate=1000 --inflight=64 --customers="$cross_sell_customers"
  redis CONFIG RESETSTAT >/dev/null
  loadgen --name=cross_sell_1000_big --ceiling=customer_1000_items_big \
    --workload=cross_sell --rate=1000 --inflight=64 --customers="$cross_sell_customers"
  redis_top_commands
  p99_against cross_sell_1000_big 20 customer_1000_items_big
  figure "$(redis_per_call cross_sell_1000_big)"
  fi
  figure "load average at the end: $(load_average)"
}
if [ "${BENCH_ONLY:-}" = insights2 ]; then
  insights2_runs
  echo
  $build/tests/bench/omnihub-loadgen --report="$results"
  echo
  cat "$figures"
  machine
  exit 0
fi
if [ "${BENCH_ONLY:-}" = durability ]; then
  durability_runs
  echo
  $build/tests/bench/omnihub-loadgen --report="$results"
  machine
  exit 0
fi

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
    --admin_listen=127.0.0.1:0 \
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
wait_for_reevaluation
before=$(redis INFO memory | awk -F: '/^used_memory:/ {print $2+0}')
loadgen --name=memory_fill --batch=100 --inflight=32 --duration=3600s \
  --customers="$memory_customers" --total_events="$memory_events"
after=$(redis INFO memory | awk -F: '/^used_memory:/ {print $2+0}')

memory_line=$(awk -v b="$before" -v a="$after" -v e="$memory_events" -v c="$memory_customers" \
  'BEGIN {printf "Redis memory: %.0f bytes per event, %.0f bytes per customer (used_memory %d -> %d)", (a-b)/e, (a-b)/c, b, a}')

echo "== insights: batched ingest with and without purchase days and lifecycles, three pairs"
# 10% of the mix's events are purchases; each run starts from an empty
# store, so none finds another's customers. Pairs interleaved: this
# machine's speed drifts by more than what is measured.
stop_hub
for pair in 1 2 3; do
  redis FLUSHALL >/dev/null
  start_hub --insights=false
  loadgen --name=ingest_batch100_no_insights_$pair --batch=100 --inflight=32
  stop_hub
  redis FLUSHALL >/dev/null
  start_hub
  wait_for_reevaluation
  loadgen --name=ingest_batch100_insights_$pair \
    --ceiling=ingest_batch100_no_insights_$pair --batch=100 --inflight=32
  [ $pair = 3 ] || stop_hub
done

segments_runs
cross_sell_runs

echo "== purchase model fit: CDNOW master through Ingest, fitted as of 1997-10-01"
redis FLUSHALL >/dev/null
awk 'NR > 1 {d=$2; printf "crm_id:cdnow-%d,%s-%s-%s,%s,USD\n", $1, substr(d,1,4), substr(d,5,2), substr(d,7,2), $4}' \
  tests/data/cdnow/CDNOW_master.txt | tr -d '\r' >"$work/master.csv"
cli import-purchases --file="$work/master.csv" --source=cdnow-master >/dev/null
cli fit --as_of=1997-10-01 >"$work/fit.json"
figure "fit, CDNOW master: $(json_field fit_seconds <"$work/fit.json") s over $(json_field customers <"$work/fit.json") customers (r=$(json_field r <"$work/fit.json"), alpha=$(json_field alpha <"$work/fit.json"), a=$(json_field a <"$work/fit.json"), b=$(json_field b <"$work/fit.json"))"

echo "== $synthetic_customers synthetic customers (BG/NBD, CDNOW's parameters, first purchases over 365 days)"
redis FLUSHALL >/dev/null
wait_for_reevaluation
loadgen --name=synthetic_base --workload=purchases --customers="$synthetic_customers" \
  --batch=100 --inflight=32 --duration=3600s
cli fit >"$work/fit.json"
figure "fit, $synthetic_customers synthetic customers: $(json_field fit_seconds <"$work/fit.json") s over $(json_field customers <"$work/fit.json") customers with a purchase"
# The new model changes every customer's rules: the hub evaluates everyone
# again. Wait for it, so the figures below are not shared with it.
started=$(date +%s.%N)
sleep 2  # the hub loads the new model at its next tick
wait_for_reevaluation
figure "re-evaluation of every lifecycle after the fit: $(awk -v s="$started" -v e="$(date +%s.%N)" 'BEGIN {printf "%.1f", e - s}') s"

echo "== insights reads paced at 5000/s, beside GetCustomer (synthetic customers, model fitted)"
loadgen --name=customer_5000_synthetic --workload=customer --rate=5000 --inflight=256
loadgen --name=insights_5000 --ceiling=customer_5000_synthetic --workload=insights \
  --rate=5000 --inflight=256
last=$(date -u -d yesterday +%F)
first=$(date -u -d "365 days ago" +%F)
started=$(date +%s.%N)
cli --timeout_seconds=600 kpis --start="$first" --end="$last" >"$work/kpis.json"
figure "KPIs of $first..$last over $(json_field customers_scanned <"$work/kpis.json") customers: $(awk -v s="$started" -v e="$(date +%s.%N)" 'BEGIN {printf "%.1f", e - s}') s ($(json_field new_customers <"$work/kpis.json") new customers, $(json_field lapsed_customers <"$work/kpis.json") lapsed)"

echo "== the lifecycle sweeper: 180 days of deadlines fall due at once, ingest meanwhile"
today=$(( $(date +%s) / 86400 ))
due() {
  local total=0 shard
  for shard in $(seq 0 63); do
    total=$((total + $(redis ZCOUNT "omnihub:dl:{$(printf %02x "$shard")}" -inf $((today + 180)))))
  done
  echo $total
}
# The ceiling: the same ingest into the same base, nothing due.
loadgen --name=ingest_batch100_big_base --batch=100 --inflight=32
stop_hub
due_before=$(due)
start_hub --clock_offset=4320h --lifecycle_refresh_rate=2000
loadgen --name=ingest_batch100_during_sweep --ceiling=ingest_batch100_big_base \
  --batch=100 --inflight=32
due_after=$(due)
figure "sweeper at the default --lifecycle_refresh_rate=2000: of $due_before deadlines due at once, $((due_before - due_after)) recorded during the ${seconds} s of ingest beside it (ingest_batch100_during_sweep above)"

durability_runs
ranking_runs
insights2_runs

echo
$build/tests/bench/omnihub-loadgen --report="$results"
echo
echo "$memory_line"
cat "$figures"
machine
