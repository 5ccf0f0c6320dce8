#!/usr/bin/env bash
# A chaos soak: the three adapters take records at a steady rate while the
# hub, each adapter and Redis (with its append-only file) are killed with
# SIGKILL and restarted at random moments. Then, once the adapters' spools
# have drained, every record an adapter answered 202 must be on a timeline
# exactly once, and every customer's single view must agree with a
# recomputation from its timeline. Prints what it did and what it found;
# exits non-zero when anything was lost, doubled or wrong.
#
#   scripts/chaos.sh                 # 60 s (part of the test command)
#   scripts/chaos.sh 900             # the 15-minute run of the README
#   scripts/chaos.sh 60 build/dev    # binaries from another build directory
#
# Needs a build with tests (scripts/test.sh makes build/test).
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${1:-60}
build=${2:-build/test}
rate=${OMNIHUB_CHAOS_RATE:-60}   # records per second over the three adapters
bin=$build/services
chaos_tool=$build/tests/chaos/omnihub-chaos
for binary in "$bin/timeline/omnihub-timeline" "$chaos_tool" \
    "$bin/phone_adapter/omnihub-phone-adapter" \
    "$bin/web_adapter/omnihub-web-adapter" \
    "$bin/visit_adapter/omnihub-visit-adapter"; do
  [ -x "$binary" ] || { echo "missing $binary: build $build first"; exit 2; }
done

work=$(mktemp -d "${TMPDIR:-/tmp}/omnihub-chaos.XXXXXX")
echo "chaos: ${seconds} s at ${rate} records/s; logs and data in $work"

# Below the kernel's ephemeral range: a port there may be the local end of
# an outgoing connection, which nothing listens on, yet a bind to it fails.
first_ephemeral=$(awk '{print $1}' /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo 32768)
free_port() {
  local port
  while true; do
    port=$((10000 + RANDOM % (first_ephemeral - 10000)))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null &&
        [[ " ${used_ports:-} " != *" $port "* ]]; then
      used_ports="${used_ports:-} $port"
      echo "$port"
      return
    fi
  done
}
redis_port=$(free_port)
hub_port=$(free_port)
hub_metrics_port=$(free_port)
phone_port=$(free_port)
web_port=$(free_port)
visit_port=$(free_port)

declare -A pid command_line
start() {
  local name=$1
  shift
  command_line[$name]="$*"
  "$@" >>"$work/$name.log" 2>&1 &
  pid[$name]=$!
}
running() { kill -0 "${pid[$1]}" 2>/dev/null; }

mkdir -p "$work/redis"
start_redis() {
  start redis redis-server --bind 127.0.0.1 --port "$redis_port" \
    --dir "$work/redis" --appendonly yes --appendfsync always --save "" \
    --hash-max-listpack-value 1024
}
start_hub() {
  start hub "$bin/timeline/omnihub-timeline" \
    --listen="127.0.0.1:$hub_port" \
    --metrics_listen="127.0.0.1:$hub_metrics_port" \
    --redis_address="127.0.0.1:$redis_port"
}
start_adapter() {
  local name=$1 port=$2
  shift 2
  start "$name" "$bin/${name}_adapter/omnihub-${name}-adapter" \
    --listen="127.0.0.1:$port" --admin_listen=intake \
    --hub_address="127.0.0.1:$hub_port" \
    --spool_dir="$work/spool-$name" "$@"
}
start_phone() { start_adapter phone "$phone_port"; }
start_web() { start_adapter web "$web_port" --write_keys=chaos-key=chaos; }
start_visit() { start_adapter visit "$visit_port"; }

