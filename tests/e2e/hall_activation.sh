#!/bin/bash
# hall_activation.sh — 开通, review and registration over the hall's API
# with a real CA service behind it (SPEC §4.2 steps 3–7), and every bad
# input the issue names: a PNG renamed .jpg, a truncated JPEG, a 201 KB
# JPEG, an empty body, a wrong USCC check digit, a non-local mobile, a
# wrong SMS code five times, an expired code, submitting twice,
# withdrawing a decided application, a reviewer deciding twice, another
# company's application ID.  The PDF is judged with pdftotext, the QR
# code in it with zbarimg, the scans are made from the PDF by pdftoppm.
. "$(dirname "$0")/lib/common.sh"
. "$(dirname "$0")/lib/hall.sh"
D="$T/ca"; H="$T/hall"
reserve_ports; HPORT=$((PORT + 1))
BASE="http://127.0.0.1:$PORT"
NAME="上海浦江建筑工程有限公司"; USCC=91310115MA1FL8XY7N
NAME_B="北京燕山建材有限公司"; USCC_B=91110000600037341L
LOCAL=13816001234; LOCAL2=13817005678; FAR=13901001234
PIDS=()
trap 'for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done; wait 2>/dev/null; rm -rf "$T"' EXIT
SRC=${ONECERT_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}

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
issue a2 enterprise "$NAME" "$USCC"
issue b1 enterprise "$NAME_B" "$USCC_B"
issue rev personal 赵审核 110101199003074514
issue adm personal 钱管理 110101199003077870
expect_ok "TLS certificate for the hall" "$ONECERT" ca issue-tls --dir "$D" --name 127.0.0.1 --out "$T/hall-tls.pem" --key-out "$T/hall-tls.key"
"$ONECERT" ca serve --dir "$D" --listen "127.0.0.1:$PORT" >"$T/ca.log" 2>&1 & PIDS+=($!)
expect_ok "hall init" "$ONECERT" hall init --dir "$H" --trust "$D/ca.pem" \
	--tls-cert "$T/hall-tls.pem" --tls-key "$T/hall-tls.key" --tls-listen "127.0.0.1:$HPORT"
# short SMS timings so that expiry and cooldown can be tested, long enough
# that a busy machine (two builds' tests at once) stays inside the cooldown
printf 'sms_ttl = 6s\nsms_cooldown = 3s\n' > "$T/extra"
sed -i "/^\[hall\]/r $T/extra" "$H/hall.ini"
expect_ok "import the mobile segment fixture" "$ONECERT" admin import-segments --dir "$H" --file "$SRC/tests/unit/data/segments_fixture.csv"
expect_ok "grant reviewer" "$ONECERT" hall grant-role --dir "$H" --serial "$(serial_of "$T/rev.pem")" --role reviewer
expect_ok "grant admin" "$ONECERT" hall grant-role --dir "$H" --serial "$(serial_of "$T/adm.pem")" --role admin
"$ONECERT" hall serve --dir "$H" >"$T/hall.log" 2>&1 & PIDS+=($!)
URL="https://127.0.0.1:$HPORT"
for _ in $(seq 50); do curl -sf --cacert "$D/ca.pem" "$URL/healthz" >/dev/null 2>&1 &&
	curl -sf "$BASE/healthz" >/dev/null 2>&1 && break; sleep 0.2; done
curl -sf --cacert "$D/ca.pem" "$URL/healthz" >/dev/null || { cat "$T/hall.log" >&2; fail "hall is up"; }
ok "CA service and hall are up"

C=(--cacert "$D/ca.pem")
declare -A CSRF
form() { # license phone
	printf '{"legal_rep":"张三","license_no":"%s","contact":"李四","phone":"%s","medium":"SH-2026-000123"}' "$1" "$2"
}
for u in a1 a2 b1 rev adm; do login "$u"; done
ok "five certificates log in"

