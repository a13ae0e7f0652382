#!/usr/bin/env bash
# Starts a CanvasWire cluster on this machine: nats-server (with JetStream), three relay nodes
# joined through it, and HAProxy in front of them. Ctrl-C stops everything.
#
#   samples/cluster/run.sh            # then open http://127.0.0.1:8080/ (through HAProxy)
#
# Publish to any node, or through HAProxy:  ws://127.0.0.1:8080/streams/cam/publish
# View from any node:                       ws://127.0.0.1:8081/streams/cam, :8082, :8083, or :8080
# Environment: CANVASWIRE (the binary; default .build/release/canvaswire, else .build/debug),
# BASE_PORT (8080: HAProxy there, nodes on the next three ports), NATS_PORT (4222).
set -euo pipefail
cd "$(dirname "$0")/../.."

base=${BASE_PORT:-8080}
nats_port=${NATS_PORT:-4222}
binary=${CANVASWIRE:-}
if [[ -z $binary ]]; then
    for candidate in .build/release/canvaswire .build/debug/canvaswire; do
        [[ -x $candidate ]] && { binary=$candidate; break; }
    done
fi
[[ -n $binary && -x $binary ]] || { echo "run.sh: build first (swift build -c release) or set CANVASWIRE" >&2; exit 1; }
command -v nats-server >/dev/null || { echo "run.sh: install nats-server (apt-get install nats-server)" >&2; exit 1; }

work=$(mktemp -d -t canvaswire-cluster-XXXXXX)
pids=()
stop() {
    trap - INT TERM EXIT
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$work"
}
trap stop INT TERM EXIT

nats-server -js -a 127.0.0.1 -p "$nats_port" -sd "$work/jetstream" >"$work/nats.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$nats_port") 2>/dev/null && break
    sleep 0.1
done

nodes=(a b c)
for index in 0 1 2; do
    port=$((base + 1 + index))
    "$binary" serve --host 127.0.0.1 --port "$port" --nats "nats://127.0.0.1:$nats_port" \
        --node-name "${nodes[$index]}" >"$work/node-${nodes[$index]}.out" 2>"$work/node-${nodes[$index]}.log" &
    pids+=($!)
    echo "node ${nodes[$index]}: http://127.0.0.1:$port/   (log: $work/node-${nodes[$index]}.log)"
done

if command -v haproxy >/dev/null; then
    CW_LISTEN="127.0.0.1:$base" CW_NODE_A="127.0.0.1:$((base + 1))" CW_NODE_B="127.0.0.1:$((base + 2))" \
        CW_NODE_C="127.0.0.1:$((base + 3))" haproxy -db -f samples/cluster/haproxy.cfg >"$work/haproxy.log" 2>&1 &
    pids+=($!)
    echo "HAProxy: http://127.0.0.1:$base/   (routes /streams/NAME by a consistent hash of NAME)"
else
    echo "HAProxy is not installed (apt-get install haproxy): use the nodes directly"
fi
echo "NATS: nats://127.0.0.1:$nats_port   GET /streams on any node lists the cluster's streams. Ctrl-C stops."
wait -n "${pids[@]}"
