#!/bin/bash
# hall_hostile.sh — hostile requests to the service hall's API, each of
# which must get a clear 4xx and change nothing (SPEC §7): a CSRF header of
# any length, a body key cut mid-character by the reply's message, 保存提交
# of a draft that cannot be submitted (the fields must stay as they were),
# and a burst of parallel wrong SMS codes (no more guesses than
# sms_max_tries, however many arrive at once).  A company is walked through
# 开通 → review → 注册 as hall_subs.sh does; a second company stops at
# main_active for the registration checks.
. "$(dirname "$0")/lib/common.sh"
. "$(dirname "$0")/lib/hall.sh"
D="$T/ca"; H="$T/hall"
reserve_ports; HPORT=$((PORT + 1))
BASE="http://127.0.0.1:$PORT"
NAME="上海浦江建筑工程有限公司"; USCC=91310115MA1FL8XY7N
NAME_B="北京燕山建材有限公司"; USCC_B=91110000600037341L
LOCAL=13816001234; LOCAL_B=13816009999
TRIES=3
PIDS=()
trap 'for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done; wait 2>/dev/null; rm -rf "$T"' EXIT
SRC=${ONECERT_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
CAT="$SRC/data/matters.json"
MATTER=$(python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
d = d["matters"] if isinstance(d, dict) else d
print(next(m["code"] for m in d if any(a.get("required") for a in m["attachments"])
      and any(f["type"] == "text" and f.get("required") for f in m["fields"])))' "$CAT") ||
	fail "the catalogue has a matter with a required text field and a required attachment"
# a body of that matter's required fields, each value V (text) or 1 (number)
fields() {
	python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
d = d["matters"] if isinstance(d, dict) else d
m = next(m for m in d if m["code"] == sys.argv[2])
print(json.dumps({f["key"]: ("2026-01-01" if f["type"] == "date" else "1" if f["type"] == "number"
      else sys.argv[3][:f["max"]]) for f in m["fields"] if f.get("required")}, ensure_ascii=False))' "$CAT" "$MATTER" "$1"
}

expect_ok "CA" "$ONECERT" ca init --dir "$D" --algo ec --base-url "$BASE"
issue() { # file profile name id
	new_csr ec "$T/$1.key" "$T/$1.csr"
	if [ "$2" = personal ]; then
		"$ONECERT" ca issue --dir "$D" --profile personal --csr "$T/$1.csr" --name "$3" --id-number "$4" --out "$T/$1.pem" >/dev/null
	else
		"$ONECERT" ca issue --dir "$D" --csr "$T/$1.csr" --name "$3" --uscc "$4" --out "$T/$1.pem" >/dev/null
	fi || fail "issue $1"
}
issue a1 enterprise "$NAME" "$USCC"
issue b1 enterprise "$NAME_B" "$USCC_B"
issue rev personal 赵审核 110101199003074514
expect_ok "TLS certificate for the hall" "$ONECERT" ca issue-tls --dir "$D" --name 127.0.0.1 --out "$T/hall-tls.pem" --key-out "$T/hall-tls.key"
"$ONECERT" ca serve --dir "$D" --listen "127.0.0.1:$PORT" >"$T/ca.log" 2>&1 & PIDS+=($!)
expect_ok "hall init" "$ONECERT" hall init --dir "$H" --trust "$D/ca.pem" \
	--tls-cert "$T/hall-tls.pem" --tls-key "$T/hall-tls.key" --tls-listen "127.0.0.1:$HPORT"
printf 'matters = %s\nsms_max_tries = %s\nsms_cooldown = 1s\n' "$CAT" "$TRIES" > "$T/extra"
sed -i "/^\[hall\]/r $T/extra" "$H/hall.ini"
expect_ok "import the mobile segment fixture" "$ONECERT" admin import-segments --dir "$H" --file "$SRC/tests/unit/data/segments_fixture.csv"
expect_ok "grant reviewer" "$ONECERT" hall grant-role --dir "$H" --serial "$(serial_of "$T/rev.pem")" --role reviewer
${HALL_WRAP:-} "$ONECERT" hall serve --dir "$H" >"$T/hall.log" 2>&1 & PIDS+=($!)
URL="https://127.0.0.1:$HPORT"
for _ in $(seq 150); do curl -sf --cacert "$D/ca.pem" "$URL/healthz" >/dev/null 2>&1 &&
	curl -sf "$BASE/healthz" >/dev/null 2>&1 && break; sleep 0.2; done
curl -sf --cacert "$D/ca.pem" "$URL/healthz" >/dev/null || { cat "$T/hall.log" >&2; fail "hall is up"; }
ok "CA service and hall are up"

C=(--cacert "$D/ca.pem")
declare -A CSRF
body() { sed '$d' <<<"$1"; }
jget() {
	python3 -c '
import json, sys
d = json.loads(sys.argv[1])
r = eval(sys.argv[2])
print(r if isinstance(r, str) else json.dumps(r, ensure_ascii=False, sort_keys=True))' "$1" "$2"
}
outbox() { "$ONECERT" admin outbox --dir "$H" --to "$1" --json; }
audit_count() { sqlite3 "$H/hall.db" "SELECT count(*) FROM audit WHERE action = '$1'"; }
open_form() { # company uscc phone
	echo "{\"legal_rep\":\"张三\",\"license_no\":\"$1\",\"contact\":\"李四\",\"phone\":\"$2\",\"medium\":\"SH-2026-000123\"}"
}

for u in a1 b1 rev; do login "$u"; done
ok "three certificates log in"

# --- 保存提交 of a draft without its scan: 409, the fields unchanged -------
R=$(api a1 POST applications "$(open_form "$USCC" "$LOCAL")")
APP=$(body "$R" | sed -nE 's/.*"id":([0-9]+).*/\1/p')
[ -n "$APP" ] || { echo "$R" >&2; fail "the 开通 draft"; }
R=$(api a1 POST "applications/$APP/submit" "$(open_form "$USCC" "$LOCAL" | sed 's/李四/王五/')")
expect_grep "保存提交 without the scan → 409" "扫描件.*409$" "$(flat "$R")"
R=$(api a1 GET "applications/$APP")
expect_grep "…and the draft's fields are as they were (nothing half-done)" '^李四$' \
	"$(jget "$(body "$R")" "d['form']['contact']")"

# --- 开通 and registration of company A -----------------------------------
scan a1 "$APP" scan
R=$(upload a1 "$APP" "$T/scan.jpg")
expect_grep "the scan is uploaded" '"qr":"match".*200$' "$(flat "$R")"
R=$(api a1 POST "applications/$APP/submit")
expect_grep "保存提交" '"state":"submitted".*200$' "$(flat "$R")"
# uploaded bytes come back never sniffed and never run as a page, to the
# company and to the reviewer
for who in "a1 applications" "rev review/applications"; do
	read -r w p <<<"$who"
	HDRS=$(curl -s -D - -o /dev/null "${C[@]}" -b "$T/jar.$w" "$URL/api/v1/$p/$APP/scan" | tr -d '\r')
	expect_grep "$w's scan download: nosniff" '^X-Content-Type-Options: nosniff$' "$HDRS"
	expect_grep "$w's scan download: CSP sandbox" '^Content-Security-Policy: sandbox$' "$HDRS"
done
R=$(api rev POST "review/applications/$APP/decision" '{"decision":"approve"}')
expect_grep "the reviewer approves" '"state":"approved".*200$' "$(flat "$R")"
R=$(api a1 POST registration/sms "{\"mobile\":\"$LOCAL\"}")
expect_grep "an SMS code" '"sent":true' "$(flat "$R")"
CODE=$(sms_code "$LOCAL")
[ -n "$CODE" ] || fail "the code is in the outbox"
REG="{\"region\":\"local\",\"economic_type\":\"有限责任公司\",\"district\":\"浦东新区\",\"license_no\":\"$USCC\",\"nickname\":\"浦江主证书\",\"holder\":\"张三\",\"holder_mobile\":\"$LOCAL\",\"code\":\"CODE\"}"
R=$(api a1 POST registration "${REG/CODE/$CODE}")
expect_grep "提交注册 → registered" '"company_state":"registered".*200$' "$(flat "$R")"

# --- the CSRF token: missing, empty, short, long, a prefix, wrong ---------
# (each compared without reading past the header's end: run under
# valgrind, HALL_WRAP="valgrind --error-exitcode=99", to see it)
G=${CSRF[a1]}
for t in "" "x" "${G:0:8}" "${G}x" "${G}${G}${G}" "${G:0:${#G}-1}"; do
	R=$(curl -s -w '\n%{http_code}' "${C[@]}" -b "$T/jar.a1" -H "X-CSRF-Token: $t" \
		-H 'Content-Type: application/json' -X POST --data-binary '{}' "$URL/api/v1/subs/request")
	expect_grep "X-CSRF-Token of ${#t} bytes → 403 csrf" '"code":"csrf".*403$' "$(flat "$R")"
done
R=$(curl -s -w '\n%{http_code}' "${C[@]}" -b "$T/jar.a1" -H 'Content-Type: application/json' \
	-X POST --data-binary '{}' "$URL/api/v1/subs/request")
expect_grep "no X-CSRF-Token → 403 csrf" '"code":"csrf".*403$' "$(flat "$R")"
R=$(api a1 GET me)
expect_grep "the session is intact after them" '"is_main":true.*200$' "$(flat "$R")"

# --- a matter: hostile bodies, 保存提交 without the attachments ------------
# an unknown key whose 60th byte falls inside a character: the message
# quotes it cut, and must still be UTF-8 (a 400 naming it, not a 500)
K="$(printf 'k%.0s' $(seq 59))键"
R=$(api a1 POST "matters/$MATTER/applications" "{\"$K\":\"x\"}")
expect_grep "an unknown key cut mid-character in the message → 400 naming it" "\"field\":\"$K\".*400$" "$(flat "$R")"
R=$(api a1 POST "matters/$MATTER/applications" "{\"$(printf '键%.0s' $(seq 30))\":\"x\"}")
expect_grep "an unknown key of 30 汉字 → 400" '"invalid_input".*400$' "$(flat "$R")"
R=$(api a1 POST "matters/$MATTER/applications" "$(fields 甲)")
MAPP=$(body "$R" | sed -nE 's/^\{"id":([0-9]+).*/\1/p')
[ -n "$MAPP" ] || MAPP=$(jget "$(body "$R")" "d['id']")
expect_grep "a matter draft" '"state":"draft".*201$' "$(flat "$R")"
R=$(api a1 POST "matters/$MATTER/applications/$MAPP/submit" "$(fields 乙)")
expect_grep "保存提交 without the required attachments → 409" '"missing".*409$' "$(flat "$R")"
R=$(api a1 GET "matters/$MATTER/applications/$MAPP")
expect_grep "…and the draft's fields are as they were" '^\["甲"\]$' \
	"$(jget "$(body "$R")" "sorted(set(v for v in d['form'].values() if v != '1' and v != '2026-01-01'))")"

# --- company B: 开通 approved, registration with a burst of wrong codes --
# b_submits WHAT — company B's 开通: a draft, its scan, 保存提交 (BAPP)
b_submits() {
	R=$(api b1 POST applications "$(open_form "$USCC_B" "$LOCAL_B")")
	BAPP=$(body "$R" | sed -nE 's/.*"id":([0-9]+).*/\1/p')
	[ -n "$BAPP" ] || { echo "$R" >&2; fail "company B's $1 开通 draft"; }
	scan b1 "$BAPP" scan-b
	R=$(upload b1 "$BAPP" "$T/scan-b.jpg")
	expect_grep "B's $1 scan is uploaded" '"qr":"match".*200$' "$(flat "$R")"
	R=$(api b1 POST "applications/$BAPP/submit")
	expect_grep "B submits ($1)" '"state":"submitted".*200$' "$(flat "$R")"
}
b_submits first
# a rejection whose reason is longer than the SMS quotes (300 bytes) and
# cut there inside a character: the contact is still told
REASON="1$(printf '章%.0s' $(seq 110))"
R=$(api rev POST "review/applications/$BAPP/decision" "{\"decision\":\"reject\",\"reason\":\"$REASON\"}")
expect_grep "the reviewer rejects B with a long reason" '"state":"rejected".*200$' "$(flat "$R")"
expect_grep "…and B's contact is told by SMS, the reason cut between characters" \
	"未通过审核，原因：1$(printf '章%.0s' $(seq 99))\"" "$(outbox "$LOCAL_B")"
R=$(api b1 GET "applications/$BAPP")
expect_grep "…and sees the whole reason" "\"reason\":\"$REASON\"" "$(flat "$R")"
b_submits second
R=$(api rev POST "review/applications/$BAPP/decision" '{"decision":"approve"}')
expect_grep "the reviewer approves B" '"state":"approved".*200$' "$(flat "$R")"
R=$(api b1 POST registration/sms "{\"mobile\":\"$LOCAL_B\"}")
expect_grep "B's SMS code" '"sent":true' "$(flat "$R")"
CODE=$(sms_code "$LOCAL_B")
[ -n "$CODE" ] || fail "B's code is in the outbox"
WRONG=$(printf '%06d' $(( (10#$CODE + 1) % 1000000 )))
REG_B="{\"region\":\"other\",\"economic_type\":\"有限责任公司\",\"province\":\"北京市\",\"city\":\"北京市\",\"district\":\"东城区\",\"license_no\":\"$USCC_B\",\"nickname\":\"燕山主证书\",\"holder\":\"钱七\",\"holder_mobile\":\"$LOCAL_B\",\"code\":\"CODE\"}"
# twelve wrong codes at once, on connections opened first and sent
# together: each is counted before it is compared, so at most
# sms_max_tries of them are compared at all
python3 - "$URL" "$D/ca.pem" "$T/jar.b1" "${CSRF[b1]}" "${REG_B/CODE/$WRONG}" 12 > "$T/burst" <<'PY' ||
import http.client, ssl, sys, threading, urllib.parse
url, ca, jar, csrf, body, n = sys.argv[1:6] + [int(sys.argv[6])]
cookie = ""
for line in open(jar):
    f = line.rstrip("\n").split("\t")
    if len(f) == 7 and f[5] == "oc_session":
        cookie = "oc_session=" + f[6]
u = urllib.parse.urlsplit(url)
ctx = ssl.create_default_context(cafile=ca)
conns = [http.client.HTTPSConnection(u.hostname, u.port, context=ctx) for _ in range(n)]
for c in conns:
    c.connect()
go, out = threading.Barrier(n), [None] * n
def one(i):
    go.wait()
    conns[i].request("POST", "/api/v1/registration", body=body.encode(), headers={
        "Cookie": cookie, "X-CSRF-Token": csrf, "Content-Type": "application/json"})
    out[i] = conns[i].getresponse().status
ts = [threading.Thread(target=one, args=(i,)) for i in range(n)]
for t in ts:
    t.start()
for t in ts:
    t.join()
print("\n".join(str(s) for s in out))
PY
	fail "the burst of wrong codes"
n400=$(grep -c '^400$' "$T/burst"); n403=$(grep -c '^403$' "$T/burst")
[ $((n400 + n403)) -eq 12 ] || { cat "$T/burst" >&2; fail "the burst gets 400 or 403 only"; }
ok "twelve parallel wrong codes: $n400 × 400, $n403 × 403"
[ "$n400" -le $((TRIES - 1)) ] || fail "at most $((TRIES - 1)) wrong codes are told 'tries left' (got $n400)"
ok "…at most $((TRIES - 1)) of them were told how many tries are left"
w=$(audit_count registration.code_wrong)
[ "$w" -le "$TRIES" ] || fail "at most $TRIES codes are compared (audit: $w)"
ok "…and at most $TRIES were compared (audit registration.code_wrong: $w)"
R=$(api b1 POST registration "${REG_B/CODE/$CODE}")
expect_grep "the right code after the burst: the code is dead → 403" '"sms_code".*403$' "$(flat "$R")"
sleep 1.1
R=$(api b1 POST registration/sms "{\"mobile\":\"$LOCAL_B\"}")
expect_grep "a new code" '"sent":true' "$(flat "$R")"
CODE=$(sms_code "$LOCAL_B")
R=$(api b1 POST registration "${REG_B/CODE/$CODE}")
expect_grep "提交注册 with the new code → registered" '"company_state":"registered".*200$' "$(flat "$R")"
R=$(api b1 POST registration "${REG_B/CODE/$CODE}")
expect_grep "the code replayed → 409 (already registered)" '409$' "$(flat "$R")"

R=$(api a1 GET me)
expect_grep "the hall still answers" '"is_main":true.*200$' "$(flat "$R")"
done_tests