R=$(api a1 GET activation)
expect_grep "activation: prefilled from the certificate, no application yet" "\"company_name\":\"$NAME\".*\"application\":null" "$(flat "$R")"
R=$(api a1 POST applications "$(form 91310115MA1FL8XY7A "$LOCAL")")
expect_grep "a wrong USCC check digit → 400 naming license_no" "校验位.*license_no.*400$" "$(flat "$R")"
R=$(api a1 POST applications "$(form "$USCC_B" "$LOCAL")")
expect_grep "another company's USCC → 400" "不符.*400$" "$(flat "$R")"
R=$(api a1 POST applications "$(form "$USCC" 12345)")
expect_grep "a phone number that is not one → 400" "联系电话.*phone.*400$" "$(flat "$R")"
R=$(api a1 POST applications '{"legal_rep":')
expect_grep "malformed JSON → 400" "400$" "$(flat "$R")"
R=$(curl -s -w '\n%{http_code}' "${C[@]}" -b "$T/jar.a1" -H 'Content-Type: application/json' -d "$(form "$USCC" "$LOCAL")" "$URL/api/v1/applications")
expect_grep "no CSRF token → 403" "403$" "$(flat "$R")"
R=$(api a1 GET activation)
expect_grep "nothing was stored by the refused requests" '"application":null' "$(flat "$R")"
R=$(api a1 POST applications "$(form "$USCC" "$LOCAL")")
expect_grep "a good form → 201 draft" '"state":"draft".*201$' "$(flat "$R")"
ID=$(echo "$R" | head -1 | sed -nE 's/.*"id":([0-9]+).*/\1/p')
R=$(api a2 POST applications "$(form "$USCC" "$LOCAL2")")
expect_grep "a second certificate of the company sees the open application → 409" "另一张证书.*409$" "$(flat "$R")"
R=$(api a2 GET activation)
expect_grep "…and sees it as not its own" '"mine":false' "$(flat "$R")"
R=$(api a2 PUT "applications/$ID" "$(form "$USCC" "$LOCAL2")")
expect_grep "…and may not change it → 403" "403$" "$(flat "$R")"
for p in "" /form.pdf /scan; do
	R=$(api b1 GET "applications/$ID$p")
	expect_grep "another company's application ID ($p) → 404" "404$" "$(flat "$R")"
done
R=$(api b1 POST "applications/$ID/withdraw")
expect_grep "another company cannot withdraw it → 404" "404$" "$(flat "$R")"

# the PDF form, judged by poppler and zbar
curl -sf "${C[@]}" -b "$T/jar.a1" -o "$T/form.pdf" "$URL/api/v1/applications/$ID/form.pdf" || fail "download the PDF"
head -c 5 "$T/form.pdf" | grep -q '%PDF-' || fail "the form is a PDF"
TXT=$(pdftotext "$T/form.pdf" - 2>/dev/null)
expect_grep "the PDF carries its title" "主数字证书开通申请表" "$TXT"
expect_grep "the PDF is prefilled (企业名称, 法定代表人, 介质单号)" "$NAME" "$TXT"
expect_grep "…with the applicant's fields" "SH-2026-000123" "$TXT"
pdfinfo "$T/form.pdf" | grep -Eq 'Page size: +595(\.[0-9]+)? x 841(\.[0-9]+)? pts' || fail "A4 page"
ok "the PDF is A4"
pdftoppm -jpeg -r 100 -jpegopt quality=75 -singlefile "$T/form.pdf" "$T/scan" || fail "render the scan"
QR=$(zbarimg -q --raw "$T/scan.jpg" 2>/dev/null)
expect_grep "zbarimg reads the form's QR code, which names the application" "^OC1-$ID-" "$QR"
SIZE=$(stat -c %s "$T/scan.jpg")
[ "$SIZE" -le 204800 ] || fail "the scan is at most 200 KB ($SIZE)"

