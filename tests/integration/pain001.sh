#!/usr/bin/env bash
# pain.001 in, end to end: a channel posts customer credit transfer initiations (both
# versions, single and multi-transaction, bare or in an Envelope) as application/xml; each
# transaction becomes a payment with its own schema-conformant pacs.008; a bad file is refused
# whole with every problem listed; pain.002 reports come back on request.
. "$(dirname "$0")/lib.sh"

start_daemon || exit 1
XSD=$SHARED/iso20022/xsd

fill() { sed -e "s/@TODAY@/$(today)/g" -e "s/8a562c67-ca16-48ba-b074-65581be6f011/$(uuidgen -r)/g" "$1"; }
payments_stored() {
    req operator GET /metrics
    awk '/^corridor_payments /{print $2}' <<<"$BODY"
}
official() { # check name file: validate against ../shared's official schema
    if [ ! -f "$XSD/$2.xsd" ]; then
        fail "$1" "../shared/iso20022/xsd/$2.xsd missing: conformance not checked"
    elif xmllint --noout --schema "$XSD/$2.xsd" "$3" 2>"$WORK/x.log"; then
        pass "$1"
    else fail "$1" "$(head -3 "$WORK/x.log")"; fi
}
part() { xmllint --xpath "//*[local-name()='$1']" "$2" >"$3" 2>/dev/null; }

for f in "$CORRIDOR_SRC"/samples/pain001/*.xml; do
    name=$(basename "$f" .xml)
    n_tx=$(grep -c '<CdtTrfTxInf>' "$f")
    fill "$f" >"$WORK/in.xml"
    req channel POST /v1/payments -H 'content-type: application/xml' --data-binary @"$WORK/in.xml"
    check "$name: 201" 201 "$STATUS"
    check "$name: one payment per transaction" "$n_tx" "$(jq '.payments | length' <<<"$BODY")"
    check "$name: the pain.001 MsgId is named" \
        "$(xmllint --xpath "string(//*[local-name()='GrpHdr']/*[local-name()='MsgId'])" "$WORK/in.xml")" \
        "$(jq -r .message_id <<<"$BODY")"
    cp "$WORK/body" "$WORK/created.json"
    i=0
    for uetr in $(jq -r '.payments[].uetr' "$WORK/created.json"); do
        i=$((i + 1))
        req customer GET "/v1/payments/$uetr"
        check "$name #$i: the customer named in InitgPty owns it" 200 "$STATUS"
        req channel GET "/v1/payments/$uetr/messages/pacs.008"
        cp "$WORK/body" "$WORK/p8.xml"
        part Document "$WORK/p8.xml" "$WORK/doc.xml"
        part AppHdr "$WORK/p8.xml" "$WORK/hdr.xml"
        check "$name #$i: pacs.008 carries the UETR" "$uetr" \
            "$(xmllint --xpath "string(//*[local-name()='UETR'])" "$WORK/doc.xml" 2>/dev/null)"
        official "$name #$i: pacs.008 valid against the official schema" pacs.008.001.08 "$WORK/doc.xml"
        official "$name #$i: AppHdr valid against the official schema" head.001.001.02 "$WORK/hdr.xml"
        req channel GET "/v1/payments/$uetr/messages/pain.002"
        check "$name #$i: pain.002 on request" 200 "$STATUS"
        cp "$WORK/body" "$WORK/p2.xml"
        official "$name #$i: pain.002 valid against the official schema" pain.002.001.10 "$WORK/p2.xml"
        check "$name #$i: pain.002 reports the transaction" "$uetr ACSP" \
            "$(xmllint --xpath "concat(string(//*[local-name()='OrgnlUETR']), ' ', string(//*[local-name()='TxSts']))" "$WORK/p2.xml" 2>/dev/null)"
    done
done

# --- what the JSON model has no place for travels on in the pacs.008 ------------------------
fill "$CORRIDOR_SRC/samples/pain001/pain001-09-multi.xml" >"$WORK/in.xml"
req channel POST /v1/payments -H 'content-type: application/xml' --data-binary @"$WORK/in.xml"
all=""
for uetr in $(jq -r '.payments[].uetr' <<<"$BODY"); do
    req channel GET "/v1/payments/$uetr/messages/pacs.008"
    all+=$(cat "$WORK/body")
done
for el in Strd RgltryRptg UltmtDbtr UltmtCdtr Purp IntrmyAgt1 ChrgsInf; do
    check_match "pain.001 $el carried into the pacs.008" "$el>" "$all"
done

# --- refused whole, every problem listed, nothing stored -------------------------------------
before=$(payments_stored)
for fx in "$CORRIDOR_SRC"/samples/invalid/pain001-*.xml; do
    name=$(basename "$fx" .xml)
    want_status=$(head -1 "${fx%.xml}.expect")
    want=$(tail -n +2 "${fx%.xml}.expect" | sort)
    fill "$fx" >"$WORK/in.xml"
    req channel POST /v1/payments -H 'content-type: application/xml' --data-binary @"$WORK/in.xml"
    check "invalid/$name: $want_status" "$want_status" "$STATUS"
    got=$(jq -r '.errors[] | "\(.path) \(.code)"' <<<"$BODY" 2>/dev/null | sort)
    check "invalid/$name: every problem listed with its path" "$want" "$got"
done
check "refused files stored nothing" "$before" "$(payments_stored)"

# --- who may send what -------------------------------------------------------------------------
fill "$CORRIDOR_SRC/samples/pain001/pain001-09-single.xml" | sed 's/CRDRGB20XXX/DEUTDEFFXXX/g' >"$WORK/in.xml"
req channel POST /v1/payments -H 'content-type: application/xml' --data-binary @"$WORK/in.xml"
check "pain.001 for another bank's BIC: 403" "403 NOT_YOUR_BIC" "$STATUS $(jq -r '.errors[0].code' <<<"$BODY")"
fill "$CORRIDOR_SRC/samples/pain001/pain001-09-single.xml" >"$WORK/in.xml"
req customer POST /v1/payments -H 'content-type: application/xml' --data-binary @"$WORK/in.xml"
check "customer posting a pain.001: 403" 403 "$STATUS"
req channel POST /v1/payments -H 'content-type: text/csv' --data-binary @"$WORK/in.xml"
check "another media type: 415" 415 "$STATUS"

# --- idempotent retry of a whole file ------------------------------------------------------------
fill "$CORRIDOR_SRC/samples/pain001/pain001-03-multi.xml" >"$WORK/in.xml"
req channel POST /v1/payments -H 'content-type: application/xml' -H 'idempotency-key: file-1' --data-binary @"$WORK/in.xml"
FIRST="$STATUS $BODY"
before=$(payments_stored)
req channel POST /v1/payments -H 'content-type: application/xml' -H 'idempotency-key: file-1' --data-binary @"$WORK/in.xml"
check "the same file again under its key: the same answer" "$FIRST" "$STATUS $BODY"
check "and no new payments" "$before" "$(payments_stored)"

# --- pain.002 is for pain.001 payments; a rejected one says RJCT ----------------------------
req channel POST /v1/payments -H 'content-type: application/json' -d "$(payment)"
JU=$(jq -r .uetr <<<"$BODY")
req channel GET "/v1/payments/$JU/messages/pain.002"
check "pain.002 of a JSON-initiated payment: 404" 404 "$STATUS"

stop_daemon TERM
finish
