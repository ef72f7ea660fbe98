#!/bin/bash
# hall_update.sh — 主数字证书更新 (SPEC §4.4) over the hall's API with a real
# CA service behind it.  Company A is walked to registered exactly as in
# hall_activation.sh and given a sub certificate with two matters; then
# its main certificate is renewed at the CA (`onecert ca renew`, same
# medium), the new certificate files 《主数字证书更新申请表》 (PDF judged
# by pdftotext, scan made by pdftoppm, QR match), a reviewer approves, and
# the old certificate can never log in again (login 403, its old session
# 401) while the sub certificate keeps its grants.  Then the signed path:
# the CA's public lineage endpoint over HTTPS, the update signed with the
# old key (openssl dgst), and its refusals: a signature by the new key, a
# plainly issued second certificate (lineage "new"), another certificate
# than the main, a replayed challenge, a CA whose TLS certificate the hall
# does not trust, a revoked old certificate; a paper update racing a
# signed one cannot be approved afterwards.  Bad inputs of the paper path:
# the main itself, another company, a second open update, a wrong reason,
# 其他 without a text, an old serial that is not the main's, withdrawing
# or deciding a decided application.
. "$(dirname "$0")/lib/common.sh"
. "$(dirname "$0")/lib/hall.sh"
D="$T/ca"; D2="$T/other"; H="$T/hall"
reserve_ports; HPORT=$((PORT + 1)); CPORT=$((PORT + 2))
BASE="http://127.0.0.1:$PORT"
NAME="上海浦江建筑工程有限公司"; USCC=91310115MA1FL8XY7N
NAME_B="北京燕山建材有限公司"; USCC_B=91110000600037341L
LOCAL=13816001234; LOCAL2=13817005678; M3=13816003333
MEDIUM=SH-KEY-0001
PIDS=()
HALL_PID=
trap 'for p in "${PIDS[@]}" $HALL_PID; do kill "$p" 2>/dev/null; done; wait 2>/dev/null; rm -rf "$T"' EXIT
SRC=${ONECERT_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}

expect_ok "CA" "$ONECERT" ca init --dir "$D" --algo ec --base-url "$BASE"
# revocations reach OCSP within a second
printf '\n[serve]\nrevocation_interval = 1\nocsp_validity = 120\nocsp_refresh_before = 60\n' >> "$D/ca.ini"
expect_ok "another CA (for the TLS trust check)" "$ONECERT" ca init --dir "$D2" --algo ec --dev-file-keys
issue() { # file profile name id [medium]
	new_csr ec "$T/$1.key" "$T/$1.csr"
	if [ "$2" = personal ]; then
		"$ONECERT" ca issue --dir "$D" --profile personal --csr "$T/$1.csr" --name "$3" --id-number "$4" --out "$T/$1.pem" >/dev/null
	else
		"$ONECERT" ca issue --dir "$D" --csr "$T/$1.csr" --name "$3" --uscc "$4" ${5:+--medium "$5"} --out "$T/$1.pem" >/dev/null
	fi || fail "issue $1"
}
renew() { # old new
	new_csr ec "$T/$2.key" "$T/$2.csr"
	"$ONECERT" ca renew --dir "$D" --serial "$(serial_of "$T/$1.pem")" --csr "$T/$2.csr" --out "$T/$2.pem" >/dev/null ||
		fail "renew $1 → $2"
	sleep 2     # the CA's OCSP cache learns of new certificates every second
}
issue a1 enterprise "$NAME" "$USCC" "$MEDIUM"
issue s1 enterprise "$NAME" "$USCC" SH-KEY-0002
issue b1 enterprise "$NAME_B" "$USCC_B"
issue rev personal 赵审核 110101199003074514
expect_ok "TLS certificate for the hall" "$ONECERT" ca issue-tls --dir "$D" --name 127.0.0.1 --out "$T/hall-tls.pem" --key-out "$T/hall-tls.key"
"$ONECERT" ca serve --dir "$D" --listen "127.0.0.1:$PORT" --tls-listen "127.0.0.1:$CPORT" >"$T/ca.log" 2>&1 & PIDS+=($!)
expect_ok "hall init" "$ONECERT" hall init --dir "$H" --trust "$D/ca.pem" \
	--tls-cert "$T/hall-tls.pem" --tls-key "$T/hall-tls.key" --tls-listen "127.0.0.1:$HPORT"
