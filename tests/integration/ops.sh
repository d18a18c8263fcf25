#!/usr/bin/env bash
# Operability end to end: configuration errors each reported by --check-config; /healthz and
# /readyz through their transitions (spool gone, draining on SIGTERM); /metrics that promtool
# accepts; docs/openapi.yaml linted, served byte for byte and listing exactly the router's
# routes; a SIGTERM under load that loses nothing acknowledged; the tracking page rendered by
# headless Chromium (screenshot kept); and the daemon's logs: JSON lines, no account numbers.
#
# Tools: promtool (Debian package prometheus), chromium, and an OpenAPI linter (@redocly/cli)
# that this script installs with npm under CORRIDOR_TOOLS (the build tree) on first use.
. "$(dirname "$0")/lib.sh"

HERE=$(cd "$(dirname "$0")" && pwd)
ARTIFACTS=${CORRIDOR_ARTIFACTS:-$WORK/artifacts}
TOOLS=${CORRIDOR_TOOLS:-$WORK/tools}
REDOCLY_VERSION=2.77.0
STOP_BOUND_S=15   # SIGTERM to exit, at most
LOAD_SECONDS=2    # load before the SIGTERM
LOADERS=4
IBANS="GB33BUKB20201555555555 DE89370400440532013000"
mkdir -p "$ARTIFACTS" "$TOOLS"

json() { req "$1" "$2" "$3" -H 'content-type: application/json' --data-binary "$4" "${@:5}"; }
pay() { # jq filter: a channel payment; sets UETR
    json channel POST /v1/payments "$(payment "$1")"
    UETR=$(jq -r '.uetr // empty' <<<"$BODY")
}
wait_state() { # UETR STATE...: poll until the payment is in one of the states (outbox thread)
    local i s
    for i in $(seq 1 50); do
        req channel GET "/v1/payments/$1"
        s=$(jq -r .state <<<"$BODY")
        [[ " ${*:2} " == *" $s "* ]] && break
        sleep 0.1
    done
    printf '%s' "$s"
}
gpi() { # WHO UETR STATUS [jq edits]: a PaymentStatusRequest9 from WHO's own BIC
    local bic
    case $1 in correspondent) bic=CRSPUS30XXX ;; beneficiary) bic=BENFDE20XXX ;; esac
    json "$1" PUT "/tracker/v6/payments/$2/status" "$(jq -nc --arg f "$bic" --arg s "$3" \
        '{from:$f, transaction_status:$s, tracker_informing_party:$f,
          instruction_identification:"OPS-INSTR", service_level:"G001", payment_scenario:"CCTR"}' |
        jq -c "${4:-.}")"
}
now_ms() { echo $(($(date +%s%N) / 1000000)); }
# wait_exit PID BOUND_S: sets EXIT_RC and EXIT_MS (how long the process took to end); a
# process still there after the bound is killed (EXIT_RC 137).
wait_exit() {
    local t0
    t0=$(now_ms)
    while kill -0 "$1" 2>/dev/null && [ $(($(now_ms) - t0)) -lt $(($2 * 1000)) ]; do sleep 0.05; done
    kill -0 "$1" 2>/dev/null && kill -KILL "$1"
    wait "$1"
    EXIT_RC=$?
    EXIT_MS=$(($(now_ms) - t0))
}