# bad scans: each refused, nothing stored
pdftoppm -png -r 50 -singlefile "$T/form.pdf" "$T/fake" && mv "$T/fake.png" "$T/fake.jpg"
R=$(upload a1 "$ID" "$T/fake.jpg")
expect_grep "a PNG renamed .jpg → 400 not a JPEG" "JPEG.*400$" "$(flat "$R")"
head -c $((SIZE / 2)) "$T/scan.jpg" > "$T/half.jpg"
R=$(upload a1 "$ID" "$T/half.jpg")
expect_grep "a truncated JPEG → 400" "(不完整|损坏).*400$" "$(flat "$R")"
: > "$T/empty.jpg"
R=$(upload a1 "$ID" "$T/empty.jpg")
expect_grep "an empty body → 400" "400$" "$(flat "$R")"
pdftoppm -jpeg -r 200 -jpegopt quality=100 -singlefile "$T/form.pdf" "$T/big"
head -c $((201 * 1024)) "$T/big.jpg" > "$T/big201.jpg"
[ "$(stat -c %s "$T/big201.jpg")" -eq 205824 ] || fail "a 201 KB file"
R=$(upload a1 "$ID" "$T/big201.jpg")
expect_grep "a 201 KB JPEG → 413 图片最大不超过200KB" "200KB.*413$" "$(flat "$R")"
R=$(upload a1 "$ID" "$T/scan.jpg" image/png)
expect_grep "another content type → 415" "415$" "$(flat "$R")"
R=$(api a1 GET "applications/$ID")
expect_grep "no scan stored after the refusals" '"has_scan":false' "$(flat "$R")"
R=$(api a1 POST "applications/$ID/submit")
expect_grep "保存提交 without a scan → 409" "扫描件.*409$" "$(flat "$R")"

# a scan whose QR code cannot be read (too coarse): accepted, flagged
pdftoppm -jpeg -r 25 -singlefile "$T/form.pdf" "$T/noqr"   # QR modules under a pixel: unreadable
R=$(upload a1 "$ID" "$T/noqr.jpg")
expect_grep "a scan without a QR code is accepted but flagged (qr none)" '"qr":"none".*200$' "$(flat "$R")"
R=$(upload a1 "$ID" "$T/scan.jpg")
expect_grep "the real scan replaces it: 二维码核验通过 (qr match)" '"qr":"match".*"has_scan":true.*200$' "$(flat "$R")"
SHA=$(sha256sum < "$T/scan.jpg" | cut -d' ' -f1)
R=$(upload a1 "$ID" "$T/half.jpg")
curl -sf "${C[@]}" -b "$T/jar.a1" -o "$T/stored.jpg" "$URL/api/v1/applications/$ID/scan" || fail "read the scan back"
[ "$(sha256sum < "$T/stored.jpg" | cut -d' ' -f1)" = "$SHA" ] || fail "a refused upload left the old scan"
ok "a refused replacement leaves the stored scan as it was"

R=$(api a1 POST "applications/$ID/submit" "$(form "$USCC" "$LOCAL")")
expect_grep "保存提交 → 已提交主证书开通申请，网站将于1个工作日内处理" "已提交主证书开通申请，网站将于1个工作日内处理.*200$" "$(flat "$R")"
expect_grep "…submitted with a deadline and the QR verdict" '"state":"submitted".*"qr":"match"' "$(flat "$R")"
R=$(api a1 POST "applications/$ID/submit")
expect_grep "submitting twice → 409" "409$" "$(flat "$R")"
R=$(upload a1 "$ID" "$T/scan.jpg")
expect_grep "a submitted application's scan cannot be replaced → 409" "409$" "$(flat "$R")"
R=$(api a2 GET me)
expect_grep "the second certificate sees the company's pending application" '"company_state":"main_pending".*"application":\{[^}]*"state":"submitted"' "$(flat "$R")"
OUT=$("$ONECERT" admin outbox --dir "$H" --to "$LOCAL" --json)
expect_grep "the contact was told by SMS (outbox)" "已提交" "$OUT"