expect_ok "import the mobile segment fixture" "$ONECERT" admin import-segments --dir "$H" --file "$SRC/tests/unit/data/segments_fixture.csv"
expect_ok "grant reviewer" "$ONECERT" hall grant-role --dir "$H" --serial "$(serial_of "$T/rev.pem")" --role reviewer
URL="https://127.0.0.1:$HPORT"
C=(--cacert "$D/ca.pem")
hall_start() {
	"$ONECERT" hall serve --dir "$H" >>"$T/hall.log" 2>&1 & HALL_PID=$!
	for _ in $(seq 50); do curl -sf "${C[@]}" "$URL/healthz" >/dev/null 2>&1 && break; sleep 0.2; done
	curl -sf "${C[@]}" "$URL/healthz" >/dev/null || { cat "$T/hall.log" >&2; fail "hall is up"; }
}
hall_stop() { kill "$HALL_PID"; wait "$HALL_PID" 2>/dev/null; HALL_PID=; }
hall_start
for _ in $(seq 50); do curl -sf "${C[@]}" "https://127.0.0.1:$CPORT/healthz" >/dev/null 2>&1 && break; sleep 0.2; done
curl -sf "${C[@]}" "https://127.0.0.1:$CPORT/healthz" >/dev/null || { cat "$T/ca.log" >&2; fail "CA is up"; }
ok "CA service (HTTP and HTTPS) and hall are up"

declare -A CSRF
body() { head -n -1 <<<"$1"; }
jget() { python3 -c 'import json,sys; d=json.loads(sys.argv[1]); print(eval(sys.argv[2]))' "$1" "$2"; }
idof() { body "$1" | sed -nE 's/.*"id":([0-9]+).*/\1/p'; }
outbox() { "$ONECERT" admin outbox --dir "$H" --to "$1" --json; }

# --- company A: 开通, review, registration, a sub certificate ------------
for u in a1 s1 b1 rev; do login "$u"; done
ok "four certificates log in"
R=$(api a1 POST applications "{\"legal_rep\":\"张三\",\"license_no\":\"$USCC\",\"contact\":\"李四\",\"phone\":\"$LOCAL\",\"medium\":\"$MEDIUM\"}")
OPEN=$(idof "$R"); [ -n "$OPEN" ] || fail "开通 draft"
scan a1 "$OPEN" open
R=$(upload a1 "$OPEN" "$T/open.jpg")
expect_grep "开通: the scan's QR code matches" '"qr":"match"' "$(flat "$R")"
R=$(api a1 POST "applications/$OPEN/submit")
expect_grep "开通: submitted" '"state":"submitted"' "$(flat "$R")"
R=$(api rev POST "review/applications/$OPEN/decision" '{"decision":"approve"}')
expect_grep "开通: approved" '"state":"approved".*200$' "$(flat "$R")"
R=$(api a1 POST registration/sms "{\"mobile\":\"$LOCAL\"}")
CODE=$(sms_code "$LOCAL")
[ -n "$CODE" ] || fail "the SMS code is in the outbox"
R=$(api a1 POST registration "{\"region\":\"local\",\"economic_type\":\"有限责任公司\",\"district\":\"浦东新区\",\"license_no\":\"$USCC\",\"nickname\":\"浦江主证书\",\"holder\":\"张三\",\"holder_mobile\":\"$LOCAL\",\"code\":\"$CODE\"}")
expect_grep "company A is registered with a1 as its main certificate" '"company_state":"registered".*"is_main":true.*200$' "$(flat "$R")"

# the sub certificate s1 with two matters: through /api/v1/subs when the
# catalogue is there, else written into the database
S1_ID=$(sqlite3 "$H/hall.db" "SELECT id FROM accounts WHERE serial = '$(serial_of "$T/s1.pem")'")
CODES=()
if [ -f "$SRC/data/matters.json" ]; then
	read -r -a CODES <<<"$(python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
d = d["matters"] if isinstance(d, dict) else d
print(" ".join(m["code"] for m in d[:2]))' "$SRC/data/matters.json")"
fi
if [ "${#CODES[@]}" -ge 2 ]; then
	R=$(api s1 POST subs/request "{\"holder\":\"王二\",\"mobile\":\"$M3\",\"note\":\"预算科\"}")
	expect_grep "s1 asks to become a sub certificate" "20[01]$" "$(flat "$R")"
	R=$(api a1 POST "subs/$S1_ID/approve" "{\"role\":\"clerk\",\"matters\":[\"${CODES[0]}\",\"${CODES[1]}\"]}")
	expect_grep "the main certificate approves s1 with two matters (/api/v1/subs)" "200$" "$(flat "$R")"
