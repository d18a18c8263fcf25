#!/usr/bin/env bash
# kill -9 in the middle of the saga. Two clients stream initiations (each with its own
# Idempotency-Key) and correspondents' status updates at the daemon; it is killed without
# warning, restarted, and then:
#   - every change acknowledged before the kill (201, 200) is there;
#   - the requests whose answer was lost are retried with the same keys: none is doubled;
#   - the outbox resumes: every payment that left has exactly one pacs.008 in the spool, and
#     every file in the spool belongs to a stored payment;
#   - the ledger reconciles: the account's reserved amount is the sum of the payments holding
#     funds, its balance the opening balance less the completed ones — through the accounts
#     API, and through trk_verify on the stopped store (verify_store).
. "$(dirname "$0")/lib.sh"

ACCT=CRASH-ACCT
OPENING=1000000.00
SPOOL=$WORK/spool
STREAM_SECONDS=${CRASH_STREAM_SECONDS:-6}
start_daemon || exit 1

json() { req "$1" "$2" "$3" -H 'content-type: application/json' --data-binary "$4" "${@:5}"; }
json operator PUT "/v1/accounts/$ACCT" "{\"currency\":\"EUR\",\"balance\":\"$OPENING\",\"owner\":\"ACME-001\"}"
check "crash account created" 201 "$STATUS"

# One client: payment i of amount i.00; every third gets ACSP then ACCC, every fifth RJCT.
# Each acknowledged change is logged to $WORK/acks.$1 as "<what> <i> <uetr>".
body_for() { payment ".end_to_end_id = \"CRASH-$1\" | .amount = \"$1.00\" | .debtor.account = {\"other\": \"$ACCT\"}"; }
status_body() { # FROM STATUS ID [jq]
    jq -nc --arg f "$1" --arg s "$2" --arg id "$3" '{from:$f, transaction_status:$s,
        tracker_informing_party:$f, instruction_identification:$id, service_level:"G001",
        payment_scenario:"CCTR"}' | jq -c "${4:-.}"
}
update() { # WHO FROM STATUS I UETR [jq] — logs "<status> i uetr" on 200
    local code
    code=$(curl -s --http2 --max-time 5 --cacert "$CERTS/ca.crt" --cert "$CERTS/$1.crt" \
        --key "$CERTS/$1.key" -X PUT -o /dev/null -w '%{http_code}' \
        -H 'content-type: application/json' -H "idempotency-key: $3-$4" \
        --data-binary "$(status_body "$2" "$3" "I-$4" "${6:-.}")" \
        "https://127.0.0.1:$PORT/tracker/v6/payments/$5/status")
    [ "$code" = 200 ] && echo "$3 $4 $5" >>"$ACKS"
}
stream() { # CLIENT FIRST STEP
    local i=$2 out uetr code
    ACKS=$WORK/acks.$1
    while [ ! -f "$WORK/stop" ]; do
        echo "$i" >>"$WORK/tried.$1"
        out=$(curl -s --http2 --max-time 5 --cacert "$CERTS/ca.crt" --cert "$CERTS/channel.crt" \
            --key "$CERTS/channel.key" -H 'content-type: application/json' \
            -H "idempotency-key: crash-$i" --data-binary "$(body_for "$i")" \
            -w '\n%{http_code}' "https://127.0.0.1:$PORT/v1/payments")
        code=$(tail -1 <<<"$out")
        [ "$code" = 000 ] && break # the daemon is gone
        uetr=$(head -1 <<<"$out" | jq -r '.uetr // empty' 2>/dev/null)
        if [ "$code" = 201 ]; then
            echo "create $i $uetr" >>"$ACKS"
            if [ $((i % 3)) = 0 ]; then
                update correspondent CRSPUS30XXX ACSP "$i" "$uetr" '.transaction_status_reason = "G000"'
                update beneficiary BENFDE20XXX ACCC "$i" "$uetr" \
                    ".confirmed_amount = {currency: \"EUR\", amount: \"$i.00\"}"
            elif [ $((i % 5)) = 0 ]; then
                update correspondent CRSPUS30XXX RJCT "$i" "$uetr" '.reject_return_reason = "AC04"'
            fi
        fi
        i=$((i + $3))
    done
}

rm -f "$WORK/stop"
CLIENTS=""
for c in 1 2; do
    stream "$c" "$c" 2 &
    CLIENTS="$CLIENTS $!"
done
sleep "$STREAM_SECONDS"
kill -KILL "$DAEMON_PID"
wait "$DAEMON_PID" 2>/dev/null
DAEMON_PID=""
touch "$WORK/stop"
wait $CLIENTS
cat "$WORK"/acks.* 2>/dev/null | sort -k2n >"$WORK/acks"
ACKED=$(grep -c '^create' "$WORK/acks")
check_match "the stream got answers before the kill" '^[1-9][0-9]*$' "$ACKED"
echo "     $ACKED payments and $(grep -vc '^create' "$WORK/acks") updates acknowledged before kill -9"

start_daemon || exit 1

