#!/usr/bin/env bash
# The XL run (docs/performance.md, "XL run"): start-up of presenced on a store of USERS users in
# teams of 20 (each user watches its 20), then optionally a WebSocket login storm of WATCHERS
# clients from several 127.0.0.x source addresses.
#
#   bench/load/xl-run.sh BUILD_DIR DATA_DIR [USERS] [WATCHERS]
#
# DATA_DIR is written by make-store when it has no presenced.db yet (1,000,000 users: ~1.5 GB);
# the storm adds an API key per watcher to it. presenced runs on core 0, the rest on core 1.
set -euo pipefail
build=$1
data=$2
users=${3:-1000000}
watchers=${4:-0}
port=18199
log=$data/xl-presenced.log

if [ ! -e "$data/presenced.db" ]; then
  taskset -c 1 "$build/bench/load/make-store" --data-dir "$data" --admin-password bench-admin \
    --users "$users" --contacts 20
fi
echo "load average before start: $(cut -d' ' -f1-3 /proc/loadavg)"

# Each connection is a descriptor in the server and in presence-load: the hard limit (20,000 in
# a container without CAP_SYS_RESOURCE) bounds the storm before loopback's ports do.
ulimit -n "$(ulimit -Hn)"
echo "open files limit: $(ulimit -n)"
: > "$log"
t0=$(date +%s%N)
taskset -c 0 "$build/src/app/presenced" --data-dir "$data" --http 127.0.0.1:$port \
  --log-level info > "$log" 2>&1 &
pid=$!
trap 'kill -TERM $pid 2>/dev/null; wait $pid 2>/dev/null || true' EXIT
until grep -q "listening on http" "$log"; do
  kill -0 $pid 2>/dev/null || { cat "$log"; exit 1; }
  sleep 0.005
done
t1=$(date +%s%N)
echo "listening after $(( (t1 - t0) / 1000000 )) ms; $(grep -E '^(VmRSS|VmHWM)' /proc/$pid/status | tr -s ' \n' ' ')"
echo "server CPU until listening: $(awk '{printf "%.2f s", ($14 + $15) / 100}' /proc/$pid/stat)"
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"

if [ "$watchers" -gt 0 ]; then
  sources=$(( (watchers + 19999) / 20000 ))
  taskset -c 1 "$build/bench/load/presence-load" --server 127.0.0.1:$port \
    --admin-password bench-admin --users "$users" --reuse --watchers "$watchers" --watch 20 \
    --source-addresses "$sources" --connections 16 --rate 1000 --warmup 1 --duration 5 \
    --phase-timeout 900 --server-pid $pid --threads 2
  echo "after the storm: $(grep -E '^(VmRSS|VmHWM)' /proc/$pid/status | tr -s ' \n' ' ')"
  echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
fi