else
	CODES=(M001 M002)
	sqlite3 "$H/hall.db" "UPDATE accounts SET role = 'clerk', status = 'active', holder_name = '王二', holder_mobile = '$M3' WHERE id = $S1_ID;
		INSERT INTO grants (account_id, matter, granted_by, granted_at) VALUES ($S1_ID, 'M001', 'test', 0), ($S1_ID, 'M002', 'test', 0);" ||
		fail "grants written"
	ok "s1 made a sub certificate with two matters (sqlite3: no matter catalogue yet)"
fi
GRANTS=$(sqlite3 "$H/hall.db" "SELECT group_concat(matter, ',') FROM (SELECT matter FROM grants WHERE account_id = $S1_ID ORDER BY matter)")
expect_grep "s1 holds two grants" "^[^,]+,[^,]+$" "$GRANTS"
S1_ROW=$(sqlite3 "$H/hall.db" "SELECT role, status, holder_name, holder_mobile FROM accounts WHERE id = $S1_ID")

# --- the paper path ---------------------------------------------------
renew a1 a1n
login a1n
A1=$(serial_of "$T/a1.pem"); A1N=$(serial_of "$T/a1n.pem")
A1_UID=$(sqlite3 "$H/hall.db" "SELECT uid FROM accounts WHERE serial = '$A1'")
R=$(api a1n GET main-update)
expect_grep "GET main-update: eligible, prefilled from the company and the new certificate" \
	"\"eligible\":true.*\"org_code\":\"MA1FL8XY7\".*\"license_no\":\"$USCC\".*\"new_serial\":\"$A1N\"" "$(flat "$R")"
expect_grep "…the old certificate to choose is the current main one (a1)" "\"old_certificates\":\[\{\"serial\":\"$A1\",\"unique_id\":\"$A1_UID\"" "$(flat "$R")"
expect_grep "…no update application yet; the signed path is not configured and says so" \
	'"application":null.*"signed":\{"available":false.*未开通原证书签名更新' "$(flat "$R")"
R=$(api a1 GET main-update)
expect_grep "the main certificate itself is not eligible" '"eligible":false.*已是贵企业的主数字证书' "$(flat "$R")"

uform() { # reason [old_serial] [reason_text]
	printf '{"license_no":"%s","old_serial":"%s","medium":"%s","reason":"%s","reason_text":"%s","contact":"李四","phone":"%s"}' \
		"$USCC" "${2:-$A1}" "$MEDIUM" "$1" "${3:-}" "$LOCAL2"
}
R=$(api a1 POST main-update "$(uform 续费)")
expect_grep "an update filed by the main certificate itself → 409" "已是贵企业的主数字证书.*409$" "$(flat "$R")"
R=$(api b1 POST main-update "$(uform 续费)")
expect_grep "an update filed by another company's certificate (no main) → 403" "尚未开通主数字证书.*403$" "$(flat "$R")"
R=$(api a1n POST main-update "$(uform 到期)")
expect_grep "a reason that is not one of the four → 400 naming reason" '"field":"reason".*400$' "$(flat "$R")"
R=$(api a1n POST main-update "$(uform 其他)")
expect_grep "其他 without a text → 400 naming reason_text" '"field":"reason_text".*400$' "$(flat "$R")"
R=$(api a1n POST main-update "$(uform 续费 "$A1N")")
expect_grep "an old serial that is not the company's main → 400 naming old_serial" '"field":"old_serial".*400$' "$(flat "$R")"
R=$(api a1n POST main-update "$(printf '{"license_no":"91310115MA1FL8XY7A","old_serial":"%s","medium":"%s","reason":"续费","contact":"李四","phone":"%s"}' "$A1" "$MEDIUM" "$LOCAL2")")
expect_grep "a wrong USCC check digit → 400 naming license_no" '"field":"license_no".*400$' "$(flat "$R")"
R=$(curl -s -w '\n%{http_code}' "${C[@]}" -b "$T/jar.a1n" -H 'Content-Type: application/json' -d "$(uform 续费)" "$URL/api/v1/main-update")
expect_grep "no CSRF token → 403" "403$" "$(flat "$R")"
R=$(api a1n GET main-update)
expect_grep "nothing was stored by the refused requests" '"application":null' "$(flat "$R")"
R=$(api a1n POST main-update "$(uform 其他 "$(tr A-F a-f <<<"$A1")" 证书到期前更换介质)")
expect_grep "a good form → 201 draft of kind main_update" '"kind":"main_update","state":"draft".*201$' "$(flat "$R")"
UPD=$(idof "$R")
expect_grep "…the old serial as recorded and the old unique ID from the record" "\"old_serial\":\"$A1\".*\"old_uid\":\"$A1_UID\"" "$(flat "$R")"
R=$(api a1n PUT "applications/$UPD" "$(uform 续费)")
expect_grep "the draft is changed through the shared applications route; the text of 其他 is dropped" '"reason":"续费","reason_text":"".*200$' "$(flat "$R")"
R=$(api a1n POST main-update "$(uform 续费)")
expect_grep "a second open update → 409" "409$" "$(flat "$R")"
R=$(api s1 POST main-update "$(uform 续费)")
expect_grep "…also from another certificate of the company, which is told who has it" "另一张证书.*409$" "$(flat "$R")"
for p in "" /form.pdf /scan; do
	R=$(api b1 GET "applications/$UPD$p")
	expect_grep "another company's certificate cannot see the update ($p) → 404" "404$" "$(flat "$R")"
