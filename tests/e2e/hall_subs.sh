#!/bin/bash
# hall_subs.sh — sub certificates and permissions (副数字证书, SPEC §4.3)
# over the hall's API with a real CA service behind it: a company is
# walked through 开通 (application, PDF, scan made by pdftoppm, review,
# SMS code from the outbox, registration) exactly as hall_activation.sh
# does; then other certificates of it ask to become sub certificates and
# the main certificate and a 证书管理员 manage them under the 2025 role
# rules.  Every refusal is checked to have changed nothing; SMS to the
# holders are read from the outbox, the audit log from the database with
# sqlite3.  Matter codes come from data/matters.json, whatever it holds
# (a small catalogue of the test's own when there is none).
. "$(dirname "$0")/lib/common.sh"
. "$(dirname "$0")/lib/hall.sh"
D="$T/ca"; H="$T/hall"
reserve_ports; HPORT=$((PORT + 1))
BASE="http://127.0.0.1:$PORT"
NAME="上海浦江建筑工程有限公司"; USCC=91310115MA1FL8XY7N
NAME_B="北京燕山建材有限公司"; USCC_B=91110000600037341L
LOCAL=13816001234
M2=13816002222; M3=13816003333; M4=13816004444; M5=13816005555
PIDS=()
trap 'for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done; wait 2>/dev/null; rm -rf "$T"' EXIT
SRC=${ONECERT_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}

# the catalogue: data/matters.json, whatever it holds (at least three
# matters); without it, a small one given to the hall as [hall] matters
CAT="$SRC/data/matters.json"
if [ ! -f "$CAT" ]; then
	CAT="$T/matters.json"
	f='"fields":[{"key":"title","label":"标题","type":"text","required":true,"max":50}],"attachments":[]'
	printf '[{"code":"safety-permit","name":"建筑施工企业安全生产许可证","department":"市住房城乡建设管理委",%s},
{"code":"three-staff","name":"三类人员","department":"市住房城乡建设管理委",%s},
{"code":"qualification","name":"建设工程企业资质","department":"市住房城乡建设管理委",%s}]\n' "$f" "$f" "$f" > "$CAT"
fi
read -r -a CODES <<<"$(python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
d = d["matters"] if isinstance(d, dict) else d
print(" ".join(m["code"] for m in d))' "$CAT")"
[ "${#CODES[@]}" -ge 3 ] || fail "the matter catalogue holds at least three matters"
C1=${CODES[0]}; C2=${CODES[1]}; C3=${CODES[2]}

expect_ok "CA" "$ONECERT" ca init --dir "$D" --algo ec --base-url "$BASE"
issue() { # file profile name id
	new_csr ec "$T/$1.key" "$T/$1.csr"
	if [ "$2" = personal ]; then
		"$ONECERT" ca issue --dir "$D" --profile personal --csr "$T/$1.csr" --name "$3" --id-number "$4" --out "$T/$1.pem" >/dev/null
	else
		"$ONECERT" ca issue --dir "$D" --csr "$T/$1.csr" --name "$3" --uscc "$4" --out "$T/$1.pem" >/dev/null
	fi || fail "issue $1"
}
for u in a1 a2 a3 a4 a5; do issue "$u" enterprise "$NAME" "$USCC"; done
issue b1 enterprise "$NAME_B" "$USCC_B"
issue rev personal 赵审核 110101199003074514
expect_ok "TLS certificate for the hall" "$ONECERT" ca issue-tls --dir "$D" --name 127.0.0.1 --out "$T/hall-tls.pem" --key-out "$T/hall-tls.key"
"$ONECERT" ca serve --dir "$D" --listen "127.0.0.1:$PORT" >"$T/ca.log" 2>&1 & PIDS+=($!)
expect_ok "hall init" "$ONECERT" hall init --dir "$H" --trust "$D/ca.pem" \
	--tls-cert "$T/hall-tls.pem" --tls-key "$T/hall-tls.key" --tls-listen "127.0.0.1:$HPORT"
