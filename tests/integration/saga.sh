#!/usr/bin/env bash
# The payment saga end to end, over HTTP/2 mTLS with the dev identities: funds reserved before
# the 201 (AC01 / AM03 / AM04 refusals), outbox delivery to the spool (SENT), correspondents'
# gpi status updates and ISO 20022 pacs.002 / pacs.004 / camt.029, the chain growing hop by
# hop, settlement, compensation, stop and recall, returns, duplicates and out-of-order
# updates, listings and the changed feed, accounts, idempotent retries, scheduled payments and
# the SLA. After each flow the ledger is checked through the accounts API.
. "$(dirname "$0")/lib.sh"

FIX=$(cd "$(dirname "$0")" && pwd)/fixtures
SPOOL=$WORK/spool
T0=$(date -u +%Y-%m-%dT%H:%M:%SZ)
start_daemon || exit 1

json() { req "$1" "$2" "$3" -H 'content-type: application/json' --data-binary "$4" "${@:5}"; }

# account ID CCY BALANCE [OWNER]: an operator (re)sets a ledger account.
account() {
    json operator PUT "/v1/accounts/$1" \
        "$(jq -nc --arg c "$2" --arg b "$3" --arg o "${4:-ACME-001}" '{currency:$c,balance:$b,owner:$o}')"
}
# ledger ID: "balance reserved" as the accounts API shows them.
ledger() { req operator GET "/v1/accounts/$1"; jq -r '"\(.balance) \(.reserved)"' <<<"$BODY"; }

# pay FILTER: a channel payment from samples/payment.json edited by jq; sets UETR.
pay() {
    json channel POST /v1/payments "$(payment "$1")" "${@:2}"
    UETR=$(jq -r '.uetr // empty' <<<"$BODY")
}
from_acct() { printf '.debtor.account = {"other": "%s"} | .amount = "%s" | .end_to_end_id = "%s"' "$1" "$2" "${3:-E2E-$1}"; }

view() { req channel GET "/v1/payments/$1"; }
state_of() { view "$1"; jq -r .state <<<"$BODY"; }
# wait_state UETR STATE: poll (the outbox and the timers work on their own threads).
wait_state() {
    local s i
    for i in $(seq 1 100); do
        s=$(state_of "$1")
        [ "$s" = "$2" ] && break
        sleep 0.1
    done
    printf '%s' "$s"
}
track() { req "${2:-channel}" GET "/tracker/v6/payments/$1/transactions"; }
n_events() { view "$1"; jq '.events | length' <<<"$BODY"; }

# gpi WHO UETR STATUS [jq edits...]: PUT a PaymentStatusRequest9 as WHO (its own BIC by default).
bic_of() { case $1 in correspondent) echo CRSPUS30XXX ;; beneficiary) echo BENFDE20XXX ;; *) echo CRDRGB20XXX ;; esac; }
gpi_body() { # WHO STATUS [jq filter]
    jq -nc --arg f "$(bic_of "$1")" --arg s "$2" '{from:$f, transaction_status:$s,
        tracker_informing_party:$f, instruction_identification:"INSTR-1", service_level:"G001",
        payment_scenario:"CCTR"}' | jq -c "${3:-.}"
}
gpi() { json "$1" PUT "/tracker/v6/payments/$2/status" "$(gpi_body "$1" "$3" "${4:-.}")" "${@:5}"; }