done
R=$(api s1 POST "applications/$UPD/withdraw")
expect_grep "another certificate of the company cannot withdraw it → 403" "403$" "$(flat "$R")"

scan a1n "$UPD" upd
TXT=$(pdftotext "$T/upd.pdf" - 2>/dev/null)
expect_grep "the PDF is 《主数字证书更新申请表》" "主数字证书更新申请表" "$TXT"
expect_grep "…with the old serial" "$A1" "$TXT"
expect_grep "…the new serial" "$A1N" "$TXT"
expect_grep "…and the reason" "续费" "$TXT"
QR=$(zbarimg -q --raw "$T/upd.jpg" 2>/dev/null)
expect_grep "zbarimg reads the form's QR code, which names the application" "^OC1-$UPD-" "$QR"
R=$(api a1n POST "applications/$UPD/submit")
expect_grep "保存提交 without a scan → 409" "扫描件.*409$" "$(flat "$R")"
R=$(upload a1n "$UPD" "$T/open.jpg")
expect_grep "the 开通 form's scan is another application's (qr other)" '"qr":"other"' "$(flat "$R")"
R=$(upload a1n "$UPD" "$T/upd.jpg")
expect_grep "the update's own scan: 二维码核验通过 (qr match)" '"qr":"match".*200$' "$(flat "$R")"
R=$(api a1n POST "applications/$UPD/submit")
expect_grep "保存提交 → 已提交主数字证书更新申请" '已提交主数字证书更新申请，网站将于1个工作日内处理.*200$' "$(flat "$R")"
expect_grep "…submitted, QR matched" '"state":"submitted".*"qr":"match"' "$(flat "$R")"
R=$(api a1n GET me)
expect_grep "the company's state does not change on submit" '"company_state":"registered".*"is_main":false' "$(flat "$R")"
expect_grep "the registered holder was told by SMS" "主数字证书更新申请已提交" "$(outbox "$LOCAL")"
expect_grep "…and the form's contact" "主数字证书更新申请已提交" "$(outbox "$LOCAL2")"
R=$(api rev GET review/queue)
expect_grep "the reviewer's queue holds the update" "\"id\":$UPD,\"kind\":\"main_update\"" "$(flat "$R")"
R=$(api rev POST "review/applications/$UPD/decision" '{"decision":"approve"}')
expect_grep "the reviewer approves" '"state":"approved".*200$' "$(flat "$R")"
R=$(api rev POST "review/applications/$UPD/decision" '{"decision":"reject","reason":"again"}')
expect_grep "a reviewer deciding twice → 409" "409$" "$(flat "$R")"
R=$(api a1n POST "applications/$UPD/withdraw")
expect_grep "withdrawing a decided update → 409" "409$" "$(flat "$R")"
expect_grep "the contact was told of the decision" "主数字证书更新申请已通过审核" "$(outbox "$LOCAL2")"

