#!/usr/bin/env bash
# The spine end to end: a channel posts a payment over HTTP/2 mTLS, Corridor answers with its
# UETR once it is durable, anyone entitled reads it back, the pacs.008 is conformant, bad
# input changes nothing, strangers never get in, and a kill -9 loses nothing acknowledged.
. "$(dirname "$0")/lib.sh"

start_daemon || exit 1

req channel GET /healthz
check "healthz answers 200" 200 "$STATUS"
check "responses carry x-request-id" 1 "$([ -n "$(header x-request-id)" ] && echo 1)"

# --- create and read back -------------------------------------------------------------------
req channel POST /v1/payments -H 'content-type: application/json' -d "$(payment)"
check "valid instruction: 201" 201 "$STATUS"
UETR=$(jq -r .uetr <<<"$BODY")
check_match "201 names a UUID v4 UETR" '^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$' "$UETR"
check "Location points at the payment" "/v1/payments/$UETR" "$(header location)"

req channel GET "/v1/payments/$UETR"
check "channel reads its payment" 200 "$STATUS"
check_match "view has the saga state (funds reserved; sent once the outbox delivered it)" \
    '^(FUNDS_RESERVED|SENT)$' "$(jq -r .state <<<"$BODY")"
check "view has the gpi status" ACSP "$(jq -r .status <<<"$BODY")"
check "view has the amount" "$(payment | jq -r .amount)" "$(jq -r .amount <<<"$BODY")"
check "view has the initiation event" CTPT "$(jq -r '.events[0].type' <<<"$BODY")"

req customer GET "/v1/payments/$UETR"
check "customer ACME-001 reads its own payment" 200 "$STATUS"
req operator GET "/v1/payments/$UETR"
check "operator reads any payment" 200 "$STATUS"
req correspondent GET "/v1/payments/$UETR"
check "correspondent: /v1/payments is not for its role" 403 "$STATUS"

req correspondent GET "/tracker/v6/payments/$UETR/transactions"
check "correspondent in the chain reads the tracker view" 200 "$STATUS"
check "tracker: transaction_status" ACSP "$(jq -r .transaction_status <<<"$BODY")"
check "tracker: first event is CTPT pacs.008" "CTPT pacs.008.001.08" \
    "$(jq -r '.payment_event[0] | "\(.tracker_event_type) \(.message_name_identification)"' <<<"$BODY")"
check "tracker: from debtor agent to the first intermediary" "CRDRGB20XXX CRSPUS30XXX" \
    "$(jq -r '.payment_event[0] | "\(.from) \(.to)"' <<<"$BODY")"
check "tracker: instructed amount" "$(payment | jq -r '"\(.currency) \(.amount)"')" \
    "$(jq -r '.payment_event[0].instructed_amount | "\(.currency) \(.amount)"' <<<"$BODY")"
check "tracker: the initiation's agents" "CRDRGB20XXX CRSPUS30XXX BENFDE20XXX" \
    "$(jq -r '.payment_event[0] | "\(.debtor_agent) \(.intermediary_agent1) \(.creditor_agent)"' <<<"$BODY")"
req beneficiary GET "/tracker/v6/payments/$UETR/transactions"
check "creditor agent (in the chain) reads the tracker view" 200 "$STATUS"
req customer GET "/tracker/v6/payments/$UETR/transactions"
check "customer reads the tracker view of its payment" 200 "$STATUS"

