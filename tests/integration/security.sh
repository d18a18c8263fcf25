#!/usr/bin/env bash
# Security end to end, against the real daemon over mTLS on loopback:
#   - every certificate failure refused at the handshake (and audited);
#   - TLS policy: 1.3 only by default, the intended suites only, 1.2 (AEAD + ECDHE) on request,
#     no renegotiation, no compression, ECDSA and RSA server keys, a loose key file refused;
#   - SIGHUP: revocation, participants and the server certificate reloaded, open connections
#     kept, a broken file refused with the old state kept;
#   - HTTP/2 abuse (tests/tools/h2abuse): each offender cut off while a well-behaved client
#     is still answered 200 within its normal latency, in the same test;
#   - per-principal rate limits (429 + Retry-After), the audit file, the privilege drop.
# Needs H2ABUSE (the hostile client) besides what lib.sh needs.
. "$(dirname "$0")/lib.sh"
: "${H2ABUSE:?H2ABUSE must name the h2abuse binary}"

FAST=1.0 # seconds: a well-behaved request's "normal latency" bound, TLS handshake included

# ---- helpers -----------------------------------------------------------------------------------

# code WHO PATH [curl args]: the HTTP status, or 000 when the handshake was refused.
code() {
    local who=$1 path=$2
    shift 2
    curl -s -o /dev/null -w '%{http_code}' --http2 --max-time 5 --cacert "$CA" \
        --cert "$PKI/$who.crt" --key "$PKI/$who.key" "$@" "https://127.0.0.1:$PORT$path"
}

# well_behaved LABEL: a correspondent's GET /healthz answered 200 in under $FAST seconds.
well_behaved() {
    local out
    out=$(curl -s -o /dev/null -w '%{http_code} %{time_total}' --http2 --max-time 5 \
        --cacert "$CA" --cert "$PKI/correspondent.crt" --key "$PKI/correspondent.key" \
        "https://127.0.0.1:$PORT/healthz")
    if [ "${out% *}" = 200 ] && awk -v t="${out#* }" -v m="$FAST" 'BEGIN{exit !(t < m)}'; then
        pass "$1: a well-behaved client is still served (${out#* } s)"
    else
        fail "$1: a well-behaved client is still served" "got [$out], wanted 200 in < $FAST s"
    fi
}

abuse() { # MODE [h2abuse args]: the channel principal misbehaves
    local mode=$1
    shift
    "$H2ABUSE" "$mode" --port "$PORT" --cacert "$CA" --cert "$PKI/channel.crt" \
        --key "$PKI/channel.key" "$@"
}

# s_client ARGS...: a TLS handshake as the operator offering h2; prints what OpenSSL saw.
s_client() {
    timeout 10 openssl s_client -connect "127.0.0.1:$PORT" -servername localhost -CAfile "$CA" \
        -cert "$PKI/operator.crt" -key "$PKI/operator.key" -alpn h2 "$@" </dev/null 2>&1 |
        tr -d '\000' # the server's first HTTP/2 frames are printed too
}
negotiated() { s_client "$@" | grep -aoE 'Cipher is [A-Za-z0-9_-]+' | grep -v NONE | head -1; }

# start_at PKI-DIR [corridord args]: like start_daemon, with the CA and certificates of PKI-DIR.
start_at() {
    local tries=0
    PKI=$1
    CA=$PKI/ca.crt
    shift
    [ -n "$PORT" ] || pick_port
    (cd "$CORRIDOR_SRC" && CORRIDOR_LISTEN=127.0.0.1:$PORT CORRIDOR_DATA_DIR=$WORK/data \
        CORRIDOR_SPOOL_DIR=$WORK/spool exec "$CORRIDORD" "$@" 2>>"$WORK/daemon.log") &
    DAEMON_PID=$!
    until [ "$(code operator /healthz)" = 200 ]; do
        tries=$((tries + 1))
        if [ $tries -gt 100 ] || ! kill -0 "$DAEMON_PID" 2>/dev/null; then
            echo "corridord did not come up; its log:"; tail -20 "$WORK/daemon.log"
            return 1
        fi
        sleep 0.1
    done
}

log_has() { # PATTERN [seconds]: wait (bounded) for a daemon log line
    local i
    for ((i = 0; i < ${2:-5} * 10; i++)); do
        grep -q "$1" "$WORK/daemon.log" && return 0
        sleep 0.1
    done
    return 1
}
audit_has() { grep -c "$1" "$WORK/audit.log" 2>/dev/null; }