printf 'matters = %s\n' "$CAT" > "$T/extra"
sed -i "/^\[hall\]/r $T/extra" "$H/hall.ini"
expect_ok "import the mobile segment fixture" "$ONECERT" admin import-segments --dir "$H" --file "$SRC/tests/unit/data/segments_fixture.csv"
expect_ok "grant reviewer" "$ONECERT" hall grant-role --dir "$H" --serial "$(serial_of "$T/rev.pem")" --role reviewer
"$ONECERT" hall serve --dir "$H" >"$T/hall.log" 2>&1 & PIDS+=($!)
URL="https://127.0.0.1:$HPORT"
for _ in $(seq 50); do curl -sf --cacert "$D/ca.pem" "$URL/healthz" >/dev/null 2>&1 &&
	curl -sf "$BASE/healthz" >/dev/null 2>&1 && break; sleep 0.2; done
curl -sf --cacert "$D/ca.pem" "$URL/healthz" >/dev/null || { cat "$T/hall.log" >&2; fail "hall is up"; }
ok "CA service and hall are up"

C=(--cacert "$D/ca.pem")
declare -A CSRF ID
body() { sed '$d' <<<"$1"; }
# jget JSON EXPR — a Python expression over the parsed body d
jget() {
	python3 -c '
import json, sys
d = json.loads(sys.argv[1])
r = eval(sys.argv[2])
print(r if isinstance(r, str) else json.dumps(r, ensure_ascii=False, sort_keys=True))' "$1" "$2"
}
# the list entry of account id $2 in GET /subs as seen by $1, or a field of it
sub() { # WHO ACCOUNT_ID EXPR(over s)
	local r
	r=$(api "$1" GET subs)
	[ "$(tail -1 <<<"$r")" = 200 ] || { echo "$r" >&2; fail "GET subs as $1"; }
	jget "$(body "$r")" "(lambda s: $3)([x for x in d['items'] if x['id'] == $2][0])"
}
outbox() { "$ONECERT" admin outbox --dir "$H" --to "$1" --json; }
canon() { tr a-f A-F <<<"$1" | sed 's/^0*//'; }
# allowed WHO "== [...]": the matters GET /matters lets WHO do, compared
allowed() {
	local r
	r=$(api "$1" GET matters)
	[ "$(tail -1 <<<"$r")" = 200 ] || { echo "$r" >&2; fail "GET matters as $1"; }
	jget "$(body "$r")" "sorted(m['code'] for m in d['matters'] if m['allowed']) $2"
}
audit_count() { sqlite3 "$H/hall.db" "SELECT count(*) FROM audit WHERE action = '$1'"; }

for u in a1 a2 a3 a4 a5 b1 rev; do login "$u"; done
ok "seven certificates log in"

# --- before registration: no sub certificates ---------------------------
R=$(api a2 POST subs/request "{\"holder\":\"王二\",\"mobile\":\"$M2\"}")
expect_grep "a company without a registered main certificate: no sub request → 409" "尚未完成.*409$" "$(flat "$R")"
R=$(api a2 GET me)
expect_grep "/me carries status and holder" '^\["active", "", "", null\]$' \
	"$(jget "$(body "$R")" "[d['status'], d['holder_name'], d['holder_mobile'], d.get('matters')]")"

# --- 开通 and registration, as hall_activation.sh walks them -------------
R=$(api a1 POST applications "{\"legal_rep\":\"张三\",\"license_no\":\"$USCC\",\"contact\":\"李四\",\"phone\":\"$LOCAL\",\"medium\":\"SH-2026-000123\"}")
APP=$(body "$R" | sed -nE 's/.*"id":([0-9]+).*/\1/p')
[ -n "$APP" ] || { echo "$R" >&2; fail "the 开通 draft"; }
scan a1 "$APP" scan
R=$(upload a1 "$APP" "$T/scan.jpg")
expect_grep "the scan is uploaded" '"qr":"match".*200$' "$(flat "$R")"
R=$(api a1 POST "applications/$APP/submit")
expect_grep "保存提交" '"state":"submitted".*200$' "$(flat "$R")"
R=$(api rev POST "review/applications/$APP/decision" '{"decision":"approve"}')
expect_grep "the reviewer approves" '"state":"approved".*200$' "$(flat "$R")"
R=$(api a1 POST registration/sms "{\"mobile\":\"$LOCAL\"}")
expect_grep "an SMS code" '"sent":true' "$(flat "$R")"
CODE=$(sms_code "$LOCAL")
[ -n "$CODE" ] || fail "the code is in the outbox"
R=$(api a1 POST registration "{\"region\":\"local\",\"economic_type\":\"有限责任公司\",\"district\":\"浦东新区\",\"license_no\":\"$USCC\",\"nickname\":\"浦江主证书\",\"holder\":\"张三\",\"holder_mobile\":\"$LOCAL\",\"code\":\"$CODE\"}")
expect_grep "提交注册 → registered, a1 is the main certificate" '"company_state":"registered".*"is_main":true.*200$' "$(flat "$R")"
# account ids: each certificate reads its own through GET /subs/{id}; the
# main certificate's list names them all by serial
R=$(api a1 GET subs)
for u in a1 a2 a3 a4 a5; do
	s=$(canon "$(serial_of "$T/$u.pem")")
	ID[$u]=$(jget "$(body "$R")" "[x['id'] for x in d['items'] if x['serial'].upper().lstrip('0') == '$s'][0]")
	[ -n "${ID[$u]}" ] || fail "the main certificate's list names $u"
