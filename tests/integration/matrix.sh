#!/usr/bin/env bash
# The authorization matrix over real mTLS: for every route of gateway/router.c's table and
# every role, the role's allowed case (its own resource: 2xx) and its refused case — 403 when
# the route is not for the role, 404 when the payment is someone else's (the same answer as an
# unknown UETR: existence is not leaked). The cases are generated from the table below, which
# mirrors the router's (and README's "Authorization" table); a route added to the router
# without a row here fails the last check.
. "$(dirname "$0")/lib.sh"
FIX=$(cd "$(dirname "$0")" && pwd)/fixtures
ROLES="channel correspondent customer operator"

# METHOD  PATH (router pattern)                          ROLES ALLOWED                   OWNERSHIP  BODY     OK
TABLE=(
    "GET    /healthz                                     channel,correspondent,customer,operator none    -       200"
    "GET    /readyz                                      channel,correspondent,customer,operator none    -       200"
    "GET    /metrics                                     operator                                none    -       200"
    "GET    /openapi.yaml                                channel,correspondent,customer,operator none    -       200"
    "GET    /track/{uetr}                                channel,correspondent,customer,operator payment -       200"
    "POST   /v1/payments                                 channel                                 none    payment 201"
    "GET    /v1/payments/{uetr}                          channel,customer,operator               payment -       200"
    "GET    /v1/payments/{uetr}/messages/{name}          channel,operator                        payment -       200"
    "GET    /v1/payments                                 channel,customer,operator               none    -       200"
    "POST   /v1/payments/{uetr}/cancellation             channel                                 payment cancel  200"
    "POST   /v1/messages                                 correspondent                           none    message 200"
    "GET    /tracker/v6/payments/changed/transactions    channel,operator                        none    -       200"
    "GET    /tracker/v6/payments/{uetr}/transactions     channel,correspondent,customer,operator payment -       200"
    "PUT    /tracker/v6/payments/{uetr}/status           correspondent                           payment status  200"
    "PUT    /v1/accounts/{name}                          operator                                none    account 200"
    "GET    /v1/accounts/{name}                          operator                                none    -       200"
)

# ---- a second bank, so that a channel has someone else's payment to be refused -----------------
PKI=$WORK/pki
mkdir -p "$PKI"
for who in channel correspondent customer operator; do
    ln -s "$CERTS/$who.crt" "$PKI/$who.crt"
    ln -s "$CERTS/$who.key" "$PKI/$who.key"
done
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$PKI/otherbank.key" 2>/dev/null
chmod 600 "$PKI/otherbank.key"
openssl req -new -key "$PKI/otherbank.key" -subj "/O=Corridor Dev/CN=otherbank.dev.corridor" 2>/dev/null |
    openssl x509 -req -CA "$CERTS/ca.crt" -CAkey "$CERTS/ca.key" -set_serial "0x$(openssl rand -hex 16)" \
        -days 2 -out "$PKI/otherbank.crt" 2>/dev/null \
        -extfile <(printf 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\n')
{ cat "$CORRIDOR_SRC/certs/participants.dev.conf"
  echo "otherbank  channel  cn:otherbank.dev.corridor  OTHRGB22XXX"; } >"$WORK/participants.conf"

start_daemon --set participants_file="$WORK/participants.conf" \
    --set rate_customer=1000 --set burst_customer=1000 || exit 1

# call WHO METHOD PATH [curl args]: like req, with the certificates of $PKI.
call() {
    local who=$1 method=$2 path=$3
    shift 3
    STATUS=$(curl -s --http2 --max-time 10 --cacert "$CERTS/ca.crt" --cert "$PKI/$who.crt" \
        --key "$PKI/$who.key" -X "$method" -o "$WORK/body" -w '%{http_code}' "$@" \
        "https://127.0.0.1:$PORT$path")
    BODY=$(cat "$WORK/body" 2>/dev/null)
}
json_to() { call "$1" "$2" "$3" -H 'content-type: application/json' --data-binary "$4"; }
create() { # WHO [jq edits]: a payment; prints its UETR
    json_to "$1" POST /v1/payments "$(payment "${2:-.}")"
    [ "$STATUS" = 201 ] || { echo "setup: $1 could not create a payment: $STATUS $BODY" >&2; return 1; }
    jq -r .uetr <<<"$BODY"
}

# ---- the payments each role owns, and someone else's ----------------------------------------
MINE=$(create channel) || exit 1 # ACME-001's, via CRSPUS30 to BENFDE20: everyone's in some way
TO_CANCEL=$(create channel) || exit 1
OTHER_CUSTOMER=$(create channel '.customer_id = "OTHER-009" | .debtor.account = {"other": "OTHER-009-EUR"}') || exit 1
NOT_IN_CHAIN=$(create channel '.intermediary_agents = []') || exit 1
json_to operator PUT /v1/accounts/OTHERBANK-EUR '{"currency":"EUR","balance":"1000.00","owner":"OB-CUST-1"}'
[ "${STATUS:0:1}" = 2 ] || { echo "setup: account for otherbank: $STATUS $BODY"; exit 1; }
OTHER_BANK=$(create otherbank '.debtor_agent.bic = "OTHRGB22XXX" | .customer_id = "OB-CUST-1" |
    .debtor.account = {"other": "OTHERBANK-EUR"} | .amount = "10.00"') || exit 1

theirs() { # ROLE: a payment that exists but is not the role's
    case $1 in
        channel) echo "$OTHER_BANK" ;;
        customer) echo "$OTHER_CUSTOMER" ;;
        correspondent) echo "$NOT_IN_CHAIN" ;;
    esac
}

