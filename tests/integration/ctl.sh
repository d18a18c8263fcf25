#!/usr/bin/env bash
# corridorctl against a store written by the running daemon: it reads beside the live
# process (list, show, export, stats, audit), verifies indexes and the ledger, and takes a hot
# backup that is itself a valid store.
. "$(dirname "$0")/lib.sh"
CTL=${CORRIDORCTL:?CORRIDORCTL must name the corridorctl binary}
ctl() { "$CTL" --data-dir "$WORK/data" "$@"; }

start_daemon || exit 1
UETRS=()
for i in 1 2 3; do
    req channel POST /v1/payments -H 'content-type: application/json' \
        -d "$(payment ".end_to_end_id = \"CTL-$i\"")"
    UETRS+=("$(jq -r .uetr <<<"$BODY")")
done
req channel POST /v1/payments -H 'content-type: application/json' -d "$(payment '.amount = "999999999.00"')"
check "a refused reservation (for the audit trail)" "422 AM04" "$STATUS $(jq -r .code <<<"$BODY")"

out=$(ctl list)
check "list (daemon running) shows the payments" 3 "$(grep -c -E "$(IFS='|'; echo "${UETRS[*]}")" <<<"$out")"
check "list --status ACSP" 3 "$(ctl list --status ACSP | wc -l)"
check "list --limit 2" 2 "$(ctl list --limit 2 | wc -l)"
check "list with a bad option: usage (exit 2)" 2 "$(ctl list --limit x >/dev/null 2>&1; echo $?)"
check "show: the payment as JSON" "CTL-2" "$(ctl show "${UETRS[1]}" | jq -r .end_to_end_id)"
check "show: its first event" CTPT "$(ctl show "${UETRS[1]}" | jq -r '.events[0].type')"
check "show an unknown UETR: exit 1" 1 "$(ctl show 00000000-0000-4000-8000-000000000000 >/dev/null 2>&1; echo $?)"
check "export: one JSON line per payment" 3 "$(ctl export | jq -r .uetr | grep -c -E "$(IFS='|'; echo "${UETRS[*]}")")"
check "stats: the payment count" 3 "$(ctl stats | jq -r .payments)"
check "audit: the AM04 refusal" AM04 "$(ctl audit | jq -r .code | tail -1)"
check_match "verify: consistent" 'consistent$' "$(ctl verify | head -1)"
check "verify exits 0" 0 "$(ctl verify >/dev/null; echo $?)"

mkdir -p "$WORK/backup"
check_match "hot backup while running" "backup written" "$(ctl backup "$WORK/backup")"
check "the backup is a store: verify" 0 "$("$CTL" --data-dir "$WORK/backup" verify >/dev/null; echo $?)"
check "the backup holds the payments" 3 "$("$CTL" --data-dir "$WORK/backup" stats | jq -r .payments)"
check "backup into a non-empty directory: refused" 1 "$(ctl backup "$WORK/backup" >/dev/null 2>&1; echo $?)"

req channel GET "/v1/payments/${UETRS[0]}"
check "the daemon kept serving" 200 "$STATUS"
stop_daemon TERM
check "read-only open of a missing store: exit 1" 1 "$("$CTL" --data-dir "$WORK/nothing" stats >/dev/null 2>&1; echo $?)"
finish
