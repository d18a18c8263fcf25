# Helpers for the end-to-end tests. Sourced by each test script.
# Needs: CORRIDORD (the daemon binary), CORRIDOR_SRC (the source tree, for certs and samples).
set -uo pipefail

: "${CORRIDORD:?CORRIDORD must name the corridord binary}"
: "${CORRIDOR_SRC:?CORRIDOR_SRC must name the source tree}"
CERTS=$CORRIDOR_SRC/certs/dev
SHARED=$(cd "$CORRIDOR_SRC/.." && pwd)/shared
WORK=$(mktemp -d /tmp/corridor-e2e.XXXXXX)
PASSED=0
FAILED=0
DAEMON_PID=""
PORT=""

cleanup() {
    stop_daemon KILL
    rm -rf "$WORK"
}
trap cleanup EXIT

pass() { PASSED=$((PASSED + 1)); printf 'ok   %s\n' "$1"; }
fail() { FAILED=$((FAILED + 1)); printf 'FAIL %s\n' "$1"; [ -n "${2:-}" ] && printf '     %s\n' "$2"; }
check() { # name expected actual
    if [ "$2" = "$3" ]; then pass "$1"; else fail "$1" "expected [$2], got [$3]"; fi
}
check_match() { # name regex actual
    if [[ "$3" =~ $2 ]]; then pass "$1"; else fail "$1" "expected /$2/, got [${3:0:300}]"; fi
}
finish() {
    printf '\n%d passed, %d failed\n' "$PASSED" "$FAILED"
    [ "$FAILED" -eq 0 ]
}

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# A port below the kernel's ephemeral range (client sockets anywhere on the machine take
# ports from that range, and a connect probe cannot see them), and free of listeners.
pick_port() {
    local low=32768
    read -r low _ </proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || true
    [ "$low" -gt 21000 ] || low=32768
    PORT=$((20000 + RANDOM % (low - 20000)))
    while ! port_free "$PORT"; do PORT=$((20000 + RANDOM % (low - 20000))); done
}

# One try: 0 up, 1 failed, 2 the port was taken after all (pick another and retry).
try_start() {
    local tries=0 mark
    mark=$(wc -l <"$WORK/daemon.log" 2>/dev/null || echo 0)
    (cd "$CORRIDOR_SRC" && CORRIDOR_LISTEN=127.0.0.1:$PORT CORRIDOR_DATA_DIR=$WORK/data \
        CORRIDOR_SPOOL_DIR=$WORK/spool exec "$CORRIDORD" "$@" 2>>"$WORK/daemon.log") &
    DAEMON_PID=$!
    until curl -s -o /dev/null --max-time 1 --http2 --cacert "$CERTS/ca.crt" \
        --cert "$CERTS/operator.crt" --key "$CERTS/operator.key" "https://127.0.0.1:$PORT/healthz"; do
        tries=$((tries + 1))
        if ! kill -0 "$DAEMON_PID" 2>/dev/null; then
            wait "$DAEMON_PID" 2>/dev/null
            DAEMON_PID=""
            tail -n +"$((mark + 1))" "$WORK/daemon.log" | grep -q "Address already in use" && return 2
            return 1
        fi
        [ $tries -gt 100 ] && return 1
        sleep 0.1
    done
    return 0
}

# start_daemon [extra corridord args...]: on a free port (the same one again on a restart),
# data in $WORK/data, the outbox's spool in $WORK/spool.
start_daemon() {
    local attempt rc=1 fixed=1
    [ -n "$PORT" ] || { pick_port; fixed=0; }
    for attempt in 1 2 3 4 5; do
        try_start "$@"
        rc=$?
        [ $rc -eq 2 ] || break
        if [ $fixed -eq 0 ]; then pick_port; else sleep 1; fi
    done
    if [ $rc -ne 0 ]; then
        echo "corridord did not come up; its log:"; tail -20 "$WORK/daemon.log"
        return 1
    fi
}

stop_daemon() { # [signal]
    [ -n "$DAEMON_PID" ] || return 0
    kill "-${1:-TERM}" "$DAEMON_PID" 2>/dev/null
    wait "$DAEMON_PID" 2>/dev/null
    DAEMON_PID=""
}

# req WHO METHOD PATH [curl args...]: sets STATUS, BODY (and HEADERS file $WORK/h).
req() {
    local who=$1 method=$2 path=$3
    shift 3
    STATUS=$(curl -s --http2 --max-time 10 --cacert "$CERTS/ca.crt" \
        --cert "$CERTS/$who.crt" --key "$CERTS/$who.key" -X "$method" \
        -D "$WORK/h" -o "$WORK/body" -w '%{http_code}' "$@" "https://127.0.0.1:$PORT$path")
    BODY=$(cat "$WORK/body" 2>/dev/null)
}
header() { grep -i "^$1:" "$WORK/h" | head -1 | cut -d' ' -f2- | tr -d '\r'; }

today() { date -u +%F; }
# A valid instruction (samples/payment.json with today's date), optionally edited by jq.
payment() { sed "s/@TODAY@/$(today)/g" "$CORRIDOR_SRC/samples/payment.json" | jq -c "${1:-.}"; }