R=$(api a1n GET me)
expect_grep "the new certificate is now the main certificate" '"role":"main".*"company_state":"registered".*"is_main":true' "$(flat "$R")"
R=$(api a1 GET me)
expect_grep "the old certificate's existing session → 401" "401$" "$(flat "$R")"
R=$(curl -s -w '\n%{http_code}' "${C[@]}" --cert "$T/a1.pem" --key "$T/a1.key" -X POST "$URL/api/v1/login/tls")
expect_grep "the old certificate's login is refused with a clear message" "已被更新的主数字证书取代并注销.*403$" "$(flat "$R")"
CH=$(curl -s "${C[@]}" -X POST "$URL/api/v1/login/challenge" | sed -nE 's/.*"challenge":"([^"]+)".*/\1/p')
SIG=$(printf %s "$CH" | openssl dgst -sha256 -sign "$T/a1.key" | base64 -w0)
BODY=$(python3 -c 'import json,sys;print(json.dumps({"certificate":open(sys.argv[1]).read(),"signature":sys.argv[2],"challenge":sys.argv[3]}))' "$T/a1.pem" "$SIG" "$CH")
R=$(curl -s -w '\n%{http_code}' "${C[@]}" -H 'Content-Type: application/json' -d "$BODY" "$URL/api/v1/login")
expect_grep "…also by signed challenge" "注销.*403$" "$(flat "$R")"
expect_grep "the old account is retired" "^[|]retired$" "$(sqlite3 "$H/hall.db" "SELECT role, status FROM accounts WHERE serial = '$A1'")"
expect_grep "…and keeps the registration's holder (证书持有人), shown on 副证书管理" "^张三[|]$LOCAL$" \
	"$(sqlite3 "$H/hall.db" "SELECT holder_name, holder_mobile FROM accounts WHERE serial = '$A1'")"
expect_grep "the sub certificate's grants carry over unchanged" "^$GRANTS$" \
	"$(sqlite3 "$H/hall.db" "SELECT group_concat(matter, ',') FROM (SELECT matter FROM grants WHERE account_id = $S1_ID ORDER BY matter)")"
expect_grep "…and its standing and holder" "^$S1_ROW$" "$(sqlite3 "$H/hall.db" "SELECT role, status, holder_name, holder_mobile FROM accounts WHERE id = $S1_ID")"
R=$(api s1 GET me)
expect_grep "the sub certificate still logs in as a clerk with its matters" "\"role\":\"clerk\".*\"matters\":\[\"${CODES[0]}\",\"${CODES[1]}\"\]" "$(flat "$R")"
expect_grep "the audit log has the retirement" "main.retired[|]$A1" "$(sqlite3 "$H/hall.db" "SELECT action, object FROM audit WHERE action = 'main.retired'")"

# --- the CA's lineage endpoint -----------------------------------------
CA_URL="https://127.0.0.1:$CPORT"
R=$(curl -s -w '\n%{http_code}' "${C[@]}" "$CA_URL/api/v1/public/lineage/$A1N")
expect_grep "CA lineage (HTTPS, no client certificate): a1n renews a1 on the same medium" \
	"\"serial\":\"$A1N\",\"replaces\":\"$A1\",\"kind\":\"renew\",\"medium\":\"$MEDIUM\",\"replaces_medium\":\"$MEDIUM\".*200$" "$(flat "$R")"
R=$(curl -s -w '\n%{http_code}' "${C[@]}" "$CA_URL/api/v1/public/lineage/$(serial_of "$T/s1.pem")")
expect_grep "…a plainly issued certificate is kind new" '"replaces":"","kind":"new".*200$' "$(flat "$R")"
R=$(curl -s -w '\n%{http_code}' "${C[@]}" "$CA_URL/api/v1/public/lineage/$(serial_of "$T/rev.pem")")
expect_grep "…a personal certificate → 404" "404$" "$(flat "$R")"
R=$(curl -s -w '\n%{http_code}' "${C[@]}" "$CA_URL/api/v1/public/lineage/ZZ")
expect_grep "…a malformed serial → 404" "404$" "$(flat "$R")"
R=$(curl -s -w '\n%{http_code}' "$BASE/api/v1/public/lineage/$A1N")
expect_grep "…not over plain HTTP → 403" "403$" "$(flat "$R")"
R=$(curl -s -w '\n%{http_code}' "${C[@]}" "$CA_URL/api/v1/certs?serial=$A1N")
expect_grep "the RA API still needs an operator certificate → 401" "401$" "$(flat "$R")"