done
ok "the main certificate's list names every certificate of the company that logged in"
expect_grep "GET /subs: the main certificate is listed as main with the registered holder" '^\["main", "active", "张三", "13816001234"\]$' \
	"$(sub a1 "${ID[a1]}" "[s['role'], s['status'], s['holder'], s['mobile']]")"
expect_grep "GET /subs carries the catalogue" "\"code\": \"$C1\"" "$(jget "$(body "$R")" "d['catalogue']")"

# --- the request ------------------------------------------------------------
R=$(api a2 POST subs/request '{"holder":"王二",')
expect_grep "malformed JSON → 400" "400$" "$(flat "$R")"
R=$(curl -s -w '\n%{http_code}' "${C[@]}" -b "$T/jar.a2" -H 'Content-Type: application/json' \
	-d "{\"holder\":\"王二\",\"mobile\":\"$M2\"}" "$URL/api/v1/subs/request")
expect_grep "no CSRF token → 403" "403$" "$(flat "$R")"
R=$(api a2 POST subs/request "{\"holder\":\"\",\"mobile\":\"$M2\"}")
expect_grep "an empty holder → 400 naming holder" '"field":"holder".*400$' "$(flat "$R")"
R=$(api a2 POST subs/request "{\"holder\":\"王二\",\"mobile\":\"1381600222\"}")
expect_grep "a 10-digit mobile → 400 naming mobile" '"field":"mobile".*400$' "$(flat "$R")"
R=$(api a2 POST subs/request "{\"holder\":\"王二\",\"mobile\":\"$M2\",\"note\":\"$(printf '备%.0s' $(seq 90))\"}")
expect_grep "a note over the limit → 400" '"field":"note".*400$' "$(flat "$R")"
R=$(api a2 GET me)
expect_grep "nothing was stored by the refused requests" '"status":"active"' "$(flat "$R")"
R=$(api a1 POST subs/request "{\"holder\":\"张三\",\"mobile\":\"$LOCAL\"}")
expect_grep "the main certificate cannot ask to be a sub certificate → 409" "409$" "$(flat "$R")"
R=$(api a2 POST subs/request "{\"holder\":\"王二\",\"mobile\":\"$M2\",\"note\":\"预算科，办理报建\"}")
expect_grep "a2 asks to be a sub certificate → pending" '"status":"pending".*200$' "$(flat "$R")"
R=$(api a2 POST subs/request "{\"holder\":\"王二\",\"mobile\":\"$M2\"}")
expect_grep "asking twice → 409" "处理中.*409$" "$(flat "$R")"
expect_grep "the main certificate's holder is told by SMS" "申请成为副数字证书" "$(outbox "$LOCAL")"
R=$(api a2 GET subs)
expect_grep "a pending certificate cannot list sub certificates → 403" "403$" "$(flat "$R")"
expect_grep "the main certificate sees the request with holder, mobile and note" \
	"^\[\"pending\", \"王二\", \"$M2\", \"预算科，办理报建\", \[\"approve\", \"refuse\", \"holder\"\]\]$" \
	"$(sub a1 "${ID[a2]}" "[s['status'], s['holder'], s['mobile'], s['note'], s['can']]")"