# --- the pacs.008 ---------------------------------------------------------------------------
req channel GET "/v1/payments/$UETR/messages/pacs.008"
check "pacs.008 served" 200 "$STATUS"
check_match "pacs.008 served as XML" '^application/xml' "$(header content-type)"
cp "$WORK/body" "$WORK/pacs008.xml"
xmllint --xpath "//*[local-name()='Document']" "$WORK/pacs008.xml" >"$WORK/doc.xml" 2>/dev/null
xmllint --xpath "//*[local-name()='AppHdr']" "$WORK/pacs008.xml" >"$WORK/hdr.xml" 2>/dev/null
check "pacs.008 carries the UETR" "$UETR" \
    "$(xmllint --xpath "string(//*[local-name()='UETR'])" "$WORK/doc.xml" 2>/dev/null)"
for part in "doc pacs.008.001.08" "hdr head.001.001.02"; do
    set -- $part
    if xmllint --noout --schema "$CORRIDOR_SRC/iso20022/schemas/$2.xsd" "$WORK/$1.xml" 2>"$WORK/x.log"; then
        pass "$2 valid against the project profile"
    else fail "$2 valid against the project profile" "$(head -3 "$WORK/x.log")"; fi
    if [ ! -f "$SHARED/iso20022/xsd/$2.xsd" ]; then
        fail "$2 against the official XSD" "../shared/iso20022/xsd/$2.xsd missing: conformance not checked"
    elif xmllint --noout --schema "$SHARED/iso20022/xsd/$2.xsd" "$WORK/$1.xml" 2>"$WORK/x.log"; then
        pass "$2 valid against the official ISO 20022 schema"
    else fail "$2 valid against the official ISO 20022 schema" "$(head -3 "$WORK/x.log")"; fi
done

# --- not yours, not there -------------------------------------------------------------------
req channel GET /v1/payments/00000000-0000-4000-8000-000000000000
check "unknown UETR: 404" 404 "$STATUS"
check "404 body has a code" PAYMENT_NOT_FOUND "$(jq -r .code <<<"$BODY")"
req channel POST /v1/payments -H 'content-type: application/json' \
    -d "$(payment '.customer_id = "OTHER-009" | .debtor.account = {"other": "OTHER-009-EUR"}')"
check "another customer's payment (from its own account): 201" 201 "$STATUS"
OTHER=$(jq -r .uetr <<<"$BODY")
req customer GET "/v1/payments/$OTHER"
check "customer reading another customer's payment: 404" 404 "$STATUS"
req customer GET "/tracker/v6/payments/$OTHER/transactions"
check "customer: another customer's tracker view: 404" 404 "$STATUS"
req customer POST /v1/payments -H 'content-type: application/json' -d "$(payment)"
check "customer initiating: 403" 403 "$STATUS"
req operator POST /v1/payments -H 'content-type: application/json' -d "$(payment)"
check "operator initiating: 403" 403 "$STATUS"
req channel POST /v1/payments -H 'content-type: application/json' \
    -d "$(payment '.debtor_agent.bic = "DEUTDEFFXXX"')"
check "channel initiating for another bank's BIC: 403" 403 "$STATUS"
req channel DELETE "/v1/payments/$UETR"
check "unsupported method: 405" 405 "$STATUS"
req channel DELETE "/tracker/v6/payments/$UETR/transactions"
check "405 under /tracker/v6 carries gpi severity" "405 Logic" "$STATUS $(jq -r .severity <<<"$BODY")"
req channel GET /v1/nowhere
check "unknown route: 404" 404 "$STATUS"

# --- bad input: a precise error, nothing stored ---------------------------------------------
req channel POST /v1/payments -H 'content-type: text/plain' -d "$(payment)"
check "wrong media type: 415" 415 "$STATUS"
for fx in "$CORRIDOR_SRC"/samples/invalid/*.json; do
    name=$(basename "$fx" .json)
    want_status=$(head -1 "${fx%.json}.expect")
    want=$(tail -n +2 "${fx%.json}.expect" | sort)
    probe=$(uuidgen -r)
    body=$(sed "s/@TODAY@/$(today)/g" "$fx")
    # give a well-formed object a fresh UETR (unless the fixture is about the UETR) to prove
    # afterwards that nothing was stored under it
    if [ "$want_status" = 422 ] && jq -e 'type == "object" and (has("uetr") | not)' <<<"$body" >/dev/null 2>&1; then
        body=$(jq -c --arg u "$probe" '.uetr = $u' <<<"$body")
    else probe=""; fi
    req channel POST /v1/payments -H 'content-type: application/json' --data-binary "$body"
    check "invalid/$name: $want_status" "$want_status" "$STATUS"
    got=$(jq -r '.errors[] | "\(.path) \(.code)"' <<<"$BODY" 2>/dev/null | sort)
    check "invalid/$name: every problem listed with its path" "$want" "$got"
    if [ -n "$probe" ]; then
        req channel GET "/v1/payments/$probe"
        check "invalid/$name: nothing stored" 404 "$STATUS"
    fi
done

# --- idempotency ----------------------------------------------------------------------------
BODY1=$(payment '.end_to_end_id = "IDEM-1"')
req channel POST /v1/payments -H 'content-type: application/json' -H 'idempotency-key: k-1' -d "$BODY1"
FIRST="$STATUS $BODY"
req channel POST /v1/payments -H 'content-type: application/json' -H 'idempotency-key: k-1' -d "$BODY1"
check "same key, same body: the original response replayed" "$FIRST" "$STATUS $BODY"
check "replay keeps the Location" "/v1/payments/$(jq -r .uetr <<<"$BODY")" "$(header location)"
req channel POST /v1/payments -H 'content-type: text/plain' -H 'idempotency-key: k-1' -d "$BODY1"
check "a retry is answered from the store before any validation" "$FIRST" "$STATUS $BODY"
req channel POST /v1/payments -H 'content-type: application/json' -H 'idempotency-key: k-1' \
    -d "$(payment '.end_to_end_id = "IDEM-2"')"
check "same key, other body: 409" 409 "$STATUS"
check "409 code" IDEMPOTENCY_KEY_REUSED "$(jq -r .code <<<"$BODY")"
FIXED=$(uuidgen -r)
req channel POST /v1/payments -H 'content-type: application/json' -d "$(payment ".uetr = \"$FIXED\"")"
check "client-chosen UETR accepted" "201 $FIXED" "$STATUS $(jq -r .uetr <<<"$BODY")"
req channel POST /v1/payments -H 'content-type: application/json' -d "$(payment ".uetr = \"$FIXED\"")"
check "the same UETR again: 409" "409 UETR_EXISTS" "$STATUS $(jq -r .code <<<"$BODY")"

# --- who gets in ----------------------------------------------------------------------------
curl -s -o /dev/null --http2 --max-time 5 --cacert "$CERTS/ca.crt" "https://127.0.0.1:$PORT/healthz"
check "no client certificate: handshake refused" 1 "$([ $? -ne 0 ] && echo 1)"
curl -s -o /dev/null --http2 --max-time 5 --cacert "$CERTS/ca.crt" --cert "$CERTS/stranger.crt" \
    --key "$CERTS/stranger.key" "https://127.0.0.1:$PORT/healthz"
check "certificate from another CA: handshake refused" 1 "$([ $? -ne 0 ] && echo 1)"
curl -s -o /dev/null --http1.1 --max-time 5 --cacert "$CERTS/ca.crt" --cert "$CERTS/channel.crt" \
    --key "$CERTS/channel.key" "https://127.0.0.1:$PORT/healthz"
check "HTTP/1.1 (no ALPN h2): refused" 1 "$([ $? -ne 0 ] && echo 1)"
curl -s -o /dev/null --http2 --tls-max 1.2 --max-time 5 --cacert "$CERTS/ca.crt" \
    --cert "$CERTS/channel.crt" --key "$CERTS/channel.key" "https://127.0.0.1:$PORT/healthz"
check "TLS 1.2: refused" 1 "$([ $? -ne 0 ] && echo 1)"

# --- limits ---------------------------------------------------------------------------------
head -c 2000000 /dev/zero | tr '\0' 'a' >"$WORK/big"
req channel POST /v1/payments -H 'content-type: application/json' --data-binary @"$WORK/big"
check "body over the limit: 413" 413 "$STATUS"
req channel GET /healthz
check "still serving after the 413" 200 "$STATUS"

# --- kill -9 after a 201: the payment survives ----------------------------------------------
req channel POST /v1/payments -H 'content-type: application/json' -d "$(payment '.end_to_end_id = "CRASH-1"')"
check "201 before the crash" 201 "$STATUS"
DURABLE=$(jq -r .uetr <<<"$BODY")
stop_daemon KILL
start_daemon || exit 1
req channel GET "/v1/payments/$DURABLE"
check "after kill -9 and restart the acknowledged payment is there" "200 CRASH-1" \
    "$STATUS $(jq -r .end_to_end_id <<<"$BODY")"
req channel GET "/v1/payments/$DURABLE/messages/pacs.008"
check "and so is its pacs.008" 200 "$STATUS"

stop_daemon TERM
finish