# iso KIND WHO UETR STATUS REASON [CCY AMOUNT]: a correspondent's ISO 20022 message from the
# fixtures, filled for the payment; the file is $MSG (post it with post_msg).
iso() {
    local kind=$1 from=$2 uetr=$3 status=$4 reason=$5 ccy=${6:-EUR} amount=${7:-1.00} block="" v
    req channel GET "/v1/payments/$uetr"
    v=$BODY
    case $kind/$reason in
        pacs.002/?*) block="<StsRsnInf><Rsn><Cd>$reason</Cd></Rsn></StsRsnInf>" ;;
        camt.029/?*) block="<CxlStsRsnInf><Rsn><Cd>$reason</Cd></Rsn></CxlStsRsnInf>" ;;
    esac
    MSG=$WORK/msg-$RANDOM$RANDOM.xml
    sed -e "s/@UETR@/$uetr/g" -e "s/@TODAY@/$(today)/g" -e "s/@NOW@/$(date -u +%FT%TZ)/g" \
        -e "s/@MSGID@/$(uuidgen -r | tr -d - | cut -c1-32)/g" -e "s/@FROM@/$from/g" \
        -e "s/@TO@/CRDRGB20XXX/g" -e "s/@STATUS@/$status/g" -e "s/@REASON@/$reason/g" \
        -e "s|@REASONBLOCK@|$block|" -e "s/@TXCXLSTS@/${status/CNCL/ACCR}/g" -e "s/@CCY@/$ccy/g" -e "s/@AMOUNT@/$amount/g" \
        -e "s/@ORIGMSGID@/$(jq -r '.events[0].network_reference' <<<"$v")/g" \
        -e "s/@INSTRID@/$(jq -r '.events[0].instruction_identification' <<<"$v")/g" \
        -e "s/@E2E@/$(jq -r '.end_to_end_id' <<<"$v")/g" "$FIX/$kind.xml" >"$MSG"
}
post_msg() { req "$1" POST /v1/messages -H 'content-type: application/xml' --data-binary @"${2:-$MSG}" "${@:3}"; }
spool_files() { grep -l "$1" "$SPOOL"/*.xml 2>/dev/null | wc -l | tr -d ' '; }
# wait_files UETR N: the outbox delivers on its own thread.
wait_files() {
    local i
    for i in $(seq 1 50); do [ "$(spool_files "$1")" = "$2" ] && break; sleep 0.1; done
    spool_files "$1"
}

# --- accounts: seeded, read, managed ---------------------------------------------------------
req operator GET /v1/accounts/GB33BUKB20201555555555
check "seeded demo account (EUR, ACME-001)" "200 EUR ACME-001" \
    "$STATUS $(jq -r '"\(.currency) \(.owner)"' <<<"$BODY")"
req operator GET /v1/accounts/GB94BARC10201530093459
check "seeded demo account (USD, 100,000,000.00)" "200 USD 100000000.00" \
    "$STATUS $(jq -r '"\(.currency) \(.balance)"' <<<"$BODY")"
req channel GET /v1/accounts/GB33BUKB20201555555555
check "accounts are for operators: channel 403" 403 "$STATUS"
req operator GET /v1/accounts/NO-SUCH-ACCOUNT
check "unknown account: 404" 404 "$STATUS"
account SAGA-HAPPY EUR 10000.00
check "operator creates an account: 201" 201 "$STATUS"
account SAGA-HAPPY EUR 10000.00
check "the same PUT again: 200, same account" "200 10000.00" "$STATUS $(jq -r .balance <<<"$BODY")"
json operator PUT /v1/accounts/SAGA-BAD '{"currency":"EUR","balance":"-5","colour":"red"}'
check "invalid account: 422 with every problem" "422 /balance /colour" \
    "$STATUS $(jq -r '[.errors[].path] | sort | join(" ")' <<<"$BODY")"
for a in "SAGA-RJ EUR 5000.00" "SAGA-RC EUR 5000.00" "SAGA-RR EUR 5000.00" "SAGA-GSRP EUR 5000.00" \
    "SAGA-SMALL EUR 50.00" "SAGA-CHAIN EUR 5000.00" "SAGA-SCHED EUR 5000.00" "SAGA-DUP EUR 5000.00" \
    "SAGA-OTHER EUR 5000.00 OTHER-009"; do
    set -- $a
    account "$@"
done

# --- funds are checked before the 201 -------------------------------------------------------
PROBE=$(uuidgen -r)
pay "$(from_acct NO-SUCH-ACCT 10.00) | .uetr = \"$PROBE\""
check "unknown debtor account: 422 AC01 at /debtor/account" "422 AC01 /debtor/account AC01" \
    "$STATUS $(jq -r '"\(.code) \(.errors[0].path) \(.errors[0].code)"' <<<"$BODY")"
view "$PROBE"
check "AC01: nothing kept" 404 "$STATUS"
pay '.debtor.account = {"iban": "GB94BARC10201530093459"}'
check "EUR payment from the USD account: 422 AM03" "422 AM03" "$STATUS $(jq -r .code <<<"$BODY")"
pay "$(from_acct SAGA-SMALL 100.00)"
check "more than the available funds: 422 AM04" "422 AM04" "$STATUS $(jq -r .code <<<"$BODY")"
check "AM04: nothing reserved" "50.00 0.00" "$(ledger SAGA-SMALL)"
pay "$(from_acct SAGA-OTHER 10.00)"
check "another customer's account: 422 AC01" "422 AC01" "$STATUS $(jq -r .code <<<"$BODY")"

# --- happy path: reserve, send, hops with charges and FX, ACCC settles -----------------------
pay "$(from_acct SAGA-HAPPY 1000.00)"
HAPPY=$UETR
check "payment accepted: 201, funds reserved" "201 FUNDS_RESERVED" "$STATUS $(jq -r .state <<<"$BODY")"
check "reservation on the debtor account" "10000.00 1000.00" "$(ledger SAGA-HAPPY)"
check "the outbox delivers the pacs.008: SENT" SENT "$(wait_state "$HAPPY" SENT)"
check "one pacs.008 file in the spool" 1 "$(spool_files "$HAPPY")"
check "spool file named after the MsgId" 1 \
    "$(view "$HAPPY"; ls "$SPOOL/$(jq -r '.events[0].network_reference' <<<"$BODY").xml" >/dev/null 2>&1 && echo 1)"
FX='.transaction_status_reason = "G000" | .instructed_agent = {bicfi: "BENFDE20XXX"}
    | .interbank_settlement_amount = {currency: "USD", amount: "1072.37"}
    | .source_currency = "EUR" | .target_currency = "USD" | .exchange_rate = "1.0832"
    | .settlement_method = "INDA" | .charge_bearer = "SHAR"
    | .charges_information = [{amount: {currency: "EUR", amount: "10.00"}, agent: {bicfi: "CRSPUS30XXX"}}]'
gpi correspondent "$HAPPY" ACSP "$FX"
check "correspondent's ACSP G000: 200" 200 "$STATUS"
check "the answer names the update" "ACSP G000" "$(jq -r '"\(.transaction_status) \(.transaction_status_reason)"' <<<"$BODY")"
check "IN_PROGRESS after the first hop" IN_PROGRESS "$(state_of "$HAPPY")"
ACCC='.confirmed_amount = {currency: "USD", amount: "1022.37"} | .instruction_identification = "INSTR-2"
    | .charges_information = [{amount: {currency: "USD", amount: "50.00"}, agent: {bicfi: "BENFDE20XXX"}}]'
gpi beneficiary "$HAPPY" ACCC "$ACCC"
check "creditor agent's ACCC: 200" 200 "$STATUS"
check "COMPLETED" COMPLETED "$(state_of "$HAPPY")"
check "ACCC settles: balance debited, nothing reserved" "9000.00 0.00" "$(ledger SAGA-HAPPY)"
track "$HAPPY"
check "tracker: ACCC with a completion time" "ACCC 1" \
    "$(jq -r '"\(.transaction_status) \(has("completion_date_time") | if . then 1 else 0 end)"' <<<"$BODY")"
check "tracker: CTPT then two CTSU hops" "CTPT CTSU CTSU" "$(jq -r '[.payment_event[].tracker_event_type] | join(" ")' <<<"$BODY")"
check "hop 1: from, to (instructed agent), FX" "CRSPUS30XXX BENFDE20XXX EUR USD 1.0832 USD 1072.37" \
    "$(jq -r '.payment_event[1] | "\(.from) \(.to) \(.source_currency) \(.target_currency) \(.exchange_rate) \(.interbank_settlement_amount.currency) \(.interbank_settlement_amount.amount)"' <<<"$BODY")"
check "hop 1: charges" "EUR 10.00 CRSPUS30XXX" \
    "$(jq -r '.payment_event[1].charges_information[0] | "\(.amount.currency) \(.amount.amount) \(.agent.bicfi)"' <<<"$BODY")"
check "hop 2: ACCC with the confirmed amount and its charges" "BENFDE20XXX ACCC USD 1022.37 50.00" \
    "$(jq -r '.payment_event[2] | "\(.from) \(.event_status) \(.confirmed_amount.currency) \(.confirmed_amount.amount) \(.charges_information[0].amount.amount)"' <<<"$BODY")"
view "$HAPPY"
check "view lists the pacs.008 message" pacs.008 "$(jq -r '[.messages[].name] | join(" ")' <<<"$BODY")"

# --- duplicates absorbed, out-of-order recorded, final states sticky -------------------------
N=$(n_events "$HAPPY")
gpi beneficiary "$HAPPY" ACCC "$ACCC"
check "the same ACCC again: 200 (absorbed)" 200 "$STATUS"
check "absorbed: no new event" "$N" "$(n_events "$HAPPY")"
gpi correspondent "$HAPPY" ACSP '.transaction_status_reason = "G001" | .instruction_identification = "INSTR-LATE"'
check "a late ACSP after ACCC: 200 (recorded)" 200 "$STATUS"
check "late update does not rewind" COMPLETED "$(state_of "$HAPPY")"
gpi beneficiary "$HAPPY" RJCT '.reject_return_reason = "AC04" | .instruction_identification = "INSTR-3"'
check "conflicting RJCT after ACCC: recorded" "200 COMPLETED" "$STATUS $(state_of "$HAPPY")"
view "$HAPPY"
check "anomalies visible in the view" 2 "$(jq '.anomalies | length' <<<"$BODY")"
track "$HAPPY"
check "tracker keeps ACCC; anomalies are events with valid=false" "ACCC 2" \
    "$(jq -r '"\(.transaction_status) \([.payment_event[] | select(.valid == false)] | length)"' <<<"$BODY")"
check "ledger unchanged by the anomalies" "9000.00 0.00" "$(ledger SAGA-HAPPY)"

# --- who may speak ---------------------------------------------------------------------------
gpi correspondent "$HAPPY" ACSP '.from = "BENFDE20XXX" | .transaction_status_reason = "G000"'
check "from is not the caller's BIC: 403" "403 /from" "$STATUS $(jq -r '.errors[0].path' <<<"$BODY")"
gpi correspondent "$HAPPY" ACSP '.tracker_informing_party = "BENFDE20XXX"'
check "informing party not the caller's: 403" 403 "$STATUS"
check "403 on /tracker carries gpi severity" Logic "$(jq -r .severity <<<"$BODY")"
gpi channel "$HAPPY" ACSP
check "a channel may not post status: 403" 403 "$STATUS"
json correspondent PUT "/tracker/v6/payments/$HAPPY/status" \
    '{"from":"CRSPUS30","transaction_status":"ACSC","tracker_informing_party":5,"service_level":"G002","payment_scenario":"CCTR","colour":"red","transaction_status_reason":"G000","exchange_rate":"1e3","confirmed_amount":{"currency":"EUR","amount":"1.001"}}'
check "invalid update: 422, every problem with its pointer" \
    "422 /colour /confirmed_amount/amount /exchange_rate /instruction_identification /service_level /tracker_informing_party /transaction_status" \
    "$STATUS $(jq -r '[.errors[].path] | unique | join(" ")' <<<"$BODY")"
json correspondent PUT "/tracker/v6/payments/$HAPPY/status" '{"from": '
check "malformed JSON: 400" 400 "$STATUS"
req correspondent PUT "/tracker/v6/payments/$HAPPY/status" -H 'content-type: text/plain' -d x
check "status update media type: 415" 415 "$STATUS"

# --- the chain grows; agents outside it do not see the payment -------------------------------
pay "$(from_acct SAGA-CHAIN 100.00) | .creditor_agent.bic = \"DEUTDEFFXXX\""
CHAIN=$UETR
wait_state "$CHAIN" SENT >/dev/null
gpi beneficiary "$CHAIN" ACSP '.transaction_status_reason = "G000"'
check "correspondent outside the chain posting status: 404" "404 PAYMENT_NOT_FOUND" "$STATUS $(jq -r .code <<<"$BODY")"
track "$CHAIN" beneficiary
check "outside the chain: tracker view 404" 404 "$STATUS"
iso pacs.002 BENFDE20XXX "$CHAIN" ACSP ""
post_msg beneficiary
check "outside the chain posting a pacs.002: 404" 404 "$STATUS"
gpi correspondent "$CHAIN" ACSP '.transaction_status_reason = "G000" | .instructed_agent = {bicfi: "BENFDE20XXX"}'
check "hop names its instructed agent: 200" 200 "$STATUS"
view "$CHAIN"
check "the chain grew" "CRSPUS30XXX DEUTDEFFXXX BENFDE20XXX" "$(jq -r '.chain | join(" ")' <<<"$BODY")"
track "$CHAIN" beneficiary
check "the new agent now sees the payment" 200 "$STATUS"
gpi beneficiary "$CHAIN" ACSP '.transaction_status_reason = "G002"'
check "and may post its status" 200 "$STATUS"

# --- RJCT: compensation releases the funds ---------------------------------------------------
pay "$(from_acct SAGA-RJ 700.00)"
RJ=$UETR
check "reserved before the rejection" "5000.00 700.00" "$(ledger SAGA-RJ)"
wait_state "$RJ" SENT >/dev/null
gpi correspondent "$RJ" RJCT '.reject_return_reason = "AC04"'
check "RJCT: 200" 200 "$STATUS"
check "REJECTED" REJECTED "$(state_of "$RJ")"
check "compensation: reservation released, balance untouched" "5000.00 0.00" "$(ledger SAGA-RJ)"
track "$RJ"
check "tracker: RJCT with its reason" "RJCT AC04" "$(jq -r '"\(.transaction_status) \(.reject_return_reason)"' <<<"$BODY")"
gpi beneficiary "$RJ" ACCC '.confirmed_amount = {currency: "EUR", amount: "700.00"}'
check "ACCC after RJCT: recorded, REJECTED is final" "200 REJECTED" "$STATUS $(state_of "$RJ")"
check "nothing settled by the late ACCC" "5000.00 0.00" "$(ledger SAGA-RJ)"

# --- ISO 20022 in: pacs.002 ------------------------------------------------------------------
pay "$(from_acct SAGA-RR 400.00)"
RR=$UETR
wait_state "$RR" SENT >/dev/null
iso pacs.002 CRSPUS30XXX "$RR" ACSP G000
post_msg correspondent
check "pacs.002 ACSP: 200" 200 "$STATUS"
check "pacs.002 moves the saga" IN_PROGRESS "$(state_of "$RR")"
DUPMSG=$MSG
N=$(n_events "$RR")
post_msg correspondent "$DUPMSG"
check "the same pacs.002 again: 200, absorbed" "200 $N" "$STATUS $(n_events "$RR")"
req channel GET "/v1/payments/$RR/messages/pacs.002"
check "inbound pacs.002 stored as an Envelope" "200 1" \
    "$STATUS $(grep -q 'urn:swift:xsd:envelope' <<<"$BODY" && echo 1)"
iso pacs.002 BENFDE20XXX "$RR" ACSP G000
post_msg correspondent
check "pacs.002 whose sender is not the caller: 403" 403 "$STATUS"
iso pacs.002 CRSPUS30XXX "$(uuidgen -r)" ACSP G000
post_msg correspondent
check "pacs.002 for an unknown payment: 404" 404 "$STATUS"
req correspondent POST /v1/messages -H 'content-type: application/json' -d '{}'
check "messages in: 415 for JSON" 415 "$STATUS"
req correspondent POST /v1/messages -H 'content-type: application/xml' -d '<a><b></a>'
check "messages in: malformed XML 400" 400 "$STATUS"
req channel POST /v1/messages -H 'content-type: application/xml' --data-binary @"$DUPMSG"
check "messages in: channel 403" 403 "$STATUS"

# --- recall refused (camt.029 RJCR): back where it was; then ACCC and a return ---------------
json channel POST "/v1/payments/$RR/cancellation" '{"reason": "CUST"}'
check "recall after SENT: 202 CANCEL_PENDING, PDCR" "202 CANCEL_PENDING PDCR" \
    "$STATUS $(jq -r '"\(.state) \(.transaction_cancellation_status)"' <<<"$BODY")"
req channel GET "/v1/payments/$RR/messages/camt.056"
check "camt.056 stored" 200 "$STATUS"
check "camt.056 names the payment" "$RR" "$(xmllint --xpath "string(//*[local-name()='OrgnlUETR'])" - <<<"$BODY" 2>/dev/null)"
check "camt.056 delivered to the spool too" 2 "$(wait_files "$RR" 2)"
json channel POST "/v1/payments/$RR/cancellation" '{"reason": "CUST"}'
check "a second recall while one is pending: 409" 409 "$STATUS"
iso camt.029 CRSPUS30XXX "$RR" RJCR LEGL
post_msg correspondent
check "camt.029 RJCR: 200" 200 "$STATUS"
view "$RR"
check "refused recall: back to IN_PROGRESS, RJCR" "IN_PROGRESS RJCR" \
    "$(jq -r '"\(.state) \(.transaction_cancellation_status)"' <<<"$BODY")"
check "funds still reserved" "5000.00 400.00" "$(ledger SAGA-RR)"
iso pacs.002 BENFDE20XXX "$RR" ACCC ""
post_msg beneficiary
check "pacs.002 ACCC: COMPLETED, settled" "200 COMPLETED 4600.00 0.00" \
    "$STATUS $(state_of "$RR") $(ledger SAGA-RR)"
iso pacs.004 BENFDE20XXX "$RR" "" AC04 EUR 400.00
post_msg beneficiary
check "pacs.004 after ACCC: 200" 200 "$STATUS"
check "RETURNED" RETURNED "$(state_of "$RR")"
check "returned funds credited back" "5000.00 0.00" "$(ledger SAGA-RR)"
track "$RR"
check "tracker: RETURNED keeps ACCC and shows the return leg (RCTP)" "ACCC RCTP" \
    "$(jq -r '"\(.transaction_status) \(.payment_event[-1].tracker_event_type)"' <<<"$BODY")"

# --- recall accepted (camt.029 CNCL): cancelled, funds released ------------------------------
pay "$(from_acct SAGA-RC 300.00)"
RC=$UETR
wait_state "$RC" SENT >/dev/null
json channel POST "/v1/payments/$RC/cancellation" '{"reason": "DUPL"}' -H 'idempotency-key: cxl-1'
FIRST="$STATUS $BODY"
check "recall: 202" 202 "$STATUS"
json channel POST "/v1/payments/$RC/cancellation" '{"reason": "DUPL"}' -H 'idempotency-key: cxl-1'
check "recall retried with its key: the same answer" "$FIRST" "$STATUS $BODY"
json channel POST "/v1/payments/$RC/cancellation" '{"reason": "NOPE"}'
check "unknown cancellation reason: 422 /reason" "422 /reason" "$STATUS $(jq -r '.errors[0].path' <<<"$BODY")"
json customer POST "/v1/payments/$RC/cancellation" '{"reason": "DUPL"}'
check "customers do not recall: 403" 403 "$STATUS"
iso camt.029 CRSPUS30XXX "$RC" CNCL ""
post_msg correspondent
check "camt.029 CNCL: 200" 200 "$STATUS"
view "$RC"
check "CANCELLED, status RJCT, CNCL" "CANCELLED RJCT CNCL" \
    "$(jq -r '"\(.state) \(.status) \(.transaction_cancellation_status)"' <<<"$BODY")"
check "cancelled: funds released" "5000.00 0.00" "$(ledger SAGA-RC)"
track "$RC"
check "tracker: RJCT with transaction_cancellation_status CNCL" "RJCT CNCL" \
    "$(jq -r '"\(.transaction_status) \(.transaction_cancellation_status)"' <<<"$BODY")"
json channel POST "/v1/payments/$RC/cancellation" '{"reason": "DUPL"}'
check "recall of a cancelled payment: 409" 409 "$STATUS"

# --- recall of a completed payment (gSRP): CNCL, then the money comes back by pacs.004 -------
pay "$(from_acct SAGA-GSRP 250.00)"
GS=$UETR
wait_state "$GS" SENT >/dev/null
gpi beneficiary "$GS" ACCC '.confirmed_amount = {currency: "EUR", amount: "250.00"}'
check "completed and settled" "COMPLETED 4750.00 0.00" "$(state_of "$GS") $(ledger SAGA-GSRP)"
json channel POST "/v1/payments/$GS/cancellation" '{"reason": "FRAD"}'
check "recall of a completed payment: 202" "202 CANCEL_PENDING" "$STATUS $(jq -r .state <<<"$BODY")"
iso camt.029 CRSPUS30XXX "$GS" CNCL ""
post_msg correspondent
check "CNCL after completion: waits for the funds" "200 CANCEL_PENDING" "$STATUS $(state_of "$GS")"
iso pacs.004 BENFDE20XXX "$GS" "" FRAD EUR 250.00
post_msg beneficiary
check "pacs.004: RETURNED, funds credited back" "200 RETURNED 5000.00 0.00" \
    "$STATUS $(state_of "$GS") $(ledger SAGA-GSRP)"

# --- the iso20022 module's own samples (samples/messages): AppHdr, bare Document, return ----
SAMPLES=$CORRIDOR_SRC/samples/messages
if [ -f "$SAMPLES/pacs002-accc-bare.xml" ]; then
    BEFORE=$(ledger GB33BUKB20201555555555)
    pay '.end_to_end_id = "E2E-SAMPLES"'
    SM=$UETR
    wait_state "$SM" SENT >/dev/null
    sample() { sed -e "s/@UETR@/$SM/g" -e "s/@TODAY@/$(today)/g" "$SAMPLES/$1" >"$WORK/sample.xml"; post_msg "$2" "$WORK/sample.xml"; }
    sample pacs002-acsp.xml correspondent
    check "samples/messages pacs.002 ACSP (AppHdr): 200 IN_PROGRESS" "200 IN_PROGRESS" "$STATUS $(state_of "$SM")"
    sample pacs002-accc-bare.xml beneficiary
    check "samples/messages bare pacs.002 ACCC (sender = InstgAgt): 200 COMPLETED" "200 COMPLETED" \
        "$STATUS $(state_of "$SM")"
    sample pacs004-return.xml correspondent
    view "$SM"
    check "samples/messages pacs.004 (1224.56 back of 1234.56): 200 RETURNED" "200 RETURNED 1224.56" \
        "$STATUS $(jq -r '"\(.state) \(.returned_amount)"' <<<"$BODY")"
    check "what came back is credited: the demo account less the 10.00 charge" \
        "$(jq -rn --arg b "${BEFORE% *}" '($b | tonumber) - 10')" \
        "$(ledger GB33BUKB20201555555555 | jq -R 'split(" ")[0] | tonumber')"
else
    fail "samples/messages (the iso20022 module's fixtures)" "not there"
fi

# --- future-dated: SCHEDULED; a local cancel before it leaves --------------------------------
TOMORROW=$(date -u -d tomorrow +%F)
pay "$(from_acct SAGA-SCHED 120.00) | .requested_execution_date = \"$TOMORROW\""
SC=$UETR
check "future-dated: 201 SCHEDULED" "201 SCHEDULED" "$STATUS $(jq -r .state <<<"$BODY")"
check "scheduled: funds reserved" "5000.00 120.00" "$(ledger SAGA-SCHED)"
check "scheduled: nothing sent" 0 "$(spool_files "$SC")"
json channel POST "/v1/payments/$SC/cancellation" '{"reason": "CUST"}'
check "cancel before it left: 200 CANCELLED at once" "200 CANCELLED CNCL" \
    "$STATUS $(jq -r '"\(.state) \(.transaction_cancellation_status)"' <<<"$BODY")"
check "local cancel: funds released" "5000.00 0.00" "$(ledger SAGA-SCHED)"
req channel GET "/v1/payments/$SC/messages/camt.056"
check "local cancel: no camt.056 kept" 404 "$STATUS"

# --- customers see only their own -------------------------------------------------------------
pay "$(from_acct SAGA-OTHER 10.00) | .customer_id = \"OTHER-009\""
OTHER=$UETR
check "payment of another customer: 201" 201 "$STATUS"
req customer GET "/v1/payments/$OTHER"
check "customer reading someone else's payment: 404" 404 "$STATUS"
req customer GET "/tracker/v6/payments/$OTHER/transactions"
check "customer: someone else's tracker view: 404" 404 "$STATUS"
req customer GET "/v1/payments?limit=500"
check "customer listing: its own payments only" "200 0 0" \
    "$STATUS $(jq --arg u "$OTHER" '[.payments[] | select(.uetr == $u)] | length' <<<"$BODY") $(jq '[.payments[] | select(.customer_id != "ACME-001")] | length' <<<"$BODY")"
check "customer listing is not empty" 1 "$(jq '(.payments | length) > 0 | if . then 1 else 0 end' <<<"$BODY")"

# --- idempotent retries of every write ---------------------------------------------------------
pay "$(from_acct SAGA-DUP 20.00)" -H 'idempotency-key: pay-dup-1'
FIRST="$STATUS $BODY"
DUP=$UETR
pay "$(from_acct SAGA-DUP 20.00)" -H 'idempotency-key: pay-dup-1'
check "POST /v1/payments retried: same answer" "$FIRST" "$STATUS $BODY"
check "and one reservation" "5000.00 20.00" "$(ledger SAGA-DUP)"
wait_state "$DUP" SENT >/dev/null
gpi correspondent "$DUP" ACSP '.transaction_status_reason = "G000"' -H 'idempotency-key: st-1'
FIRST="$STATUS $BODY"
N=$(n_events "$DUP")
gpi correspondent "$DUP" ACSP '.transaction_status_reason = "G000"' -H 'idempotency-key: st-1'
check "PUT status retried with its key: same answer" "$FIRST" "$STATUS $BODY"
check "no second event" "$N" "$(n_events "$DUP")"
gpi correspondent "$DUP" ACSP '.transaction_status_reason = "G001"' -H 'idempotency-key: st-1'
check "PUT status, same key, other body: 409" 409 "$STATUS"
iso pacs.002 BENFDE20XXX "$DUP" ACCC ""
post_msg beneficiary "$MSG" -H 'idempotency-key: msg-1'
FIRST="$STATUS $BODY"
post_msg beneficiary "$MSG" -H 'idempotency-key: msg-1'
check "POST /v1/messages retried with its key: same answer" "$FIRST" "$STATUS $BODY"
post_msg beneficiary "$MSG"
check "and without a key: absorbed by MsgId" 200 "$STATUS"
check "settled once" "4980.00 0.00" "$(ledger SAGA-DUP)"
account SAGA-DUP EUR 4980.00
check "PUT account retried: 200, same balance" "200 4980.00 0.00" "$STATUS $(ledger SAGA-DUP)"
check "possible duplicate flagged (same account, E2E id, amount within 24 h)" true \
    "$(pay "$(from_acct SAGA-DUP 20.00)"; view "$UETR"; jq -r .possible_duplicate <<<"$BODY")"

# --- listing and the changed feed ---------------------------------------------------------------
req channel GET "/v1/payments?limit=2"
check "listing: a page of 2 with a cursor" "200 2 1" \
    "$STATUS $(jq '.payments | length' <<<"$BODY") $(jq 'has("next_cursor") | if . then 1 else 0 end' <<<"$BODY")"
P1=$(jq -r '[.payments[].uetr] | join(" ")' <<<"$BODY")
req channel GET "/v1/payments?limit=2&cursor=$(jq -r .next_cursor <<<"$BODY")"
P2=$(jq -r '[.payments[].uetr] | join(" ")' <<<"$BODY")
check "the next page continues, no overlap" "200 1" \
    "$STATUS $([ -n "$P2" ] && [ -z "$(comm -12 <(tr ' ' '\n' <<<"$P1" | sort) <(tr ' ' '\n' <<<"$P2" | sort))" ] && echo 1)"
req channel GET "/v1/payments?status=ACCC&limit=500"
check "status=ACCC: only ACCC, the happy payment among them" "0 1" \
    "$(jq '[.payments[] | select(.status != "ACCC")] | length' <<<"$BODY") $(jq --arg u "$HAPPY" '[.payments[] | select(.uetr == $u)] | length' <<<"$BODY")"
req channel GET "/v1/payments?state=REJECTED"
check "state=REJECTED" "$RJ" "$(jq -r '[.payments[].uetr] | join(" ")' <<<"$BODY")"
req channel GET "/v1/payments?since=2099-01-01T00:00:00Z"
check "since= in the future: nothing" "200 0" "$STATUS $(jq '.payments | length' <<<"$BODY")"
req channel GET "/v1/payments?limit=0&status=FOO&colour=red&since=yesterday"
check "bad query: 422, each parameter named" "422 colour limit since status" \
    "$STATUS $(jq -r '[.errors[].path] | sort | join(" ")' <<<"$BODY")"
req channel GET "/v1/payments?limit=%zz"
check "broken percent-encoding: 400" 400 "$STATUS"
req correspondent GET /v1/payments
check "correspondents do not list /v1/payments: 403" 403 "$STATUS"
req channel GET "/tracker/v6/payments/changed/transactions?from_date_time=$T0&maximum_number=2"
check "changed feed: a page of 2 with next" "200 2 1" \
    "$STATUS $(jq '.payment_transaction | length' <<<"$BODY") $(jq 'has("next") | if . then 1 else 0 end' <<<"$BODY")"
check "changed feed: gpi transactions with their events" 1 \
    "$(jq '[.payment_transaction[] | select((.payment_event | length) > 0 and has("transaction_status"))] | length == 2 | if . then 1 else 0 end' <<<"$BODY")"
req channel GET "/tracker/v6/payments/changed/transactions?from_date_time=$T0&maximum_number=2&next=$(jq -r .next <<<"$BODY")"
check "changed feed: next page" "200 1" "$STATUS $(jq '(.payment_transaction | length) > 0 | if . then 1 else 0 end' <<<"$BODY")"
req channel GET "/tracker/v6/payments/changed/transactions"
check "changed feed without from_date_time: 422" "422 from_date_time" "$STATUS $(jq -r '.errors[0].path' <<<"$BODY")"
req correspondent GET "/tracker/v6/payments/changed/transactions?from_date_time=$T0"
check "changed feed is for channels: correspondent 403" 403 "$STATUS"

# --- SLA: overdue flagged (event, listing filter) -----------------------------------------------
stop_daemon TERM
start_daemon --set sla_seconds=1 || exit 1
pay "$(from_acct SAGA-DUP 5.00 SLA-1)"
SLA=$UETR
for i in $(seq 1 50); do
    view "$SLA"
    [ "$(jq -r .overdue <<<"$BODY")" = true ] && break
    sleep 0.1
done
check "past the SLA without a final status: overdue" true "$(jq -r .overdue <<<"$BODY")"
check "overdue event" 1 "$(jq '[.events[] | select(.type == "OVDU")] | length' <<<"$BODY")"
req channel GET "/v1/payments?overdue=true&limit=500"
check "listing overdue=true holds it" 1 "$(jq --arg u "$SLA" '[.payments[] | select(.uetr == $u)] | length' <<<"$BODY")"
req channel GET "/v1/payments?overdue=true&limit=500"
check "overdue=true lists only overdue payments" 0 "$(jq '[.payments[] | select(.overdue != true)] | length' <<<"$BODY")"
view "$HAPPY"
check "a completed payment is never overdue" false "$(jq -r .overdue <<<"$BODY")"

stop_daemon TERM
if [ -n "${CORRIDOR_VERIFY:-}" ]; then
    out=$("$CORRIDOR_VERIFY" "$WORK/data" 2>&1)
    check "store verifies (ledger reconciles) after the saga" 0 "$?"
    echo "     $out"
fi
finish