# --- approve as clerk with two matters --------------------------------------
R=$(api a1 POST "subs/${ID[a2]}/approve" "{\"role\":\"clerk\",\"matters\":[\"$C1\",\"NO-SUCH-MATTER\"]}")
expect_grep "an unknown matter code → 400 naming it" "NO-SUCH-MATTER.*400$" "$(flat "$R")"
R=$(api a1 POST "subs/${ID[a2]}/approve" "{\"role\":\"main\",\"matters\":[]}")
expect_grep "role main → 400" '"field":"role".*400$' "$(flat "$R")"
R=$(api a1 POST "subs/${ID[a2]}/approve" '{"role":"clerk",')
expect_grep "approve with malformed JSON → 400" "400$" "$(flat "$R")"
R=$(curl -s -w '\n%{http_code}' "${C[@]}" -b "$T/jar.a1" -H 'Content-Type: application/json' \
	-d '{"role":"clerk"}' "$URL/api/v1/subs/${ID[a2]}/approve")
expect_grep "approve without CSRF → 403" "403$" "$(flat "$R")"
expect_grep "…and the refusals left the request pending" "^pending$" "$(sub a1 "${ID[a2]}" "s['status']")"
# a fault between the standing and the grants: writing grants fails (a
# trigger the test adds to the database), and the approval is all or
# nothing — still pending, no grants — not an active certificate without
# its matters
sqlite3 "$H/hall.db" "CREATE TRIGGER fail_grants BEFORE INSERT ON grants BEGIN SELECT RAISE(ABORT, 'injected fault'); END;" ||
	fail "add the fault trigger"
R=$(api a1 POST "subs/${ID[a2]}/approve" "{\"role\":\"clerk\",\"matters\":[\"$C1\"]}")
[ "$(tail -1 <<<"$R")" != 200 ] || { echo "$R" >&2; fail "an approval whose grants cannot be written fails"; }
ok "an approval whose grants cannot be written fails ($(tail -1 <<<"$R"))"
expect_grep "…and changed nothing: still pending, no grants" '^pending 0$' \
	"$(sub a1 "${ID[a2]}" "s['status'] + ' ' + str(len(s['matters']))")"
sqlite3 "$H/hall.db" "DROP TRIGGER fail_grants" || fail "drop the fault trigger"
R=$(api a1 POST "subs/${ID[a2]}/approve" "{\"role\":\"clerk\",\"matters\":[\"$C1\",\"$C2\",\"$C1\"]}")
expect_grep "the main certificate approves a2 as 办事员 with two matters (a duplicate collapses)" '"role":"clerk".*"status":"active".*200$' "$(flat "$R")"
R=$(api a2 GET me)
expect_grep "a2's /me: clerk, active, with exactly the two matters" \
	"^\[\"clerk\", \"active\", \"王二\", \"$M2\", true\]$" \
	"$(jget "$(body "$R")" "[d['role'], d['status'], d['holder_name'], d['holder_mobile'], sorted(d['matters']) == sorted(['$C1', '$C2'])]")"
expect_grep "GET /subs: a2's matters by code and name" "^true$" \
	"$(sub a1 "${ID[a2]}" "sorted(m['code'] for m in s['matters']) == sorted(['$C1', '$C2'])")"
expect_grep "…with the catalogue's names" "^true$" \
	"$(sub a1 "${ID[a2]}" "all(m['name'] for m in s['matters'])" | tr A-Z a-z)"
expect_grep "a2's holder is told by SMS" "已被设为副数字证书（办事员）" "$(outbox "$M2")"
expect_grep "where the work is done (GET /matters): a2 may do exactly its two matters" "^true$" \
	"$(allowed a2 "== sorted(['$C1', '$C2'])")"
expect_grep "…and the main certificate every matter" "^true$" "$(allowed a1 "== sorted('${CODES[*]}'.split())")"
R=$(api a1 POST "subs/${ID[a2]}/approve" '{"role":"clerk","matters":[]}')
expect_grep "approving twice → 409" "409$" "$(flat "$R")"
R=$(api a2 GET subs)
expect_grep "a clerk cannot list sub certificates → 403" "403$" "$(flat "$R")"
R=$(api a2 POST "subs/${ID[a1]}/suspend")
expect_grep "a clerk cannot suspend anything → 403" "403$" "$(flat "$R")"
R=$(api a2 GET "subs/${ID[a2]}")
expect_grep "a clerk reads its own entry" '"role":"clerk".*200$' "$(flat "$R")"