# ---- the daemon under test: its own copies of what SIGHUP reloads -------------------------------
umask 077
cp "$CERTS/server.crt" "$CERTS/server.key" "$CERTS/crl.pem" "$WORK/"
cp "$CORRIDOR_SRC/certs/participants.dev.conf" "$WORK/participants.conf"
MAIN=(--set cert_file="$WORK/server.crt" --set key_file="$WORK/server.key"
    --set crl_file="$WORK/crl.pem" --set participants_file="$WORK/participants.conf"
    --set header_timeout_ms=2000 --set idle_timeout_ms=4000 --set max_conns_per_principal=8
    --set max_body=65536 --set rate_customer=1 --set burst_customer=3)
start_at "$CERTS" "${MAIN[@]}" || exit 1

# ---- identities: refused at the handshake ------------------------------------------------------
check "a participant's certificate is served" 200 "$(code channel /healthz)"
check "no client certificate: refused at the handshake" 000 \
    "$(curl -s -o /dev/null -w '%{http_code}' --http2 --max-time 5 --cacert "$CA" "https://127.0.0.1:$PORT/healthz")"
for c in "stranger:unable to get local issuer certificate" "expired:certificate has expired" \
    "notyet:certificate is not yet valid" "revoked:certificate revoked" \
    "unknown:certificate is not a participant"; do
    who=${c%%:*} why=${c#*:}
    check "$who certificate: refused at the handshake" 000 "$(code "$who" /healthz)"
    check_match "$who: the audit record says why" '^[1-9]' "$(audit_has "\"reason\":\"[a-z_]*: $why\"")"
    well_behaved "$who refused"
done
check_match "no certificate: audited" '^[1-9]' "$(audit_has 'no_client_cert')"
check_match "refusals counted in /metrics" 'bad_client_cert"} [4-9]' \
    "$(curl -s --http2 --cacert "$CA" --cert "$PKI/operator.crt" --key "$PKI/operator.key" \
        "https://127.0.0.1:$PORT/metrics" | grep 'handshake_failures_total{reason="bad_client_cert"}')"

# ---- TLS policy -----------------------------------------------------------------------------
check "TLS 1.3 with h2" "Cipher is TLS_AES_256_GCM_SHA384" "$(negotiated -tls1_3)"
check "TLS 1.2 refused by default" "" "$(negotiated -tls1_2)"
check "TLS 1.1 refused" "" "$(negotiated -tls1_1 -cipher 'ALL:@SECLEVEL=0')"
check "TLS 1.0 refused" "" "$(negotiated -tls1 -cipher 'ALL:@SECLEVEL=0')"
offered=""
for s in TLS_AES_256_GCM_SHA384 TLS_CHACHA20_POLY1305_SHA256 TLS_AES_128_GCM_SHA256 \
    TLS_AES_128_CCM_SHA256 TLS_AES_128_CCM_8_SHA256; do
    [ -n "$(negotiated -tls1_3 -ciphersuites "$s")" ] && offered="$offered $s"
done
check "TLS 1.3: only the AEAD suites of the policy are accepted" \
    " TLS_AES_256_GCM_SHA384 TLS_CHACHA20_POLY1305_SHA256 TLS_AES_128_GCM_SHA256" "$offered"
check_match "no compression" 'Compression: NONE' "$(s_client -tls1_3)"
# One ticket per full handshake (not OpenSSL's two) still lets a client resume. s_client is
# kept open a second so the ticket, sent after the handshake, reaches it.
resume() {
    sleep 1 | timeout 10 openssl s_client -connect "127.0.0.1:$PORT" -servername localhost \
        -CAfile "$CA" -cert "$PKI/operator.crt" -key "$PKI/operator.key" -alpn h2 -tls1_3 "$@" \
        2>&1 | tr -d '\000' | grep -aoE '^(New|Reused), TLSv1.3' | head -1
}
check "TLS 1.3 session: a full handshake first" "New, TLSv1.3" "$(resume -sess_out "$WORK/tls.sess")"
check "TLS 1.3 session: resumed with the one ticket" "Reused, TLSv1.3" \
    "$(resume -sess_in "$WORK/tls.sess")"
check "curl --tls-max 1.2 refused by default" 000 "$(code operator /healthz --tlsv1.2 --tls-max 1.2)"