# ---- bodies -----------------------------------------------------------------------------------
msg_body() { # UETR: the correspondent's pacs.002 ACSP for it
    local v
    call channel GET "/v1/payments/$1"
    v=$BODY
    sed -e "s/@UETR@/$1/g" -e "s/@TODAY@/$(today)/g" -e "s/@NOW@/$(date -u +%FT%TZ)/g" \
        -e "s/@MSGID@/MATRIX$RANDOM$RANDOM/g" -e "s/@FROM@/CRSPUS30XXX/g" -e "s/@TO@/CRDRGB20XXX/g" \
        -e "s/@STATUS@/ACSP/g" -e "s/@REASON@/G000/g" \
        -e "s|@REASONBLOCK@|<StsRsnInf><Rsn><Cd>G000</Cd></Rsn></StsRsnInf>|" \
        -e "s/@ORIGMSGID@/$(jq -r '.events[0].network_reference' <<<"$v")/g" \
        -e "s/@INSTRID@/$(jq -r '.events[0].instruction_identification' <<<"$v")/g" \
        -e "s/@E2E@/$(jq -r '.end_to_end_id' <<<"$v")/g" "$FIX/pacs.002.xml" >"$WORK/msg.xml"
}
status_body() {
    jq -nc '{from:"CRSPUS30XXX", transaction_status:"ACSP", transaction_status_reason:"G000",
        tracker_informing_party:"CRSPUS30XXX", instruction_identification:"MATRIX-1",
        service_level:"G001", payment_scenario:"CCTR"}'
}

# send WHO METHOD PATH BODYKIND UETR: the request with the body its route takes.
send() {
    local who=$1 method=$2 path=$3 kind=$4 uetr=$5
    case $kind in
        -) call "$who" "$method" "$path" ;;
        payment) json_to "$who" "$method" "$path" "$(payment '.end_to_end_id = "MATRIX-'$RANDOM'"')" ;;
        cancel) json_to "$who" "$method" "$path" '{"reason":"DUPL"}' ;;
        status) json_to "$who" "$method" "$path" "$(status_body)" ;;
        account) json_to "$who" "$method" "$path" '{"currency":"EUR","balance":"5.00","owner":"ACME-001"}' ;;
        message)
            msg_body "$uetr"
            call "$who" "$method" "$path" -H 'content-type: application/xml' --data-binary @"$WORK/msg.xml" ;;
    esac
}