# review
R=$(api a1 GET review/queue)
expect_grep "a company certificate cannot reach the review queue → 403" "403$" "$(flat "$R")"
R=$(api rev GET review/queue)
expect_grep "the reviewer's queue holds it with its deadline" "\"id\":$ID,.*\"deadline\":\"20[0-9-]+T[0-9:]+Z\".*200$" "$(flat "$R")"
R=$(api rev GET "review/applications/$ID")
expect_grep "detail: the form, the applicant and the QR verdict" "\"legal_rep\":\"张三\".*\"qr\":\"match\"" "$(flat "$R")"
curl -sf "${C[@]}" -b "$T/jar.rev" -o "$T/rev.jpg" "$URL/api/v1/review/applications/$ID/scan" || fail "reviewer reads the scan"
cmp -s "$T/rev.jpg" "$T/scan.jpg" || fail "the reviewer sees the uploaded scan"
ok "the reviewer sees the uploaded scan"
R=$(api rev POST "review/applications/$ID/decision" '{"decision":"reject"}')
expect_grep "a rejection without a reason → 400" "原因.*400$" "$(flat "$R")"
R=$(curl -s -w '\n%{http_code}' "${C[@]}" -b "$T/jar.rev" -H 'Content-Type: application/json' -d '{"decision":"approve"}' "$URL/api/v1/review/applications/$ID/decision")
expect_grep "a decision without CSRF → 403" "403$" "$(flat "$R")"
R=$(api rev POST "review/applications/$ID/decision" '{"decision":"approve"}')
expect_grep "the reviewer approves" '"state":"approved".*200$' "$(flat "$R")"
R=$(api rev POST "review/applications/$ID/decision" '{"decision":"reject","reason":"again"}')
expect_grep "a reviewer deciding twice → 409" "409$" "$(flat "$R")"
R=$(api a1 POST "applications/$ID/withdraw")
expect_grep "withdrawing a decided application → 409" "409$" "$(flat "$R")"
R=$(api a1 GET me)
expect_grep "the applicant is now the main certificate" '"role":"main".*"company_state":"main_active".*"is_main":true' "$(flat "$R")"

# company B: submit, withdraw; the reviewer cannot decide a withdrawn one
R=$(api b1 POST applications "$(form "$USCC_B" 010-88886666)")
IDB=$(echo "$R" | head -1 | sed -nE 's/.*"id":([0-9]+).*/\1/p')
[ -n "$IDB" ] || fail "company B's draft"
curl -sf "${C[@]}" -b "$T/jar.b1" -o "$T/formb.pdf" "$URL/api/v1/applications/$IDB/form.pdf" || fail "B's PDF"
pdftoppm -jpeg -r 100 -jpegopt quality=75 -singlefile "$T/formb.pdf" "$T/scanb"
R=$(upload b1 "$IDB" "$T/scan.jpg")
expect_grep "another application's QR code is flagged (qr other)" '"qr":"other"' "$(flat "$R")"
R=$(upload b1 "$IDB" "$T/scanb.jpg")
expect_grep "its own QR code matches" '"qr":"match"' "$(flat "$R")"
expect_grep "the QR payload read at upload is stored with the scan" "^OC1-$IDB-" \
	"$(sqlite3 "$H/hall.db" "SELECT CAST(scan_qr AS TEXT) FROM applications WHERE id = $IDB")"
# 保存提交 judges the payloads read at upload, not the JPEG again: the
# stored bytes swapped behind the hall's back for a scan without a QR code
# (decoded, "none") leave the verdict to the stored payload
sqlite3 "$H/hall.db" "UPDATE applications SET scan = readfile('$T/noqr.jpg') WHERE id = $IDB" ||
	fail "swap the stored scan"
R=$(api b1 POST "applications/$IDB/submit" "$(form "$USCC_B" 010-88886667)")
expect_grep "fields changed after printing: submitted, the QR flagged stale" '"state":"submitted".*"qr":"stale"' "$(flat "$R")"
ok "…judged from the payload stored at upload (the swapped JPEG has none)"
R=$(api b1 POST "applications/$IDB/withdraw")
expect_grep "撤回 → withdrawn" '"state":"withdrawn".*200$' "$(flat "$R")"
R=$(api rev POST "review/applications/$IDB/decision" '{"decision":"approve"}')
expect_grep "a withdrawn application cannot be decided → 409" "409$" "$(flat "$R")"
R=$(api b1 GET me)
expect_grep "company B is back to none" '"company_state":"none"' "$(flat "$R")"