# --- the signed path -----------------------------------------------------
challenge() { curl -s "${C[@]}" -X POST "$URL/api/v1/login/challenge" | sed -nE 's/.*"challenge":"([^"]+)".*/\1/p'; }
# signed WHO OLD_CERT SIGN_KEY OLD_SERIAL NEW_SERIAL [CHALLENGE]
signed() {
	local ch=${6:-$(challenge)} sig
	sig=$(printf 'main-update:%s:%s:%s' "$4" "$5" "$ch" | openssl dgst -sha256 -sign "$T/$3.key" | base64 -w0)
	api "$1" POST main-update/signed "$(python3 -c 'import json,sys;print(json.dumps({"challenge":sys.argv[1],"signature":sys.argv[2],"old_certificate":open(sys.argv[3]).read()}))' "$ch" "$sig" "$T/$2.pem")"
}
renew a1n a1nn
login a1nn
A1NN=$(serial_of "$T/a1nn.pem")
R=$(signed a1nn a1n a1n "$A1N" "$A1NN")
expect_grep "without [update] lineage_url the signed path is unavailable and says so → 503" "lineage_url.*503$" "$(flat "$R")"

# a hall that does not trust the CA's TLS certificate
hall_stop
printf '\n[update]\nlineage_url = %s/api/v1/public/lineage/\nlineage_ca = %s\nlineage_timeout = 3s\n' "$CA_URL" "$D2/ca.pem" >> "$H/hall.ini"
hall_start
R=$(api a1nn GET main-update)
expect_grep "a CA whose TLS certificate is not trusted is not believed (GET says so)" '"available":true,"vouched":false.*无法向CA查询' "$(flat "$R")"
R=$(signed a1nn a1n a1n "$A1N" "$A1NN")
expect_grep "…and the signed update → 502" "无法向CA查询.*502$" "$(flat "$R")"
hall_stop
sed -i "s#^lineage_ca = .*#lineage_ca = $D/ca.pem#" "$H/hall.ini"
hall_start
ok "the hall restarts with lineage_url and the CA's trust anchor"

R=$(api a1nn GET main-update)
expect_grep "GET main-update: the CA vouches for a1nn (a renewal of the main on the same medium)" \
	"\"vouched\":true.*\"sign_text\":\"main-update:$A1N:$A1NN:<challenge>\"" "$(flat "$R")"
R=$(signed a1nn a1nn a1nn "$A1N" "$A1NN")
expect_grep "old_certificate that is not the main → 403" "不是贵企业当前的主数字证书.*403$" "$(flat "$R")"
CH=$(challenge)
R=$(signed a1nn a1n a1nn "$A1N" "$A1NN" "$CH")
expect_grep "a signature by the new key instead of the old → 403" "签名验证失败.*403$" "$(flat "$R")"
R=$(signed a1nn a1n a1n "$A1N" "$A1NN" "$CH")
expect_grep "a replayed challenge → 403" "403$" "$(flat "$R")"
R=$(signed a1nn a1n a1n "$A1N" "$A1N")
expect_grep "a signature over another serial → 403" "签名验证失败.*403$" "$(flat "$R")"
issue a3 enterprise "$NAME" "$USCC" SH-KEY-0003
sleep 2
login a3
A3=$(serial_of "$T/a3.pem")
R=$(api a3 GET main-update)
expect_grep "a plainly issued second certificate: GET says the CA does not vouch" '"vouched":false.*新申领' "$(flat "$R")"
R=$(signed a3 a1n a1n "$A1N" "$A3")
expect_grep "…and its signed update → 403 with a clear message (lineage kind new)" "新申领的证书，不是原主数字证书的更新.*403$" "$(flat "$R")"
R=$(signed a1nn a1n a1n "$A1N" "$A1NN" "not-a-challenge")
expect_grep "an unknown challenge → 403" "403$" "$(flat "$R")"
R=$(api a1nn GET me)
expect_grep "nothing changed by the refusals" '"is_main":false' "$(flat "$R")"