# The concrete path: {uetr} -> the payment, {name} -> pacs.008 or an account; required queries.
fill() { # PATTERN UETR
    local p=${1//\{uetr\}/$2}
    case $p in
        /v1/accounts/*) p=${p//\{name\}/MATRIX-ACCT} ;;
        /tracker/v6/payments/changed/*) p="$p?from_date_time=2020-01-01T00:00:00Z" ;; # required
        *) p=${p//\{name\}/pacs.008} ;;
    esac
    echo "$p"
}

allowed_ok() { # STATUS EXPECTED: 2xx as the route promises (cancel: 200 CANCELLED or 202 pending)
    [ "$1" = "$2" ] || { [ "$2" = 200 ] && [[ "$1" =~ ^20[012]$ ]]; }
}

CASES=0
for row in "${TABLE[@]}"; do
    read -r method pattern allowed own kind ok <<<"$row"
    for role in $ROLES; do
        uetr=$MINE
        [ "$pattern" = "/v1/payments/{uetr}/cancellation" ] && uetr=$TO_CANCEL
        path=$(fill "$pattern" "$uetr")
        if [[ ",$allowed," == *",$role,"* ]]; then
            send "$role" "$method" "$path" "$kind" "$uetr"
            if allowed_ok "$STATUS" "$ok"; then pass "$role $method $pattern: allowed ($STATUS)"
            else fail "$role $method $pattern: allowed" "expected $ok, got $STATUS ${BODY:0:200}"; fi
            CASES=$((CASES + 1))
            # Someone else's payment: by the router's ownership rule, or — for the inbound ISO
            # 20022 route, whose payment is named inside the body — by its handler.
            if { [ "$own" = payment ] || [ "$kind" = message ]; } && [ "$role" != operator ]; then
                other=$(theirs "$role")
                send "$role" "$method" "$(fill "$pattern" "$other")" "$kind" "$other"
                check "$role $method $pattern: someone else's payment is 404" 404 "$STATUS"
                CASES=$((CASES + 1))
            fi
        else
            send "$role" "$method" "$path" "$kind" "$uetr"
            check "$role $method $pattern: not for this role, 403" 403 "$STATUS"
            check "... with the error code" FORBIDDEN "$(jq -r .code <<<"$BODY" 2>/dev/null)"
            CASES=$((CASES + 1))
        fi
    done
done

# ---- what lists show follows the same rule ------------------------------------------------
call customer GET '/v1/payments?limit=500'
check "a customer's list never shows another customer's payment" 0 \
    "$(jq --arg u "$OTHER_CUSTOMER" '[.payments[] | select(.uetr == $u)] | length' <<<"$BODY")"
call channel GET '/v1/payments?limit=500'
check "a channel's list never shows another bank's payment" 0 \
    "$(jq --arg u "$OTHER_BANK" '[.payments[] | select(.uetr == $u)] | length' <<<"$BODY")"
call otherbank GET "/v1/payments/$OTHER_BANK"
check "the other bank sees its own payment" 200 "$STATUS"

# ---- refusals are on the record -----------------------------------------------------------
check_match "403s audited" '^[1-9]' "$(grep -c '"status":403,"decision":"refused"' "$WORK/audit.log")"
check_match "ownership 404s audited" '^[1-9]' "$(grep -c "not the principal's payment" "$WORK/audit.log")"
check_match "operators' reads of payments are on the record too" '^[1-9]' \
    "$(grep -c "\"principal\":\"operator\".*\"decision\":\"allowed\".*\"uetr\":\"$MINE\"" "$WORK/audit.log")"
call operator GET '/v1/payments?limit=5'
check "an operator lists payments" 200 "$STATUS"
check_match "operators' listings are on the record" '^[1-9]' \
    "$(grep -c '"principal":"operator".*"route":"/v1/payments".*"decision":"allowed"' "$WORK/audit.log")"
check "operators' health checks are not" 0 \
    "$(grep -c '"principal":"operator".*"route":"/healthz"' "$WORK/audit.log")"

# ---- the table above is the router's --------------------------------------------------------
ours=$(for row in "${TABLE[@]}"; do read -r m p _ <<<"$row"; echo "$m $p"; done | sort)
theirs_=$(grep -oE '\{"(GET|POST|PUT|DELETE|PATCH)", "[^"]+"' "$CORRIDOR_SRC/gateway/router.c" |
    sed -E 's/\{"([A-Z]+)", "([^"]+)"/\1 \2/' | sort)
check "every route of gateway/router.c has a row here, and no other" "$theirs_" "$ours"
echo "     $CASES cases over ${#TABLE[@]} routes x 4 roles"

finish