# registration
R=$(api a2 GET registration)
expect_grep "a certificate that is not the main one cannot register → 403" "403$" "$(flat "$R")"
R=$(api a1 GET registration)
expect_grep "registration choices: 经济类型 and 本市的区" "有限责任公司.*浦东新区" "$(flat "$R")"
R=$(api a1 POST registration/sms "{\"mobile\":\"$FAR\"}")
expect_grep "a non-local mobile → 400 请使用本市手机接收手机验证码" "请使用本市手机.*400$" "$(flat "$R")"
R=$(api a1 POST registration/sms '{"mobile":"1381600123"}')
expect_grep "a malformed mobile → 400" "400$" "$(flat "$R")"
R=$(api a1 POST registration/sms "{\"mobile\":\"$LOCAL\"}")
expect_grep "a code to a local mobile" '"sent":true.*200$' "$(flat "$R")"
R=$(api a1 POST registration/sms "{\"mobile\":\"$LOCAL\"}")
expect_grep "resend within the cooldown → 429" "429$" "$(flat "$R")"
CODE=$(sms_code "$LOCAL")
[ -n "$CODE" ] || fail "the code is in the outbox"
ok "the code is in the outbox"
WRONG=$(printf '%06d' $(( (10#$CODE + 1) % 1000000 )))
reg() { # code mobile
	printf '{"region":"local","economic_type":"有限责任公司","district":"浦东新区","license_no":"%s","nickname":"浦江主证书","holder":"张三","holder_mobile":"%s","code":"%s"}' "$USCC" "$2" "$1"
}
for i in 1 2 3 4; do
	R=$(api a1 POST registration "$(reg "$WRONG" "$LOCAL")")
	expect_grep "wrong code $i → 400, $((5 - i)) tries left" "还可尝试$((5 - i))次.*400$" "$(flat "$R")"
done
R=$(api a1 POST registration "$(reg "$WRONG" "$LOCAL")")
expect_grep "wrong code 5 → 403, a new code is needed" "重新获取.*403$" "$(flat "$R")"
R=$(api a1 POST registration "$(reg "$CODE" "$LOCAL")")
expect_grep "after five wrong tries even the right code is refused" "重新获取.*403$" "$(flat "$R")"
sleep 3.2
R=$(api a1 POST registration/sms "{\"mobile\":\"$LOCAL\"}")
expect_grep "a new code after the cooldown" '"sent":true' "$(flat "$R")"
CODE=$(sms_code "$LOCAL")
sleep 7.5 # the TTL is compared in whole seconds
R=$(api a1 POST registration "$(reg "$CODE" "$LOCAL")")
expect_grep "an expired code → 403" "过期.*403$" "$(flat "$R")"
R=$(api a1 POST registration/sms "{\"mobile\":\"$LOCAL\"}")
CODE=$(sms_code "$LOCAL")
R=$(api a1 POST registration "$(reg "$CODE" "$LOCAL2")")
expect_grep "the code was sent to another number → 400" "不一致.*400$" "$(flat "$R")"
R=$(api a1 POST registration "$(reg "$CODE" "$LOCAL")")
expect_grep "提交注册 → registered" '"company_state":"registered".*"is_main":true.*200$' "$(flat "$R")"
R=$(api a1 GET me)
expect_grep "the profile is kept" '"holder":"张三"' "$(flat "$R")"
R=$(api a1 POST registration "$(reg "$CODE" "$LOCAL")")
expect_grep "registering twice → 409" "409$" "$(flat "$R")"

# the admin reads the outbox over the API; a reviewer may not
R=$(api adm GET "admin/outbox?to=$LOCAL")
expect_grep "admin: the outbox over the API" "开通成功.*200$" "$(flat "$R")"
R=$(api rev GET admin/outbox)
expect_grep "a reviewer cannot read the outbox → 403" "403$" "$(flat "$R")"
done_tests