# === configuration: --check-config ==========================================================
check_config() { # args...: sets CC_RC and CC_OUT (stdout and stderr)
    CC_OUT=$(cd "$CORRIDOR_SRC" && env -u CORRIDOR_CONFIG "$CORRIDORD" --check-config "$@" 2>&1)
    CC_RC=$?
}
check_config --config samples/corridor.conf
check "samples/corridor.conf: configuration OK" "0 configuration OK" "$CC_RC $CC_OUT"
for conf in "$HERE"/fixtures/config/*.conf; do # each line of the .expect must be reported
    name=$(basename "$conf" .conf)
    check_config --config "$(realpath --relative-to="$CORRIDOR_SRC" "$conf")"
    check "config/$name: refused" 1 "$([ "$CC_RC" -ne 0 ] && echo 1)"
    while IFS= read -r want; do
        if [[ "$CC_OUT" == *"$want"* ]] && [[ "$CC_OUT" != *"configuration OK"* ]]; then
            pass "config/$name: reported: $want"
        else fail "config/$name: reported" "expected [$want] in [$CC_OUT]"; fi
    done <"${conf%.conf}.expect"
done
check_config --config "$WORK/absent.conf"
check_match "a config file that is not there: named" "absent.conf: No such file or directory" "$CC_RC $CC_OUT"
CC_OUT=$(cd "$CORRIDOR_SRC" && CORRIDOR_WORKERS=100 "$CORRIDORD" --check-config 2>&1)
check_match "environment out of bounds: named" "workers: expected a whole number from 0 to 64, got '100'" "$CC_OUT"
check_config --listen nowhere
check_match "flag out of bounds: named" "listen: expected HOST:PORT" "$CC_OUT"

# === up: health, readiness, the OpenAPI document ===========================================
start_daemon || exit 1
req channel GET /healthz
check "healthz: 200 ok" "200 ok" "$STATUS $(jq -r .status <<<"$BODY")"
req operator GET /readyz
check "readyz: 200 ready, every check passing" \
    '200 ready {"draining":false,"schemas":true,"spool":true,"store":true}' \
    "$STATUS $(jq -r .status <<<"$BODY") $(jq -cS .checks <<<"$BODY")"

for who in channel correspondent customer operator; do
    req "$who" GET /openapi.yaml
    same=$(cmp -s "$WORK/body" "$CORRIDOR_SRC/docs/openapi.yaml" && echo same)
    check "openapi.yaml for $who: 200 application/yaml, the bytes of docs/openapi.yaml" \
        "200 application/yaml same" "$STATUS $(header content-type) $same"
done

# --- the readiness transitions: the spool goes away and comes back ---------------------------
mv "$WORK/spool" "$WORK/spool.away"
req operator GET /readyz
check "spool gone: readyz 503 not_ready, spool check failing" "503 not_ready false" \
    "$STATUS $(jq -r '"\(.status) \(.checks.spool)"' <<<"$BODY")"
req operator GET /healthz
check "spool gone: healthz still 200 (alive, not ready)" 200 "$STATUS"
mv "$WORK/spool.away" "$WORK/spool"
req operator GET /readyz
check "spool back: readyz 200 again" 200 "$STATUS"

# === metrics: some traffic, then promtool on the live exposition ============================
for i in 1 2 3; do pay ".end_to_end_id = \"OPS-M-$i\""; done
check "payments for the metrics: 201" 201 "$STATUS"
req channel GET /v1/nowhere
req customer POST /v1/payments -H 'content-type: application/json' -d "$(payment)"
req channel GET /metrics
check "metrics for a channel: 403" 403 "$STATUS"
req customer GET /metrics
check "metrics for a customer: 403" 403 "$STATUS"
req operator GET /metrics
check "metrics for the operator: 200" 200 "$STATUS"
check_match "metrics: Prometheus text format 0.0.4" '^text/plain; version=0\.0\.4' "$(header content-type)"
cp "$WORK/body" "$ARTIFACTS/metrics.txt"
PROM=$(promtool check metrics <"$WORK/body" 2>&1)
check "promtool check metrics: no problems" "0 " "$? $PROM"
metric() { awk -v k="$1" '$1 == k { print $2 }' "$ARTIFACTS/metrics.txt"; }
check_match "metrics: the 201s of POST /v1/payments counted" '^[3-9]$|^[1-9][0-9]+$' \
    "$(metric 'corridor_http_requests_total{route="/v1/payments",method="POST",status="201"}')"
check_match "metrics: refusals by role counted" '^[1-9]' \
    "$(metric 'corridor_authz_refusals_total{role="customer"}')"
check_match "metrics: payments in the store" '^[3-9]$|^[1-9][0-9]+$' "$(metric corridor_payments)"

# === OpenAPI: lint, and the routes it lists are the routes the gateway serves ================
LINT=$TOOLS/npm/node_modules/.bin/redocly
export REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true NO_UPDATE_NOTIFIER=1
if { [ ! -x "$LINT" ] || [ "$("$LINT" --version 2>/dev/null)" != "$REDOCLY_VERSION" ]; } &&
    command -v npm >/dev/null; then
    timeout 180 npm install --prefix "$TOOLS/npm" --no-audit --no-fund --loglevel=error \
        "@redocly/cli@$REDOCLY_VERSION" >"$WORK/npm.log" 2>&1 || tail -5 "$WORK/npm.log"
fi
if [ -x "$LINT" ]; then
    timeout 60 "$LINT" lint --config "$HERE/redocly.yaml" --format=json \
        "$CORRIDOR_SRC/docs/openapi.yaml" >"$WORK/lint.json" 2>"$WORK/lint.err"
    check "openapi.yaml lints clean (redocly recommended): 0 errors, 0 warnings" \
        "0 0" "$(jq -r '"\(.totals.errors) \(.totals.warnings)"' "$WORK/lint.json" 2>/dev/null)"
    [ "$FAILED" -eq 0 ] || jq -r '.problems[]? | "     \(.ruleId): \(.message) at \(.location[0].pointer)"' \
        "$WORK/lint.json" 2>/dev/null | head -20
    timeout 60 "$LINT" bundle "$CORRIDOR_SRC/docs/openapi.yaml" --ext json \
        -o "$WORK/openapi.json" >/dev/null 2>&1
    jq -r '.paths | to_entries[] | .key as $p | .value | keys[]
           | select(IN("get","put","post","delete","patch")) | "\(ascii_upcase) \($p)"' \
        "$WORK/openapi.json" | sed -E 's/\{[a-z_]+\}/{}/g' | sort >"$WORK/spec.routes"
else
    fail "openapi.yaml lint" "no linter: npm missing or '@redocly/cli' did not install (needs Node 20.19+)"
    : >"$WORK/spec.routes"
fi
grep -oE '\{"(GET|POST|PUT|PATCH|DELETE)", "/[^"]*"' "$CORRIDOR_SRC/gateway/router.c" |
    sed -E 's/^\{"([A-Z]+)", "([^"]*)"/\1 \2/; s/\{[a-z_]+\}/{}/g' | sort >"$WORK/router.routes"
check_match "router.c's table parsed" '^[1-9][0-9]$' "$(wc -l <"$WORK/router.routes" | tr -d ' ')"
check "openapi.yaml lists exactly the router's routes" "" \
    "$(diff "$WORK/router.routes" "$WORK/spec.routes" | grep '^[<>]' | tr '\n' ' ')"

# === the tracking page =======================================================================
THREE='.intermediary_agents = [{"bic":"CRSPUS30XXX"},{"bic":"INTBFRPPXXX"},{"bic":"INTCJPJTXXX"}]'
CHAIN="CRDRGB20XXX CRSPUS30XXX INTBFRPPXXX INTCJPJTXXX BENFDE20XXX"
ACSP_HOP='.transaction_status_reason = "G000" | .instructed_agent = {bicfi:"INTBFRPPXXX"}
  | .charges_information = [{amount:{currency:"EUR",amount:"10.00"},agent:{bicfi:"CRSPUS30XXX"}}]
  | .source_currency = "EUR" | .target_currency = "USD" | .exchange_rate = "1.0832"'

pay "$THREE | .end_to_end_id = \"OPS-TRACK-1\" | .creditor.name = \"Jane <b>Smith</b>\""
ON_WAY=$UETR
pay "$THREE | .end_to_end_id = \"OPS-TRACK-2\""
DONE=$UETR
pay "$THREE | .end_to_end_id = \"OPS-TRACK-3\""
STOPPED=$UETR
check "three payments with three intermediaries" 3 "$(printf '%s\n' "$ON_WAY" "$DONE" "$STOPPED" | grep -c .)"
for u in "$ON_WAY" "$DONE" "$STOPPED"; do wait_state "$u" SENT IN_PROGRESS >/dev/null; done
gpi correspondent "$ON_WAY" ACSP "$ACSP_HOP"
check "on its way: the first intermediary confirms (ACSP G000)" 200 "$STATUS"
gpi correspondent "$DONE" ACSP "$ACSP_HOP"
gpi beneficiary "$DONE" ACCC '.confirmed_amount = {currency:"USD",amount:"1326.45"}
  | .charges_information = [{amount:{currency:"USD",amount:"5.00"},agent:{bicfi:"BENFDE20XXX"}}]'
check "delivered: the creditor agent credits (ACCC)" 200 "$STATUS"
# a late, conflicting RJCT after the ACCC: recorded as an anomaly, never shown as the hop's state
gpi correspondent "$DONE" RJCT '.reject_return_reason = "AC04" | .instruction_identification = "OPS-LATE"'
check "delivered: a late RJCT is recorded" 200 "$STATUS"
req channel GET "/tracker/v6/payments/$DONE/transactions"
check "delivered: ... as an anomaly (valid: false), the payment still ACCC" "ACCC false" \
    "$(jq -r '"\(.transaction_status) \([.payment_event[] | select(.event_status == "RJCT") | .valid] | map(tostring) | join(","))"' <<<"$BODY")"
gpi correspondent "$STOPPED" RJCT '.reject_return_reason = "AC04"'
check "stopped: the first intermediary rejects (RJCT AC04)" 200 "$STATUS"

# render NAME UETR: the page over mTLS into a file, then Chromium renders that file (it cannot
# present our client certificate) to a DOM dump and a screenshot.
CHROME="chromium --headless --no-sandbox --disable-gpu --disable-background-networking
  --disable-component-update --disable-sync --no-first-run --hide-scrollbars"
render() {
    local profile
    req customer GET "/track/$2"
    cp "$WORK/body" "$WORK/$1.html"
    cp "$WORK/h" "$WORK/$1.headers"
    profile=$(mktemp -d "$WORK/chrome.XXXXXX")
    timeout 60 $CHROME --user-data-dir="$profile" --dump-dom "file://$WORK/$1.html" \
        >"$WORK/$1.dom" 2>>"$WORK/chromium.log"
    timeout 60 $CHROME --user-data-dir="$profile" --window-size=1200,900 \
        --screenshot="$ARTIFACTS/$1.png" "file://$WORK/$1.html" >>"$WORK/chromium.log" 2>&1
}
xp() { xmllint --html --xpath "$2" "$WORK/$1.dom" 2>/dev/null; }
hops() { # NAME: "BIC:state ..." from the rendered DOM
    local n i out=""
    n=$(xp "$1" "count(//g[@class='hop'])")
    for i in $(seq 1 "${n:-0}"); do
        out+="$(xp "$1" "string((//g[@class='hop'])[$i]/@data-bic)"):$(xp "$1" "string((//g[@class='hop'])[$i]/@data-state)") "
    done
    printf '%s' "${out% }"
}
expect_hops() { local out="" b i=0 s=($1); for b in $CHAIN; do out+="$b:${s[$i]} "; i=$((i + 1)); done; printf '%s' "${out% }"; }

render track-page "$ON_WAY"
check "page: 200 text/html for the customer" "200 text/html; charset=utf-8" \
    "$STATUS $(grep -i '^content-type:' "$WORK/track-page.headers" | cut -d' ' -f2- | tr -d '\r')"
check_match "page: a content-security-policy that allows nothing external" "^default-src 'none'" \
    "$(grep -i '^content-security-policy:' "$WORK/track-page.headers" | cut -d' ' -f2- | tr -d '\r')"
check "page: no external assets (no src, href or url())" 0 \
    "$(grep -ciE 'src=|href=|url\(' "$WORK/track-page.html")"
check "page: Chromium rendered it (DOM dumped, screenshot taken)" "1 1" \
    "$([ -s "$WORK/track-page.dom" ] && echo 1) $([ -s "$ARTIFACTS/track-page.png" ] && echo 1)"
check "on its way: one hop per bank, confirmed ones done, the next current" \
    "$(expect_hops "done done current pending pending")" "$(hops track-page)"
check_match "on its way: status in words" '^On its way' "$(xp track-page "normalize-space(//p[@id='status'])")"
check "on its way: gpi status on the page" ACSP "$(xp track-page "string(//p[@id='status']/@data-status)")"
check "on its way: amount sent" "EUR 1234.56" "$(xp track-page "normalize-space(//dd[@data-field='Sent'])")"
check "on its way: each hop's status, charges and FX in the table" "ACSP ACSP EUR 10.00 1.0832" \
    "$(xp track-page "normalize-space(concat((//tr[@class='event'])[1]/td[@class='status'], ' ',
        (//tr[@class='event'])[last()]/td[@class='status'], ' ',
        (//tr[@class='event'])[last()]/td[7], ' ', (//tr[@class='event'])[last()]/td[8]))")"
check "creditor name escaped, not markup" "0 Payment to Jane <b>Smith</b>" \
    "$(xp track-page "count(//h1/b)") $(xp track-page "normalize-space(//h1)")"
echo "     screenshot: $ARTIFACTS/track-page.png"

render track-page-delivered "$DONE"
check "delivered: every hop done (the late RJCT does not mark one rejected)" \
    "$(expect_hops "done done done done done")" "$(hops track-page-delivered)"
check_match "delivered: status in words" '^Delivered' \
    "$(xp track-page-delivered "normalize-space(//p[@id='status'])")"
check "delivered: amounts sent and received" "EUR 1234.56 USD 1326.45" \
    "$(xp track-page-delivered "normalize-space(concat(//dd[@data-field='Sent'], ' ', //dd[@data-field='Received']))")"

render track-page-stopped "$STOPPED"
check "stopped: the rejecting hop is marked, the rest never reached" \
    "$(expect_hops "done rejected pending pending pending")" "$(hops track-page-stopped)"
check_match "stopped: status in words with the reason" '^Stopped: .*AC04' \
    "$(xp track-page-stopped "normalize-space(//p[@id='status'])")"

# --- the page's authorization: the tracker view's ------------------------------------------
pay '.customer_id = "OTHER-009" | .debtor.account = {"other": "OTHER-009-EUR"} | .end_to_end_id = "OPS-OTHER"
     | .intermediary_agents = [] | .creditor_agent.bic = "DEUTDEFFXXX"'
OTHER=$UETR
check "another customer's payment created" 201 "$STATUS"
for who in correspondent customer channel operator beneficiary; do
    req "$who" GET "/track/$ON_WAY"
    check "page as $who (entitled): 200" 200 "$STATUS"
done
req customer GET "/track/$OTHER"
check "page of another customer's payment: 404" 404 "$STATUS"
req beneficiary GET "/track/$OTHER"
check "page for a correspondent outside the chain: 404" 404 "$STATUS"
req customer GET /track/00000000-0000-4000-8000-000000000000
check "page of an unknown UETR: 404" 404 "$STATUS"

# === draining: /readyz is 503 once SIGTERM arrived =========================================
# A request whose headers arrive before the signal and whose body after it is still answered
# (the GOAWAY keeps in-flight streams); by then the gateway is draining. The body is released
# only once the signal was sent.
{ for i in $(seq 1 200); do [ -e "$WORK/release" ] && break; sleep 0.05; done; printf x; } |
    curl -s --http2 --max-time 15 --cacert "$CERTS/ca.crt" --cert "$CERTS/operator.crt" \
        --key "$CERTS/operator.key" -X GET -T - -H 'content-type: text/plain' \
        -o "$WORK/drain.body" -w '%{http_code}' "https://127.0.0.1:$PORT/readyz" >"$WORK/drain.status" &
SLOW=$!
for i in $(seq 1 50); do # the slow connection is open (this one makes the second)
    req operator GET /metrics
    [ "$(awk '$1 == "corridor_connections_open" { print $2 }' "$WORK/body")" -ge 2 ] 2>/dev/null && break
    sleep 0.1
done
sleep 0.3 # its request headers are in
kill -TERM "$DAEMON_PID"
sleep 0.2
touch "$WORK/release"
wait "$SLOW"
check "draining: an in-flight /readyz answers 503 draining" "503 not_ready true" \
    "$(cat "$WORK/drain.status") $(jq -r '"\(.status) \(.checks.draining)"' "$WORK/drain.body" 2>/dev/null)"
wait_exit "$DAEMON_PID" "$STOP_BOUND_S"
DAEMON_PID=""
check "SIGTERM: exit 0 once the in-flight request is answered" 0 "$EXIT_RC"

# === SIGTERM under load: nothing acknowledged is lost ======================================
start_daemon || exit 1
LOAD_BODY=$(payment '.end_to_end_id = "OPS-LOAD"')
loader() { # N: POST payments until the gateway is gone; every 201's UETR into acked-N
    local n=$1 code rc end=$((SECONDS + LOAD_SECONDS + STOP_BOUND_S + 5))
    : >"$WORK/acked-$n"
    while [ $SECONDS -lt $end ]; do
        code=$(curl -s --http2 --max-time 10 --cacert "$CERTS/ca.crt" --cert "$CERTS/channel.crt" \
            --key "$CERTS/channel.key" -H 'content-type: application/json' \
            --data-binary "$LOAD_BODY" -o "$WORK/load-$n.body" -w '%{http_code}' \
            "https://127.0.0.1:$PORT/v1/payments")
        rc=$?
        [ "$code" = 201 ] && jq -r .uetr "$WORK/load-$n.body" >>"$WORK/acked-$n"
        [ $rc -eq 7 ] && break # connection refused: the listener is closed
    done
}
LOADER_PIDS=()
for n in $(seq 1 $LOADERS); do loader "$n" & LOADER_PIDS+=($!); done
sleep "$LOAD_SECONDS"
kill -TERM "$DAEMON_PID"
wait_exit "$DAEMON_PID" "$STOP_BOUND_S"
DAEMON_PID=""
check "SIGTERM under load: exit 0" 0 "$EXIT_RC"
check "SIGTERM under load: exited within ${STOP_BOUND_S}s" 1 "$([ "$EXIT_MS" -lt $((STOP_BOUND_S * 1000)) ] && echo 1)"
echo "     stopped in ${EXIT_MS} ms"
wait "${LOADER_PIDS[@]}"
cat "$WORK"/acked-* | grep -E '^[0-9a-f-]{36}$' | sort -u >"$WORK/acked"
ACKED=$(wc -l <"$WORK/acked" | tr -d ' ')
check_match "load: payments acknowledged before the SIGTERM" '^[1-9][0-9]*$' "$ACKED"
start_daemon || exit 1
: >"$WORK/present"
for pass_no in 1 2 3; do # one connection for the lot; a 429 (rate limit) is asked again
    comm -23 "$WORK/acked" "$WORK/present" | sed "s|^|https://127.0.0.1:$PORT/v1/payments/|" >"$WORK/urls"
    [ -s "$WORK/urls" ] || break
    xargs curl -s --http2 --max-time 60 --cacert "$CERTS/ca.crt" --cert "$CERTS/channel.crt" \
        --key "$CERTS/channel.key" -w '%{stderr}%{http_code} %{url_effective}\n' \
        <"$WORK/urls" 2>"$WORK/codes" >/dev/null
    awk '$1 == 200 { n = split($2, p, "/"); print p[n] }' "$WORK/codes" |
        sort -u - "$WORK/present" -o "$WORK/present"
    grep -q '^429 ' "$WORK/codes" && sleep 1
done
check "after SIGTERM and restart: every acknowledged payment is there" "$ACKED/$ACKED" \
    "$(wc -l <"$WORK/present" | tr -d ' ')/$ACKED"
stop_daemon TERM

# === the daemon's logs ========================================================================
start_daemon || exit 1
req operator GET /v1/accounts/GB33BUKB20201555555555 # an account number in a path
check "an account read by the operator" 200 "$STATUS"
stop_daemon TERM
LOG=$WORK/daemon.log
cp "$LOG" "$ARTIFACTS/ops-daemon.log"
LINES=$(wc -l <"$LOG" | tr -d ' ')
check "logs: every line one JSON object with time, level and event ($LINES lines)" 0 \
    "$(jq -R 'fromjson? // null | select(type != "object" or (has("time") and has("level") and has("event") | not))' \
        "$LOG" 2>/dev/null | grep -c . ; true)"
check "logs: every line parses" "$LINES" "$(jq -R 'fromjson? | select(type == "object")' -c "$LOG" 2>/dev/null | wc -l | tr -d ' ')"
check "logs: request lines carry request_id, principal, route, status, duration_us" 0 \
    "$(jq -R -c 'fromjson? | select(.event == "request")
        | select([has("request_id","principal","route","status","duration_us")] | all | not)' "$LOG" | grep -c .)"
check_match "logs: request lines exist" '^[1-9]' "$(grep -c '"event":"request"' "$LOG")"
check "logs: route is the matched pattern" 1 \
    "$(jq -R -c 'fromjson? | select(.event == "request" and .route == "/track/{uetr}")' "$LOG" | grep -q . && echo 1)"
for iban in $IBANS; do
    check "logs: no full account number (${iban:0:4}...)" 0 "$(grep -c "$iban" "$LOG")"
done

finish
