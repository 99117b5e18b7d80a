#!/usr/bin/env bash
# SIP NOTIFY fan-out end to end, by hand (not part of ctest): presenced pinned to core 0,
# sip-load (its UDP subscribers and the REST changes) pinned to core 1. docs/benchmarks.md,
# "SIP NOTIFY fan-out", has the figures and how to read them.
#
#   bench/sip/notify-load.sh [BUILD_DIR] [-- sip-load options...]
#
# e.g. bench/sip/notify-load.sh build/bench -- --rate 500 --duration 20
# Environment: SUBSCRIBERS (10000), PRESENTITIES (100), FAST_SYNC (1: --fast-sync), DATA (/tmp).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-$root/build/bench}
shift || true
[ "${1:-}" = "--" ] && shift
subscribers=${SUBSCRIBERS:-10000}
presentities=${PRESENTITIES:-100}
data=${DATA:-/tmp}/sip-bench
pristine=$data-pristine-$subscribers
http_port=18092
sip_port=15092

for binary in src/app/presenced bench/load/sip-load bench/load/make-store; do
  if [ ! -x "$build/$binary" ]; then
    echo "missing $build/$binary: build presenced, sip-load and make-store" >&2
    exit 2
  fi
done

if [ ! -d "$pristine" ]; then
  taskset -c 1 "$build/bench/load/make-store" --data-dir "$pristine" \
    --admin-password bench-admin --sip-password bench-sip --users "$subscribers" --contacts 20
fi
rm -rf "$data" && cp -r "$pristine" "$data"

sync_flag=()
[ "${FAST_SYNC:-0}" = 1 ] && sync_flag=(--fast-sync)
nice -n -20 taskset -c 0 "$build/src/app/presenced" --data-dir "$data" \
  --http "127.0.0.1:$http_port" --sip "127.0.0.1:$sip_port" --log-level warn "${sync_flag[@]}" &
pid=$!
trap 'kill -TERM $pid 2>/dev/null; wait $pid 2>/dev/null || true' EXIT
for _ in $(seq 100); do
  (exec 3<>/dev/tcp/127.0.0.1/$http_port) 2>/dev/null && break
  sleep 0.1
done
sleep 1  # the listener settles; then the memory before any subscription is read

echo "uptime before: $(uptime)"
nice -n -20 taskset -c 1 "$build/bench/load/sip-load" --http "127.0.0.1:$http_port" \
  --sip "127.0.0.1:$sip_port" --admin-password bench-admin --sip-password bench-sip \
  --subscribers "$subscribers" --presentities "$presentities" --server-pid "$pid" "$@"
echo "uptime after: $(uptime)"
