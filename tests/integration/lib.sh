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

# start_daemon [extra corridord args...]: on a free port, data in $WORK/data, the outbox's
# spool in $WORK/spool.
start_daemon() {
    local tries=0
    if [ -z "$PORT" ]; then
        PORT=$((20000 + RANDOM % 30000))
        while ! port_free "$PORT"; do PORT=$((20000 + RANDOM % 30000)); done
    fi
    (cd "$CORRIDOR_SRC" && CORRIDOR_LISTEN=127.0.0.1:$PORT CORRIDOR_DATA_DIR=$WORK/data \
        CORRIDOR_SPOOL_DIR=$WORK/spool exec "$CORRIDORD" "$@" 2>>"$WORK/daemon.log") &
    DAEMON_PID=$!
    until curl -s -o /dev/null --max-time 1 --http2 --cacert "$CERTS/ca.crt" \
        --cert "$CERTS/operator.crt" --key "$CERTS/operator.key" "https://127.0.0.1:$PORT/healthz"; do
        tries=$((tries + 1))
        if [ $tries -gt 100 ] || ! kill -0 "$DAEMON_PID" 2>/dev/null; then
            echo "corridord did not come up; its log:"; tail -20 "$WORK/daemon.log"
            return 1
        fi
        sleep 0.1
    done
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