# ---- rate limits ----------------------------------------------------------------------------
codes=""
for i in 1 2 3 4; do codes="$codes $(code customer /healthz)"; done
check "customer (rate 1/s, burst 3): the 4th request in a burst is 429" " 200 200 200 429" "$codes"
req customer GET /healthz
check "the next one too" 429 "$STATUS"
check_match "429 carries Retry-After in seconds" '^[1-9][0-9]*$' "$(header retry-after)"
check "429 body has the error code" RATE_LIMITED "$(jq -r .code <<<"$BODY")"
check "another principal is not limited" 200 "$(code channel /healthz)"
sleep 1.1
check "after Retry-After the customer is served again" 200 "$(code customer /healthz)"
check_match "429s audited" '^[1-9]' "$(audit_has '"status":429')"
sleep 1.1 # a token for the customer again

# ---- authorization refusals on the audit record -------------------------------------------
req customer POST /v1/payments -H 'content-type: application/json' -d "$(payment)"
check "a customer posting a payment: 403" 403 "$STATUS"
check_match "403 audited with principal, route and reason" \
    '"principal":"customer".*"method":"POST","route":"/v1/payments".*"status":403,"decision":"refused","reason":"route not for' \
    "$(grep '"status":403' "$WORK/audit.log" | tail -1)"
sleep 1.1 # the customer's bucket
req channel POST /v1/payments -H 'content-type: application/json' -d "$(payment '.customer_id = "OTHER-009" | .debtor.account = {"other": "OTHER-009-EUR"}')"
check "channel creates another customer's payment" 201 "$STATUS"
OTHER=$(jq -r .uetr <<<"$BODY")
req customer GET "/v1/payments/$OTHER"
check "customer reading someone else's payment: 404" 404 "$STATUS"
check_match "that 404 is audited as ownership" "\"status\":404.*\"reason\":\"not the principal's payment\".*\"uetr\":\"$OTHER\"" \
    "$(grep '"status":404' "$WORK/audit.log" | tail -1)"
check "the audit file is 0600" 600 "$(stat -c %a "$WORK/audit.log")"
check "every audit record is one JSON object" "$(wc -l <"$WORK/audit.log")" \
    "$(jq -c 'select(.time and .decision and .reason)' "$WORK/audit.log" 2>/dev/null | wc -l)"

# ---- HTTP/2 abuse: cut off, others served ----------------------------------------------------
abuse no-handshake --seconds 15 >"$WORK/nohs.out" & NOHS=$! # the fixed 10 s handshake timeout
for m in rapid-reset continuation-flood endless-headers hpack-bomb settings-flood ping-flood; do
    abuse "$m" --seconds 10 >"$WORK/abuse.out" & A=$!
    sleep 0.2
    well_behaved "$m"
    wait $A
    check "$m: the offender is cut off" 0 "$?"
    echo "     $(cat "$WORK/abuse.out")"
done
grep -q 'reason=rapid reset' "$WORK/daemon.log" && pass "rapid reset: cut by the RST_STREAM budget" || fail "rapid reset: cut by the RST_STREAM budget"
grep -q 'reason=PING flood' "$WORK/daemon.log" && pass "PING flood: cut by the control-frame budget" || fail "PING flood: cut by the control-frame budget"
grep -q 'reason=header block too large' "$WORK/daemon.log" && pass "HPACK bomb: cut at the header cap" || fail "HPACK bomb: cut at the header cap"

abuse slowloris --seconds 10 >"$WORK/abuse.out" & A=$!
well_behaved "slowloris"
wait $A
check "slowloris (headers never finished): cut" 0 "$?"
check_match "slowloris: cut at header_timeout_ms (2 s), not later" 'after_ms=(2|3|4)[0-9]{3}( |$)' "$(cat "$WORK/abuse.out")"
abuse idle --seconds 10 >"$WORK/abuse.out" & A=$!
well_behaved "idle client"
wait $A
check "idle client: cut" 0 "$?"
check_match "idle client: cut at idle_timeout_ms (4 s)" 'after_ms=(4|5|6)[0-9]{3}( |$)' "$(cat "$WORK/abuse.out")"

abuse big-body --path /v1/payments --size $((64 << 20)) --seconds 20 >"$WORK/abuse.out" & A=$!
well_behaved "big body"
wait $A
check "body over max_body: 413 before the body was read" 0 "$?"
check_match "the rest is dropped up to a bound, then the stream is reset" 'rst=1' "$(cat "$WORK/abuse.out")"
echo "     $(cat "$WORK/abuse.out")"
check "an ordinary request's body over max_body: 413" 413 \
    "$(code channel /v1/payments -H 'content-type: application/json' --data-binary @<(head -c 70000 /dev/zero | tr '\0' ' '))"