# --- matters: replace, unknown code, duplicates ------------------------------
R=$(api a1 PUT "subs/${ID[a2]}/matters" "{\"matters\":[\"$C3\",\"bogus\"]}")
expect_grep "PUT matters with an unknown code → 400" "bogus.*400$" "$(flat "$R")"
expect_grep "…the grants are unchanged" "^true$" "$(sub a1 "${ID[a2]}" "sorted(m['code'] for m in s['matters']) == sorted(['$C1', '$C2'])")"
R=$(api a1 PUT "subs/${ID[a2]}/matters" '{"matters":"x"}')
expect_grep "PUT matters with a string → 400" "400$" "$(flat "$R")"
R=$(api a1 PUT "subs/${ID[a2]}/matters" "{\"matters\":[\"$C2\",\"$C3\",\"$C3\"]}")
expect_grep "PUT matters replaces the set" '"status":"active".*200$' "$(flat "$R")"
expect_grep "…to exactly the new two" "^true$" "$(jget "$(body "$(api a2 GET me)")" "sorted(d['matters']) == sorted(['$C2', '$C3'])")"
expect_grep "the holder is told of the change" "授权事项已变更" "$(outbox "$M2")"

# --- a 证书管理员 -------------------------------------------------------------
R=$(api a3 POST subs/request "{\"holder\":\"陈三\",\"mobile\":\"$M3\"}")
expect_grep "a3 asks" '"status":"pending"' "$(flat "$R")"
R=$(api a1 POST "subs/${ID[a3]}/approve" "{\"role\":\"cert_admin\",\"matters\":[\"$C1\"]}")
expect_grep "the main certificate makes a3 证书管理员" '"role":"cert_admin".*"status":"active".*200$' "$(flat "$R")"
R=$(api a3 GET subs)
expect_grep "a cert_admin lists every certificate of the company" "\"id\":${ID[a1]},.*\"id\":${ID[a2]},.*\"id\":${ID[a3]},.*200$" "$(flat "$R")"
expect_grep "…and may not touch the main certificate (can is empty)" '^\[\]$' "$(sub a3 "${ID[a1]}" "s['can']")"
R=$(api a4 POST subs/request "{\"holder\":\"李四\",\"mobile\":\"$M4\"}")
expect_grep "a4 asks" '"status":"pending"' "$(flat "$R")"
R=$(api a3 POST "subs/${ID[a4]}/approve" "{\"role\":\"cert_admin\",\"matters\":[\"$C1\"]}")
expect_grep "a cert_admin cannot make a cert_admin → 403" "仅主数字证书.*403$" "$(flat "$R")"
R=$(api a3 POST "subs/${ID[a4]}/approve" "{\"role\":\"clerk\",\"matters\":[\"$C1\",\"$C3\"]}")
expect_grep "the cert_admin approves a4 as 办事员" '"role":"clerk".*"status":"active".*200$' "$(flat "$R")"
expect_grep "…decided by the cert_admin's serial" "^$(canon "$(serial_of "$T/a3.pem")")$" "$(sub a1 "${ID[a4]}" "s['decided_by'].upper().lstrip('0')")"
R=$(api a3 POST "subs/${ID[a1]}/suspend")
expect_grep "a cert_admin cannot suspend the main certificate → 403" "主数字证书.*403$" "$(flat "$R")"
R=$(api a3 PUT "subs/${ID[a1]}/holder" "{\"name\":\"某人\",\"mobile\":\"$M3\"}")
expect_grep "…nor set its holder → 403" "403$" "$(flat "$R")"
R=$(api a3 PUT "subs/${ID[a4]}/role" '{"role":"cert_admin"}')
expect_grep "a cert_admin cannot change roles → 403" "403$" "$(flat "$R")"
R=$(api a3 POST "subs/${ID[a3]}/suspend")
expect_grep "a cert_admin cannot suspend itself → 403" "本证书自身.*403$" "$(flat "$R")"
R=$(api a3 PUT "subs/${ID[a3]}/matters" "{\"matters\":[\"$C1\",\"$C2\",\"$C3\"]}")
expect_grep "…nor grant itself matters → 403" "403$" "$(flat "$R")"
R=$(api a3 PUT "subs/${ID[a3]}/holder" "{\"name\":\"陈叁\",\"mobile\":\"$M3\"}")
expect_grep "a cert_admin sets its own holder" '"holder":"陈叁".*200$' "$(flat "$R")"
R=$(api a3 PUT "subs/${ID[a4]}/matters" "{\"matters\":[\"$C2\"]}")
expect_grep "a cert_admin changes a clerk's matters" "\"code\":\"$C2\".*200$" "$(flat "$R")"
R=$(api a3 PUT "subs/${ID[a4]}/holder" "{\"name\":\"李肆\",\"mobile\":\"$M5\"}")
expect_grep "a cert_admin sets a clerk's holder (设置持证人)" '"holder":"李肆".*"mobile":"13816005555".*200$' "$(flat "$R")"
expect_grep "…the new holder is told" "持证人已设置为李肆" "$(outbox "$M5")"
expect_grep "…and the old one" "持证人已设置为李肆" "$(outbox "$M4")"
R=$(api a3 POST "subs/${ID[a4]}/suspend")
expect_grep "a cert_admin suspends a clerk" '"status":"suspended".*200$' "$(flat "$R")"
R=$(api a3 POST "subs/${ID[a4]}/resume")
expect_grep "…and resumes it" '"status":"active".*200$' "$(flat "$R")"
# another cert_admin: the main certificate makes a2 one
R=$(api a1 PUT "subs/${ID[a2]}/role" '{"role":"cert_admin"}')
expect_grep "the main certificate makes a2 证书管理员 (role)" '"role":"cert_admin".*200$' "$(flat "$R")"
expect_grep "…its grants are kept" "^true$" "$(jget "$(body "$(api a2 GET me)")" "sorted(d['matters']) == sorted(['$C2', '$C3'])")"
for a in "POST subs/${ID[a2]}/suspend" "POST subs/${ID[a2]}/remove" "PUT subs/${ID[a2]}/matters"; do
	R=$(api a3 $a "{\"matters\":[\"$C1\"]}")
	expect_grep "a cert_admin cannot change another cert_admin ($a) → 403" "其他证书管理员.*403$" "$(flat "$R")"