# --- every acknowledged change is there ------------------------------------------------------
missing=0
while read -r what i uetr; do
    req operator GET "/v1/payments/$uetr"
    case $what in
        create) [ "$STATUS $(jq -r .end_to_end_id <<<"$BODY")" = "200 CRASH-$i" ] || missing=$((missing + 1)) ;;
        *) [ "$(jq --arg s "$what" '[.events[] | select(.status == $s and .type == "CTSU")] | length' <<<"$BODY")" -ge 1 ] ||
            missing=$((missing + 1)) ;;
    esac
done <"$WORK/acks"
check "every acknowledged creation and update survived kill -9" 0 "$missing"

# --- retries of the requests whose answer was lost: same keys, nothing doubled ---------------
retried=0
bad=0
for i in $(cat "$WORK"/tried.* | sort -n); do
    grep -q "^create $i " "$WORK/acks" && continue
    json channel POST /v1/payments "$(body_for "$i")" -H "idempotency-key: crash-$i"
    retried=$((retried + 1))
    [ "$STATUS" = 201 ] || bad=$((bad + 1))
done
check "unanswered initiations retried with their keys: 201" 0 "$bad"
echo "     $retried initiations retried"

# all payments of the account, through the listing (paged)
list_all() {
    local cursor="" page
    : >"$WORK/all.json"
    while :; do
        req operator GET "/v1/payments?limit=500${cursor:+&cursor=$cursor}"
        [ "$STATUS" = 200 ] || { echo "listing failed: $STATUS $BODY"; return 1; }
        jq -c '.payments[]' <<<"$BODY" >>"$WORK/all.json"
        cursor=$(jq -r '.next_cursor // empty' <<<"$BODY")
        [ -n "$cursor" ] || break
    done
}
TRIED=$(cat "$WORK"/tried.* | wc -l | tr -d ' ')
list_all
check "one payment per initiation, none doubled" "$TRIED $TRIED" \
    "$(jq -r 'select(.end_to_end_id | startswith("CRASH-")) | .end_to_end_id' "$WORK/all.json" | wc -l | tr -d ' ') $(jq -r 'select(.end_to_end_id | startswith("CRASH-")) | .end_to_end_id' "$WORK/all.json" | sort -u | wc -l | tr -d ' ')"

# --- the outbox resumes: each payment that left has exactly one pacs.008 ---------------------
for t in $(seq 1 100); do
    req operator GET "/v1/payments?state=FUNDS_RESERVED&limit=1"
    [ "$(jq '.payments | length' <<<"$BODY")" = 0 ] && break
    sleep 0.1
done
check "outbox drained after the restart" 0 "$(jq '.payments | length' <<<"$BODY")"
list_all
jq -r 'select(.end_to_end_id | startswith("CRASH-")) | .uetr' "$WORK/all.json" | sort >"$WORK/uetrs"
ls -A "$SPOOL" | grep -c '^\.' >"$WORK/dotfiles" || true
check "no temporary files left in the spool" 0 "$(cat "$WORK/dotfiles")"
grep -ho '<\([A-Za-z0-9]*:\)\{0,1\}UETR>[0-9a-f-]*<' "$SPOOL"/*.xml | sed 's/.*UETR>//; s/<$//' |
    sort >"$WORK/spooled"
check "no pacs.008 doubled in the spool" "" "$(uniq -d "$WORK/spooled")"
check "every payment's pacs.008 delivered exactly once" "$(wc -l <"$WORK/uetrs")" "$(wc -l <"$WORK/spooled")"
check "the spool holds only stored payments" "" "$(comm -13 "$WORK/uetrs" "$WORK/spooled")"

# --- the ledger reconciles -------------------------------------------------------------------
held=$(jq -s '[.[] | select(.end_to_end_id | startswith("CRASH-")) | select(.state == "FUNDS_RESERVED" or .state == "SENT" or .state == "IN_PROGRESS") | (.amount | tonumber)] | add // 0' "$WORK/all.json")
spent=$(jq -s '[.[] | select(.end_to_end_id | startswith("CRASH-")) | select(.state == "COMPLETED") | (.amount | tonumber)] | add // 0' "$WORK/all.json")
req operator GET "/v1/accounts/$ACCT"
check "reserved = sum of the payments holding funds" "$held" "$(jq '.reserved | tonumber' <<<"$BODY")"
check "balance = opening - completed payments" "$(jq -n "$OPENING - $spent")" "$(jq '.balance | tonumber' <<<"$BODY")"
check "states after the crash: only the saga's" "" \
    "$(jq -r 'select(.end_to_end_id | startswith("CRASH-")) | .state' "$WORK/all.json" | sort -u | grep -Ev '^(SENT|IN_PROGRESS|COMPLETED|REJECTED)$')"

stop_daemon TERM
if [ -n "${CORRIDOR_VERIFY:-}" ]; then
    out=$("$CORRIDOR_VERIFY" "$WORK/data" 2>&1)
    check "trk_verify on the stopped store: consistent" "0" "$?"
    echo "     $out"
else
    fail "trk_verify on the stopped store" "CORRIDOR_VERIFY (verify_store) not given"
fi
finish