abuse many-connections --count 12 --seconds 20 >"$WORK/abuse.out" & A=$!
sleep 0.5
well_behaved "many connections"
wait $A
check "too many connections from one principal: refused" 0 "$?"
check_match "8 held, the rest refused" 'served=8 refused=4' "$(cat "$WORK/abuse.out")"
check "once they closed, the principal connects again" 200 "$(code channel /healthz)"
check_match "connection refusals audited" '^[1-9]' "$(audit_has 'too many connections for this principal')"

wait $NOHS
check "a client that never says hello: cut at the handshake timeout" 0 "$?"
check_match "h2 cut-offs audited with the principal" '^[1-9]' "$(audit_has '"principal":"channel","role":"channel".*"decision":"cut"')"
well_behaved "after all the abuse"

# ---- SIGHUP ---------------------------------------------------------------------------------
abuse reuse --wait 3000 --seconds 15 >"$WORK/reuse.out" & REUSE=$!
for i in $(seq 50); do grep -q first= "$WORK/reuse.out" && break; sleep 0.1; done
"$CORRIDOR_SRC/certs/make-dev-pki" crl "$CERTS" "$WORK/crl.pem" revoked channel
kill -HUP "$DAEMON_PID"
log_has '"event":"reloaded"' && pass "SIGHUP: reloaded" || fail "SIGHUP: reloaded" "$(tail -3 "$WORK/daemon.log")"
check "the channel, revoked by the new CRL: refused for new connections" 000 "$(code channel /healthz)"
check_match "the revocation is audited" '^[1-9]' "$(audit_has '"subject":"channel.dev.corridor".*certificate revoked')"
wait $REUSE
check "a connection opened before the reload is not dropped" 0 "$?"
echo "     $(tail -1 "$WORK/reuse.out")"
well_behaved "reload"

echo "channel channel this-line-is-broken" >>"$WORK/participants.conf"
kill -HUP "$DAEMON_PID"
log_has '"event":"reload_failed".*participants.conf:[0-9]*:' && pass "a broken participants file: the reload fails and says where" ||
    fail "a broken participants file: the reload fails and says where" "$(tail -2 "$WORK/daemon.log")"
check "the old state stays: the channel is still revoked" 000 "$(code channel /healthz)"
check "the old state stays: others still served" 200 "$(code operator /healthz)"