done
R=$(api a3 PUT "subs/${ID[a2]}/holder" "{\"name\":\"某人\",\"mobile\":\"$M3\"}")
expect_grep "…nor set its holder → 403" "403$" "$(flat "$R")"
expect_grep "…nothing changed" "^\[\"cert_admin\", \"active\", \"王二\"\]$" "$(sub a1 "${ID[a2]}" "[s['role'], s['status'], s['holder']]")"
R=$(api a1 PUT "subs/${ID[a2]}/role" '{"role":"clerk"}')
expect_grep "the main certificate makes a2 办事员 again" '"role":"clerk".*200$' "$(flat "$R")"

# --- the main certificate itself ------------------------------------------------
for a in suspend remove; do
	R=$(api a1 POST "subs/${ID[a1]}/$a")
	expect_grep "the main certificate cannot $a itself → 403" "403$" "$(flat "$R")"
done
R=$(api a1 PUT "subs/${ID[a1]}/role" '{"role":"clerk"}')
expect_grep "…nor change its role → 403" "403$" "$(flat "$R")"
R=$(api a1 PUT "subs/${ID[a1]}/holder" "{\"name\":\"张三丰\",\"mobile\":\"$LOCAL\"}")
expect_grep "the main certificate sets its own holder" '"holder":"张三丰".*"is_main":true.*200$' "$(flat "$R")"
R=$(api a1 GET me)
expect_grep "…/me shows it" '"holder_name":"张三丰"' "$(flat "$R")"
R=$(api a1 PUT "subs/${ID[a1]}/holder" '{"name":"张三丰","mobile":"02112345678"}')
expect_grep "a holder's mobile must be a mobile → 400" '"field":"mobile".*400$' "$(flat "$R")"

# --- another company ------------------------------------------------------------
for a in "GET subs/${ID[a2]}" "POST subs/${ID[a2]}/suspend" "PUT subs/${ID[a2]}/matters" "POST subs/${ID[a2]}/approve" "PUT subs/${ID[a2]}/holder"; do
	if [ "${a%% *}" = GET ]; then R=$(api b1 $a); else R=$(api b1 $a '{"matters":[],"role":"clerk","name":"x","mobile":"13816009999"}'); fi
	expect_grep "another company's certificate: $a → 404" "404$" "$(flat "$R")"