cleanup() {
  for name in "${!pid[@]}"; do kill -KILL "${pid[$name]}" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT

wait_for_port() {
  for _ in $(seq 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.1
  done
  return 1
}

start_redis
wait_for_port "$redis_port"
start_hub
for adapter in phone web visit; do "start_$adapter"; done
for port in "$hub_port" "$phone_port" "$web_port" "$visit_port"; do
  wait_for_port "$port" || { echo "a process did not start: see $work"; exit 1; }
done

"$chaos_tool" drive --web="127.0.0.1:$web_port" --phone="127.0.0.1:$phone_port" \
  --visit="127.0.0.1:$visit_port" --write_key=chaos-key --site=chaos \
  --rate="$rate" --duration="${seconds}s" --accepted="$work/accepted.tsv" \
  >"$work/drive.log" 2>&1 &
driver=$!

# Kill one process at a random moment (every 2 to 8 s), bring it back 0.5 to
# 3 s later; anything that stopped by itself is restarted too, and reported.
declare -A kills=([hub]=0 [phone]=0 [web]=0 [visit]=0 [redis]=0)
unexpected_exits=0
started_at=$SECONDS
random_tenths() { echo "$(($1 + RANDOM % ($2 - $1 + 1)))"; }
sleep_tenths() { sleep "$(($1 / 10)).$(($1 % 10))"; }
restart_the_fallen() {
  for name in hub phone web visit redis; do
    if ! running "$name"; then
      if [ "${1:-}" != quiet ]; then
        wait "${pid[$name]}" 2>/dev/null && code=0 || code=$?
        echo "  t=$((SECONDS - started_at))s $name stopped by itself" \
          "(exit $code); restarting it"
        unexpected_exits=$((unexpected_exits + 1))
      fi
      "start_$name"
    fi
  done
}
while kill -0 "$driver" 2>/dev/null; do
  sleep_tenths "$(random_tenths 20 80)"
  kill -0 "$driver" 2>/dev/null || break
  restart_the_fallen
  victims=(hub phone web visit redis)
  victim=${victims[$((RANDOM % 5))]}
  down=$(random_tenths 5 30)
  echo "  t=$((SECONDS - started_at))s kill -9 $victim, down for" \
    "$((down / 10)).$((down % 10)) s"
  kill -KILL "${pid[$victim]}"
  wait "${pid[$victim]}" 2>/dev/null || true
  kills[$victim]=$((kills[$victim] + 1))
  sleep_tenths "$down"
  "start_$victim"
done
wait "$driver" && drive_status=0 || drive_status=$?
cat "$work/drive.log"
restart_the_fallen

# Everything up again: wait until each adapter's spool is empty.
spool_records() {
  curl -sf "http://127.0.0.1:$1/metrics" 2>/dev/null |
    awk '/^omnihub_spool_records/ {sum += $2} END {print (NR ? sum : -1)}'
}
drained=0
for _ in $(seq 240); do
  restart_the_fallen
  left=0
  for port in "$phone_port" "$web_port" "$visit_port"; do
    records=$(spool_records "$port")
    [ "$records" = "0" ] || left=1
  done
  if [ $left -eq 0 ]; then drained=1; break; fi
  sleep 0.5
done
[ $drained -eq 1 ] || echo "the spools did not drain within 120 s"

dead_letters=0
for adapter in phone web visit; do
  file="$work/spool-$adapter/dead-letters.jsonl"
  [ -f "$file" ] && dead_letters=$((dead_letters + $(wc -l <"$file")))
done

"$chaos_tool" check --hub="127.0.0.1:$hub_port" \
  --accepted="$work/accepted.tsv" && check_status=0 || check_status=$?

echo "chaos: kills: hub ${kills[hub]}, phone ${kills[phone]}," \
  "web ${kills[web]}, visit ${kills[visit]}, redis ${kills[redis]};" \
  "unexpected exits $unexpected_exits; dead letters $dead_letters"
if [ $check_status -eq 0 ] && [ $drive_status -eq 0 ] && [ $drained -eq 1 ] &&
    [ $dead_letters -eq 0 ] && [ $unexpected_exits -eq 0 ]; then
  echo "chaos: PASSED"
  rm -rf "$work"
  exit 0
fi
echo "chaos: FAILED (logs and data kept in $work)"
exit 1