cp "$CORRIDOR_SRC/certs/participants.dev.conf" "$WORK/participants.conf"
cp "$CERTS/crl.pem" "$WORK/crl.pem"
openssl req -new -key "$WORK/server.key" -subj "/O=Corridor Dev/CN=localhost" 2>/dev/null |
    openssl x509 -req -CA "$CERTS/ca.crt" -CAkey "$CERTS/ca.key" -set_serial 4242 -days 30 \
        -extfile <(printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n') \
        -out "$WORK/server.crt" 2>/dev/null
chmod 644 "$WORK/server.key"
kill -HUP "$DAEMON_PID"
log_has 'reload_failed.*accessible by group or others' && pass "a key file readable by others: the reload refuses it" ||
    fail "a key file readable by others: the reload refuses it" "$(tail -2 "$WORK/daemon.log")"
chmod 600 "$WORK/server.key"
n=$(grep -c '"event":"reloaded"' "$WORK/daemon.log")
kill -HUP "$DAEMON_PID"
for i in $(seq 50); do [ "$(grep -c '"event":"reloaded"' "$WORK/daemon.log")" -gt "$n" ] && break; sleep 0.1; done
check "CRL and participants restored: the channel is back" 200 "$(code channel /healthz)"
check_match "the new server certificate is served" 'serial=1092' \
    "$(s_client -tls1_3 | openssl x509 -noout -serial 2>/dev/null)"
stop_daemon

# ---- a key file readable by others is refused at start ------------------------------------------
cp "$CERTS/server.key" "$WORK/loose.key"
chmod 644 "$WORK/loose.key"
out=$(cd "$CORRIDOR_SRC" && timeout 10 "$CORRIDORD" --listen "127.0.0.1:$PORT" --data-dir "$WORK/data" \
    --set spool_dir="$WORK/spool" --set key_file="$WORK/loose.key" 2>&1)
check "a key file with mode 0644: corridord refuses to start" 1 "$?"
check_match "... saying why" 'loose.key is accessible by group or others \(mode 0644\): chmod 600' "$out"

# ---- TLS 1.2 on request: ECDHE + AEAD only, no renegotiation (ECDSA key) ---------------------
tls12_accepted() { # the TLS 1.2 suites this daemon accepts, out of all OpenSSL knows
    local c acc=""
    for c in $(openssl ciphers 'ALL:COMPLEMENTOFALL:@SECLEVEL=0' | tr ':' ' '); do
        [ -n "$(negotiated -tls1_2 -cipher "$c:@SECLEVEL=0")" ] && acc="$acc $c"
    done
    echo "$acc" | tr ' ' '\n' | sort | xargs
}
start_at "$CERTS" --set tls_min_version=1.2 || exit 1
check "tls_min_version=1.2: curl over TLS 1.2 gets 200" 200 "$(code operator /healthz --tlsv1.2 --tls-max 1.2)"
check "TLS 1.2, ECDSA key: exactly the ECDHE-ECDSA AEAD suites" \
    "ECDHE-ECDSA-AES128-GCM-SHA256 ECDHE-ECDSA-AES256-GCM-SHA384 ECDHE-ECDSA-CHACHA20-POLY1305" \
    "$(tls12_accepted)"
check "TLS 1.1 still refused" "" "$(negotiated -tls1_1 -cipher 'ALL:@SECLEVEL=0')"
check "TLS 1.3 still preferred" "Cipher is TLS_AES_256_GCM_SHA384" "$(negotiated)"
reneg=$( (sleep 0.5; echo R; sleep 1) | timeout 10 openssl s_client -connect "127.0.0.1:$PORT" \
    -servername localhost -CAfile "$CA" -cert "$PKI/operator.crt" -key "$PKI/operator.key" \
    -alpn h2 -tls1_2 2>&1 | tr -d '\000')
check_match "TLS 1.2 renegotiation refused" 'no renegotiation' "$(grep -iA3 RENEGOTIATING <<<"$reneg")"
stop_daemon

# ---- RSA server key (a dev PKI made with KEY_TYPE=rsa) ----------------------------------------
KEY_TYPE=rsa "$CORRIDOR_SRC/certs/make-dev-pki" "$WORK/rsa" >/dev/null
start_at "$WORK/rsa" --set ca_file="$WORK/rsa/ca.crt" --set cert_file="$WORK/rsa/server.crt" \
    --set key_file="$WORK/rsa/server.key" --set crl_file="$WORK/rsa/crl.pem" \
    --set tls_min_version=1.2 || exit 1
check "RSA server key: served over TLS 1.3" 200 "$(code channel /healthz)"
check_match "RSA server key: the handshake used it" 'Peer signature type: RSA' "$(s_client -tls1_3)"
check "TLS 1.2, RSA key: exactly the ECDHE-RSA AEAD suites" \
    "ECDHE-RSA-AES128-GCM-SHA256 ECDHE-RSA-AES256-GCM-SHA384 ECDHE-RSA-CHACHA20-POLY1305" \
    "$(tls12_accepted)"
check "RSA PKI: its revoked certificate is refused too" 000 "$(code revoked /healthz)"
stop_daemon

# ---- privilege drop (when started as root) ------------------------------------------------
if [ "$(id -u)" -ne 0 ]; then
    pass "privilege drop: skipped (not root)"
else
    chmod 711 "$WORK" # the service user must reach its files by path
    PDATA=$WORK/pdata
    start_at "$CERTS" --data-dir "$PDATA" --set spool_dir="$WORK/pspool" \
        --set audit_file="$WORK/paudit.log" --set run_as_user=nobody || exit 1
    NOBODY=$(id -u nobody)
    check "started as root, runs as nobody (real, effective, saved, fs uid)" \
        "$NOBODY $NOBODY $NOBODY $NOBODY" "$(awk '/^Uid:/ {print $2, $3, $4, $5}' /proc/$DAEMON_PID/status)"
    check "no supplementary groups kept" "$(id -g nobody)" "$(awk '/^Groups:/ {print $2}' /proc/$DAEMON_PID/status)"
    req channel POST /v1/payments -H 'content-type: application/json' -d "$(payment)"
    check "after the drop, payments are still created (durable)" 201 "$STATUS"
    req channel GET "$(header location)"
    check "... and read back" 200 "$STATUS"
    check "the store belongs to the service user, 0700" "$NOBODY 700" "$(stat -c '%u %a' "$PDATA")"
    check "its files are 0600" "600" "$(stat -c %a "$PDATA"/*.mdb | sort -u | xargs)"
    check "the spool: the service user's, 0700" "$NOBODY 700" "$(stat -c '%u %a' "$WORK/pspool")"
    check "the audit file: the service user's, 0600" "$NOBODY 600" "$(stat -c '%u %a' "$WORK/paudit.log")"
    req customer POST /v1/payments -H 'content-type: application/json' -d "$(payment)"
    check_match "the service user still writes audit records" '"status":403' "$(tail -1 "$WORK/paudit.log")"
    stop_daemon
fi

finish