done
R=$(api b1 GET subs)
expect_grep "a certificate of an unregistered company cannot list → 403" "403$" "$(flat "$R")"
R=$(api a1 POST "subs/999999/suspend")
expect_grep "an unknown account id → 404" "404$" "$(flat "$R")"
R=$(api a1 POST "subs/0/suspend")
expect_grep "id 0 → 404" "404$" "$(flat "$R")"
R=$(api a1 POST "subs/${ID[a2]}/explode")
expect_grep "an unknown action → 404" "404$" "$(flat "$R")"
R=$(api a1 GET "subs/${ID[a2]}/suspend")
expect_grep "a wrong method → 405" "405$" "$(flat "$R")"
# company B's own account id, as the main certificate of A sees it: 404
BACC=$(sqlite3 "$H/hall.db" "SELECT id FROM accounts WHERE ltrim(upper(serial), '0') = '$(canon "$(serial_of "$T/b1.pem")")'")
[ -n "$BACC" ] || fail "company B's account id"
for a in "GET subs/$BACC" "POST subs/$BACC/suspend" "PUT subs/$BACC/holder"; do
	if [ "${a%% *}" = GET ]; then R=$(api a1 $a); else R=$(api a1 $a '{"name":"x","mobile":"13816009999"}'); fi
	expect_grep "A's main certificate on B's certificate: $a → 404" "404$" "$(flat "$R")"
done
R=$(api rev GET subs)
expect_grep "a staff certificate → 403" "403$" "$(flat "$R")"
R=$(api rev POST "subs/${ID[a2]}/suspend")
expect_grep "a staff certificate on a company's certificate → 403, whatever the id" "企业数字证书.*403$" "$(flat "$R")"

# --- suspend, resume, remove, request again, refuse --------------------------
R=$(curl -s -w '\n%{http_code}' "${C[@]}" -b "$T/jar.a1" -X POST "$URL/api/v1/subs/${ID[a2]}/suspend")
expect_grep "suspend without CSRF → 403" "403$" "$(flat "$R")"
expect_grep "…still active" "^active$" "$(sub a1 "${ID[a2]}" "s['status']")"
R=$(api a1 POST "subs/${ID[a2]}/suspend")
expect_grep "suspend → suspended" '"status":"suspended".*200$' "$(flat "$R")"
expect_grep "…a2's /me says suspended" '^suspended$' "$(jget "$(body "$(api a2 GET me)")" "d['status']")"
expect_grep "…and its holder is told" "已被暂停使用" "$(outbox "$M2")"
expect_grep "…a suspended sub certificate may do no matter (GET /matters)" "^true$" "$(allowed a2 "== []")"
R=$(api a1 POST "subs/${ID[a2]}/suspend")
expect_grep "suspending twice → 409" "409$" "$(flat "$R")"
R=$(api a1 PUT "subs/${ID[a2]}/matters" "{\"matters\":[\"$C1\"]}")
expect_grep "a suspended sub's matters can be changed" "\"status\":\"suspended\".*\"code\":\"$C1\".*200$" "$(flat "$R")"
R=$(api a1 POST "subs/${ID[a2]}/resume")
expect_grep "resume → active" '"status":"active".*200$' "$(flat "$R")"
R=$(api a1 POST "subs/${ID[a2]}/resume")
expect_grep "resuming an active one → 409" "409$" "$(flat "$R")"
sqlite3 "$H/hall.db" "CREATE TRIGGER fail_revoke BEFORE DELETE ON grants BEGIN SELECT RAISE(ABORT, 'injected fault'); END;" ||
	fail "add the fault trigger"
R=$(api a1 POST "subs/${ID[a2]}/remove")
[ "$(tail -1 <<<"$R")" != 200 ] || { echo "$R" >&2; fail "a removal whose grants cannot be cleared fails"; }
expect_grep "a removal whose grants cannot be cleared fails and changes nothing (active, its matter kept)" \
	"^active $C1\$" "$(sub a1 "${ID[a2]}" "s['status'] + ' ' + ','.join(m['code'] for m in s['matters'])")"