# a1nn has a paper draft open; the signed update supersedes it
R=$(api a1nn POST main-update "$(uform 续费 "$A1N")")
DRAFT=$(idof "$R"); [ -n "$DRAFT" ] || fail "a1nn's draft"
R=$(signed a1nn a1n a1n "$A1N" "$A1NN")
expect_grep "a good signature by the old key → 200, no scan, no review" '"kind":"main_update","state":"approved".*"method":"signed".*200$' "$(flat "$R")"
R=$(api a1nn GET me)
expect_grep "…the new certificate is main at once" '"role":"main".*"is_main":true' "$(flat "$R")"
R=$(api a1nn GET "applications/$DRAFT")
expect_grep "…its own paper draft was withdrawn" '"state":"withdrawn"' "$(flat "$R")"
R=$(api a1n GET me)
expect_grep "…the old main's session ends → 401" "401$" "$(flat "$R")"
R=$(curl -s -w '\n%{http_code}' "${C[@]}" --cert "$T/a1n.pem" --key "$T/a1n.key" -X POST "$URL/api/v1/login/tls")
expect_grep "…and it can never log in again" "注销.*403$" "$(flat "$R")"
R=$(api rev GET review/queue)
expect_grep "…nothing went to the review queue" '"items":\[\]' "$(flat "$R")"
expect_grep "the audit log names the signed path" "main.update_signed" "$(sqlite3 "$H/hall.db" "SELECT action FROM audit WHERE action = 'main.update_signed'")"
expect_grep "the holder was told by SMS" "通过原证书签名完成更新" "$(outbox "$LOCAL")"
expect_grep "the sub certificate's grants still carry over" "^$GRANTS$" \
	"$(sqlite3 "$H/hall.db" "SELECT group_concat(matter, ',') FROM (SELECT matter FROM grants WHERE account_id = $S1_ID ORDER BY matter)")"

# a paper update racing a signed one: a3 files against a1nn …
R=$(api a3 POST main-update "$(uform 遗失办证 "$A1NN")")
RACE=$(idof "$R"); [ -n "$RACE" ] || fail "a3's update draft"
scan a3 "$RACE" race
R=$(upload a3 "$RACE" "$T/race.jpg")
# a scan stored before its QR payloads were kept (schema 3): 保存提交
# decodes it, and here it is the 开通 form's (qr other)
sqlite3 "$H/hall.db" "UPDATE applications SET scan = readfile('$T/open.jpg'), scan_qr = NULL WHERE id = $RACE" ||
	fail "make a3's scan one without stored payloads"
R=$(api a3 POST "applications/$RACE/submit")
expect_grep "a3's paper update is submitted" '"state":"submitted"' "$(flat "$R")"
expect_grep "…a scan without stored payloads is decoded at submission (qr other)" '"qr":"other"' "$(flat "$R")"
# … while a1nn is renewed and the holder signs
renew a1nn a1n3
login a1n3
A1N3=$(serial_of "$T/a1n3.pem")
R=$(signed a1n3 a1nn a1nn "$A1NN" "$A1N3")
expect_grep "another certificate's open paper update does not block the signed one" '"state":"approved".*200$' "$(flat "$R")"
R=$(api rev POST "review/applications/$RACE/decision" '{"decision":"approve"}')
expect_grep "approving the paper update filed against the old main → 409" "主数字证书已变化.*409$" "$(flat "$R")"
R=$(api a1n3 GET me)
expect_grep "…and the main certificate stays the signed one" '"is_main":true' "$(flat "$R")"
R=$(api rev POST "review/applications/$RACE/decision" '{"decision":"reject","reason":"原主数字证书已更新"}')
expect_grep "…the reviewer rejects it instead" '"state":"rejected".*200$' "$(flat "$R")"

# a revoked old certificate cannot sign
renew a1n3 a1n4
expect_ok "revoke the old main at the CA" "$ONECERT" ca revoke --dir "$D" --serial "$A1N3" --reason keyCompromise
sleep 2
login a1n4
R=$(signed a1n4 a1n3 a1n3 "$A1N3" "$(serial_of "$T/a1n4.pem")")
expect_grep "a revoked old certificate → 403" "(吊销|撤销).*403$" "$(flat "$R")"
R=$(api a1n4 GET me)
expect_grep "…and a1n4 is not the main" '"is_main":false' "$(flat "$R")"
done_tests