sqlite3 "$H/hall.db" "DROP TRIGGER fail_revoke" || fail "drop the fault trigger"
R=$(api a1 POST "subs/${ID[a2]}/remove")
expect_grep "remove → removed, no role" '"role":"","status":"removed".*200$' "$(flat "$R")"
expect_grep "…the grants are gone (list)" '^\[\]$' "$(sub a1 "${ID[a2]}" "s['matters']")"
expect_grep "…and in the database" '^0$' "$(sqlite3 "$H/hall.db" "SELECT count(*) FROM grants WHERE account_id = ${ID[a2]}")"
R=$(api a2 GET me)
expect_grep "…a2's /me: removed, no role, no matters" '^\["", "removed", null\]$' "$(jget "$(body "$R")" "[d['role'], d['status'], d.get('matters')]")"
R=$(api a1 POST "subs/${ID[a2]}/remove")
expect_grep "removing twice → 409" "409$" "$(flat "$R")"
R=$(api a1 PUT "subs/${ID[a2]}/matters" "{\"matters\":[\"$C1\"]}")
expect_grep "a removed certificate gets no matters → 409" "409$" "$(flat "$R")"
R=$(api a2 POST subs/request "{\"holder\":\"王二\",\"mobile\":\"$M2\",\"note\":\"再次申请\"}")
expect_grep "a removed certificate requests again → pending" '"status":"pending".*200$' "$(flat "$R")"
R=$(api a3 POST "subs/${ID[a2]}/refuse" '{}')
expect_grep "refuse without a reason → 400" '"field":"reason".*400$' "$(flat "$R")"
R=$(api a3 POST "subs/${ID[a2]}/refuse" '{"reason":"岗位已调整，无需办理"}')
expect_grep "the cert_admin refuses it with a reason" '"status":"refused".*"reason":"岗位已调整，无需办理".*200$' "$(flat "$R")"
expect_grep "…the holder is told the reason" "岗位已调整，无需办理" "$(outbox "$M2")"
R=$(api a2 GET "subs/${ID[a2]}")
expect_grep "…and a2 reads it" '"reason":"岗位已调整，无需办理"' "$(flat "$R")"
R=$(api a1 POST "subs/${ID[a2]}/approve" '{"role":"clerk","matters":[]}')
expect_grep "a refused request cannot be approved → 409" "409$" "$(flat "$R")"

# --- a race: approve and refuse the same request at once: one wins -----------
R=$(api a5 POST subs/request "{\"holder\":\"赵五\",\"mobile\":\"$M5\"}")
expect_grep "a5 asks" '"status":"pending"' "$(flat "$R")"
api a1 POST "subs/${ID[a5]}/approve" "{\"role\":\"clerk\",\"matters\":[\"$C1\"]}" > "$T/race1" & R1=$!
api a3 POST "subs/${ID[a5]}/refuse" '{"reason":"重复"}' > "$T/race2" & R2=$!
wait "$R1" "$R2"
S1=$(tail -1 "$T/race1"); S2=$(tail -1 "$T/race2")
[ "$(printf '%s\n' "$S1" "$S2" | sort | tr '\n' ' ')" = "200 409 " ] || { cat "$T/race1" "$T/race2" >&2; fail "racing approve and refuse: exactly one wins ($S1 $S2)"; }
ok "racing approve and refuse: exactly one wins, the other gets 409"
ST=$(sub a1 "${ID[a5]}" "s['status'] + ' ' + str(len(s['matters']))")
if [ "$S1" = 200 ]; then expect_grep "…the winner's result stands" '^active 1$' "$ST"
else expect_grep "…the winner's result stands" '^refused 0$' "$ST"; fi

# --- the audit log ------------------------------------------------------------
for a in sub.request sub.approve sub.refuse sub.matters sub.role sub.suspend sub.resume sub.remove sub.holder; do
	[ "$(audit_count "$a")" -ge 1 ] || fail "audit: $a"
done
ok "every kind of change is in the audit log"
expect_grep "the audit names the actor's serial (the cert_admin's approval of a4)" "^$(canon "$(serial_of "$T/a3.pem")")$" \
	"$(sqlite3 "$H/hall.db" "SELECT ltrim(upper(actor), '0') FROM audit WHERE action = 'sub.approve' AND detail LIKE '%\"account\":${ID[a4]}%'")"
done_tests
