#!/bin/bash
# hall_matters.sh — 事项 (matters) and 办事指南 (guides) over the hall's API
# with a real CA service behind it (SPEC §4.3, §4.5, §7).
#
# Two companies are walked to "registered" through the API as a person
# would (application, PDF, scan made by pdftoppm, submit, a reviewer
# approves, the SMS code read from the outbox, register).  Then, as the
# main certificate: the catalogue (every matter allowed), a draft with the
# catalogue's fields (each bad field refused by name), bad attachments (a
# PNG renamed, a truncated JPEG, a text file sent as application/pdf, a
# truncated PDF, over the attachment's limit → 413, over the route's →
# 413, another content type → 415), good JPEG and PDF attachments (the
# activation form's PDF: a real PDF made by cairo), submission without a
# required attachment → 409, submission, the reviewer's queue and detail
# with the attachments, approval.  The permission is checked on every
# endpoint: a second certificate of the company without standing, a clerk
# granted one matter (through the sub-certificate API), a certificate of
# an unregistered company — 403; the other registered company — 404 for
# this company's application.  A broken catalogue or guide stops the start
# naming the entry.  Guides: public, filtered, rendered, 404 for unknown.
. "$(dirname "$0")/lib/common.sh"
. "$(dirname "$0")/lib/hall.sh"
D="$T/ca"; H="$T/hall"
reserve_ports; HPORT=$((PORT + 1))
BASE="http://127.0.0.1:$PORT"
NAME="上海浦江建筑工程有限公司"; USCC=91310115MA1FL8XY7N
NAME_B="北京燕山建材有限公司"; USCC_B=91110000600037341L
NAME_C="上海申江监理有限公司"; USCC_C=91310000132200821H
LOCAL=13816001234; LOCAL2=13817005678; LOCAL3=13816009876
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
issue a3 enterprise "$NAME" "$USCC"
issue b1 enterprise "$NAME_B" "$USCC_B"
issue c1 enterprise "$NAME_C" "$USCC_C"
issue rev personal 赵审核 110101199003074514
expect_ok "TLS certificate for the hall" "$ONECERT" ca issue-tls --dir "$D" --name 127.0.0.1 --out "$T/hall-tls.pem" --key-out "$T/hall-tls.key"
"$ONECERT" ca serve --dir "$D" --listen "127.0.0.1:$PORT" >"$T/ca.log" 2>&1 & PIDS+=($!)
expect_ok "hall init" "$ONECERT" hall init --dir "$H" --trust "$D/ca.pem" \
	--tls-cert "$T/hall-tls.pem" --tls-key "$T/hall-tls.key" --tls-listen "127.0.0.1:$HPORT"
expect_ok "import the mobile segment fixture" "$ONECERT" admin import-segments --dir "$H" --file "$SRC/tests/unit/data/segments_fixture.csv"
expect_ok "grant reviewer" "$ONECERT" hall grant-role --dir "$H" --serial "$(serial_of "$T/rev.pem")" --role reviewer

# a broken catalogue or guide stops the start, naming the entry
cp -r "$H" "$T/hall-bad"
sed 's/"code": "three-staff"/"code": "safety-permit"/' "$SRC/data/matters.json" > "$T/hall-bad/dup.json"
printf 'matters = dup.json\n' > "$T/extra"
sed -i "/^\[hall\]/r $T/extra" "$T/hall-bad/hall.ini"
expect_fail "a catalogue with a code used twice stops the start, naming the entry" \
	'matter #2 "safety-permit": the code is used twice' "$ONECERT" hall serve --dir "$T/hall-bad"
sed -i 's/^matters = dup.json$/guides = guides/' "$T/hall-bad/hall.ini"
mkdir "$T/hall-bad/guides"
cp "$SRC"/data/guides/*.md "$T/hall-bad/guides/"
sed -i '/^资质动作:/d' "$T/hall-bad/guides/03-zhuzhengshu-gengxin.md"
expect_fail "a guide without one of the seven tags stops the start, naming file and tag" \
	'03-zhuzhengshu-gengxin.md: missing tag 资质动作' "$ONECERT" hall serve --dir "$T/hall-bad"

"$ONECERT" hall serve --dir "$H" >"$T/hall.log" 2>&1 & PIDS+=($!)
URL="https://127.0.0.1:$HPORT"
for _ in $(seq 50); do curl -sf --cacert "$D/ca.pem" "$URL/healthz" >/dev/null 2>&1 &&
	curl -sf "$BASE/healthz" >/dev/null 2>&1 && break; sleep 0.2; done
curl -sf --cacert "$D/ca.pem" "$URL/healthz" >/dev/null || { cat "$T/hall.log" >&2; fail "hall is up"; }
ok "CA service and hall are up"

C=(--cacert "$D/ca.pem")
declare -A CSRF
# put WHO PATH FILE CONTENT-TYPE — a raw upload
put() {
	curl -s -w '\n%{http_code}' "${C[@]}" -b "$T/jar.$1" -H "X-CSRF-Token: ${CSRF[$1]}" \
		-H "Content-Type: $4" -X PUT --data-binary "@$3" "$URL/api/v1/$2"
}
body() { sed '$d' <<<"$1"; }
# jget EXPR JSON — a value out of JSON (python3, which bootstrap installs)
jget() { python3 -c 'import json,sys; d=json.loads(sys.stdin.read()); print(eval(sys.argv[1]))' "$1" <<<"$2"; }
idof() { body "$1" | sed -nE 's/^\{"id":([0-9]+).*/\1/p'; }
for u in a1 a2 a3 b1 c1 rev; do login "$u"; done
ok "six certificates log in"

# --- two companies walked to "registered" through the API ---------------
register() { # who uscc mobile
	local r id
	r=$(api "$1" POST applications "$(printf '{"legal_rep":"张三","license_no":"%s","contact":"李四","phone":"%s","medium":"SH-2026-0001"}' "$2" "$3")")
	id=$(idof "$r")
	[ -n "$id" ] || { echo "$r" >&2; fail "$1: activation draft"; }
	scan "$1" "$id" "form-$1"
	r=$(put "$1" "applications/$id/scan" "$T/form-$1.jpg" image/jpeg)
	[ "$(tail -1 <<<"$r")" = 200 ] || { echo "$r" >&2; fail "$1: upload the scan"; }
	r=$(api "$1" POST "applications/$id/submit")
	[ "$(tail -1 <<<"$r")" = 200 ] || { echo "$r" >&2; fail "$1: submit"; }
	r=$(api rev POST "review/applications/$id/decision" '{"decision":"approve"}')
	[ "$(tail -1 <<<"$r")" = 200 ] || { echo "$r" >&2; fail "$1: approval"; }
	r=$(api "$1" POST registration/sms "{\"mobile\":\"$3\"}")
	[ "$(tail -1 <<<"$r")" = 200 ] || { echo "$r" >&2; fail "$1: SMS code"; }
	r=$(api "$1" POST registration "$(printf '{"region":"local","economic_type":"有限责任公司","district":"浦东新区","license_no":"%s","nickname":"主证书","holder":"张三","holder_mobile":"%s","code":"%s"}' "$2" "$3" "$(sms_code "$3")")")
	expect_grep "$1: 开通 → review → 注册: registered" '"company_state":"registered".*"is_main":true.*200$' "$(flat "$r")"
}
register a1 "$USCC" "$LOCAL"
register b1 "$USCC_B" "$LOCAL2"
cp "$T/form-a1.pdf" "$T/good.pdf"
cp "$T/form-a1.jpg" "$T/good.jpg"

# --- the catalogue -------------------------------------------------------
R=$(curl -s -w '\n%{http_code}' "${C[@]}" "$URL/api/v1/matters")
expect_grep "the catalogue needs a login → 401" "401$" "$(flat "$R")"
R=$(api a1 GET matters)
expect_grep "the main certificate sees the catalogue with the SPEC's examples" \
	'建筑施工企业安全生产许可证.*三类人员.*建设工程企业资质.*"报建".*"施工许可".*招标投标备案.*200$' "$(flat "$R")"
[ "$(jget 'len([m for m in d["matters"] if m["allowed"]])' "$(body "$R")")" = 6 ] || fail "main: every matter allowed"
ok "…every matter allowed to the main certificate"
R=$(api a2 GET matters)
[ "$(jget 'len([m for m in d["matters"] if m["allowed"]])' "$(body "$R")")" = 0 ] || fail "no standing: nothing allowed"
ok "a certificate without standing sees the catalogue with nothing allowed"

# --- a draft: fields checked against the catalogue ------------------------
M=matters/safety-permit/applications
F='"apply_type":"首次申请","qualification_no":"D231000001","legal_rep":"张三","safety_head":"王五","contact":"李四","phone":"13816001234"'
R=$(api a1 POST "$M" "{$F,\"safety_staff\":\"12\",\"colour\":\"red\"}")
expect_grep "an unknown field → 400 naming it" '"field":"colour".*400$' "$(flat "$R")"
R=$(api a1 POST "$M" "{$F}")
expect_grep "a required field missing → 400 请填写…" '请填写专职安全生产管理人员人数.*"field":"safety_staff".*400$' "$(flat "$R")"
R=$(api a1 POST "$M" "{$F,\"safety_staff\":\"十二\"}")
expect_grep "a number that is not one → 400" '"field":"safety_staff".*400$' "$(flat "$R")"
R=$(api a1 POST "$M" "{$F,\"safety_staff\":10000}")
expect_grep "a number over the catalogue's max → 400" '不能大于9999.*400$' "$(flat "$R")"
R=$(api a1 POST "$M" "{$F,\"safety_staff\":12,\"old_permit_no\":\"$(printf 'X%.0s' $(seq 33))\"}")
expect_grep "a text over its max length → 400" '过长.*"field":"old_permit_no".*400$' "$(flat "$R")"
R=$(api a1 POST "$M" "{$F,\"safety_staff\":12,\"old_permit_no\":[1]}")
expect_grep "a field of the wrong JSON type → 400" '"field":"old_permit_no".*400$' "$(flat "$R")"
R=$(api a1 POST matters/construction-permit/applications '{"project_name":"浦江花园","project_address":"浦东新区","contractor":"浦江建筑","contract_price":"1200.5","floor_area":"8000","planned_start":"2026-02-30","planned_finish":"2027-01-01"}')
expect_grep "an impossible date → 400" '"field":"planned_start".*400$' "$(flat "$R")"
R=$(api a1 POST "$M" '{"legal_rep":')
expect_grep "malformed JSON → 400" "400$" "$(flat "$R")"
R=$(curl -s -w '\n%{http_code}' "${C[@]}" -b "$T/jar.a1" -H 'Content-Type: application/json' -d "{$F,\"safety_staff\":12}" "$URL/api/v1/$M")
expect_grep "no CSRF token → 403" "403$" "$(flat "$R")"
R=$(api a1 GET "$M")
expect_grep "nothing was stored by the refused requests" '"items":\[\].*200$' "$(flat "$R")"
R=$(api a1 POST matters/no-such-matter/applications "{$F}")
expect_grep "an unknown matter → 404" "404$" "$(flat "$R")"
R=$(api a1 POST "$M" "{$F,\"safety_staff\":12}")
expect_grep "a good draft → 201" '"state":"draft".*"safety_staff":"12".*201$' "$(flat "$R")"
ID=$(idof "$R")
[ -n "$ID" ] || fail "the draft's id"
expect_grep "…listing the four required attachments as missing" \
	'"missing":\["license","qualification","safety-rules","staff-certs"\]' "$(flat "$R")"
R=$(api a1 PUT "$M/$ID" "{$F,\"safety_staff\":15}")
expect_grep "PUT saves new fields" '"safety_staff":"15".*200$' "$(flat "$R")"

# --- bad attachments: each refused, nothing stored ------------------------
pdftoppm -png -r 50 -singlefile "$T/good.pdf" "$T/fake" && mv "$T/fake.png" "$T/fake.jpg"
R=$(put a1 "$M/$ID/attachments/license" "$T/fake.jpg" image/jpeg)
expect_grep "a PNG renamed .jpg → 400" "JPEG.*400$" "$(flat "$R")"
head -c $(($(stat -c %s "$T/good.jpg") / 2)) "$T/good.jpg" > "$T/half.jpg"
R=$(put a1 "$M/$ID/attachments/license" "$T/half.jpg" image/jpeg)
expect_grep "a truncated JPEG → 400" "400$" "$(flat "$R")"
echo "这不是PDF，只是一段文字。" > "$T/text.pdf"
R=$(put a1 "$M/$ID/attachments/license" "$T/text.pdf" application/pdf)
expect_grep "a text file sent as application/pdf → 400" "PDF.*400$" "$(flat "$R")"
head -c $(($(stat -c %s "$T/good.pdf") - 2048)) "$T/good.pdf" > "$T/cut.pdf"
R=$(put a1 "$M/$ID/attachments/license" "$T/cut.pdf" application/pdf)
expect_grep "a truncated PDF (no %%EOF) → 400" "EOF.*400$" "$(flat "$R")"
: > "$T/empty.pdf"
R=$(put a1 "$M/$ID/attachments/license" "$T/empty.pdf" application/pdf)
expect_grep "an empty body → 400" "400$" "$(flat "$R")"
{ cat "$T/good.pdf"; head -c $((2048 * 1024)) /dev/zero; } > "$T/big.pdf"
R=$(put a1 "$M/$ID/attachments/license" "$T/big.pdf" application/pdf)
expect_grep "over the attachment's 2048 KB → 413 naming the limit" "2048KB.*413$" "$(flat "$R")"
head -c $((10241 * 1024)) /dev/zero > "$T/huge.pdf"
R=$(put a1 "$M/$ID/attachments/tender" "$T/huge.pdf" application/pdf)
expect_grep "over the largest attachment of the catalogue → 413 before the body is read" "10240KB.*413$" "$(flat "$R")"
R=$(put a1 "$M/$ID/attachments/license" "$T/good.jpg" image/png)
expect_grep "another content type → 415" "415$" "$(flat "$R")"
R=$(put a1 "$M/$ID/attachments/safety-rules" "$T/good.jpg" image/jpeg)
expect_grep "a JPEG for a PDF-only attachment → 415" "PDF.*415$" "$(flat "$R")"
R=$(put a1 "$M/$ID/attachments/no-such" "$T/good.pdf" application/pdf)
expect_grep "an attachment the matter does not have → 404" "404$" "$(flat "$R")"
R=$(api a1 GET "$M/$ID")
expect_grep "no attachment stored after the refusals" '"attachments":\[\]' "$(flat "$R")"

# --- good attachments -----------------------------------------------------
R=$(put a1 "$M/$ID/attachments/license" "$T/good.jpg" image/jpeg)
expect_grep "a real JPEG (the scan) → stored" '"name":"license","content_type":"image/jpeg".*200$' "$(flat "$R")"
R=$(put a1 "$M/$ID/attachments/license" "$T/good.pdf" "application/pdf; charset=binary")
expect_grep "a replacement replaces (now a PDF, one entry)" '^1 application/pdf$' "$(jget '"%d %s" % (len(d["attachments"]), d["attachments"][0]["content_type"])' "$(body "$R")")"
curl -sf "${C[@]}" -b "$T/jar.a1" -D "$T/h.txt" -o "$T/back.pdf" "$URL/api/v1/$M/$ID/attachments/license" || fail "read the attachment back"
cmp -s "$T/back.pdf" "$T/good.pdf" || fail "the stored attachment is the uploaded one"
grep -qi '^content-type: application/pdf' "$T/h.txt" || fail "…served as application/pdf"
grep -qi '^content-security-policy: sandbox' "$T/h.txt" || fail "…sandboxed"
ok "the attachment reads back byte for byte, as application/pdf, sandboxed"
R=$(put a1 "$M/$ID/attachments/qualification" "$T/good.pdf" application/pdf)
expect_grep "a second attachment (a real PDF made by cairo)" "200$" "$(flat "$R")"
R=$(api a1 POST "$M/$ID/submit")
expect_grep "submit without the required attachments → 409 naming them" \
	'请先上传：安全生产责任制度.*"missing":\["safety-rules","staff-certs"\].*409$' "$(flat "$R")"
R=$(api rev GET review/queue)
expect_grep "…and nothing reached the reviewers" '"items":\[\]' "$(flat "$R")"
put a1 "$M/$ID/attachments/safety-rules" "$T/good.pdf" application/pdf >/dev/null
put a1 "$M/$ID/attachments/staff-certs" "$T/good.pdf" application/pdf >/dev/null
R=$(api a1 POST "$M/$ID/submit")
expect_grep "保存提交 → submitted, 1 working day" '"state":"submitted".*"missing":\[\].*"deadline":"20[0-9-]+T.*已提交“建筑施工企业安全生产许可证”申请，网站将于1个工作日内处理.*200$' "$(flat "$R")"
R=$(api a1 POST "$M/$ID/submit")
expect_grep "submitting twice → 409" "409$" "$(flat "$R")"
R=$(put a1 "$M/$ID/attachments/license" "$T/good.jpg" image/jpeg)
expect_grep "a submitted application's attachments cannot change → 409" "409$" "$(flat "$R")"
R=$(api a1 PUT "$M/$ID" "{$F,\"safety_staff\":16}")
expect_grep "…nor its fields → 409" "409$" "$(flat "$R")"
OUT=$("$ONECERT" admin outbox --dir "$H" --to "$LOCAL" --json)
expect_grep "the holder's mobile was told by SMS" "建筑施工企业安全生产许可证”申请已提交" "$OUT"
AUDIT=$(sqlite3 "$H/hall.db" "SELECT actor || ' ' || action FROM audit WHERE action LIKE 'matter.%' AND detail LIKE '{\"app\":$ID,%' ORDER BY id" | tr '\n' ' ')
A1=$(serial_of "$T/a1.pem")
expect_grep "every change is in the audit log with the certificate's serial; the refusals are not" \
	"^$A1 matter.create $A1 matter.update ($A1 matter.attachment ){5}$A1 matter.submit $" "$AUDIT"

# --- review -----------------------------------------------------------------
R=$(api rev GET review/queue)
expect_grep "the reviewer's queue holds it as a matter" "\"id\":$ID,\"kind\":\"matter\".*200$" "$(flat "$R")"
R=$(api rev GET "review/applications/$ID")
expect_grep "detail: the matter and its attachments with labels and sizes" \
	'"matter":\{"code":"safety-permit","name":"建筑施工企业安全生产许可证"' "$(flat "$R")"
[ "$(jget '[a["label"] for a in d["attachments"]][0] + " " + str(len(d["attachments"])) + " " + str(d["attachments"][0]["size"])' "$(body "$R")")" = "营业执照副本 4 $(stat -c %s "$T/good.pdf")" ] || fail "the attachments in the detail"
ok "…four attachments, 营业执照副本 first, with the uploaded size"
curl -sf "${C[@]}" -b "$T/jar.rev" -D "$T/h.txt" -o "$T/rev.pdf" "$URL/api/v1/review/applications/$ID/attachments/staff-certs" || fail "the reviewer reads an attachment"
cmp -s "$T/rev.pdf" "$T/good.pdf" && grep -qi '^content-type: application/pdf' "$T/h.txt" || fail "the reviewer's bytes"
ok "the reviewer reads the attachment's bytes with their content type"
R=$(api rev GET "review/applications/$ID/attachments/injury-insurance")
expect_grep "an attachment not uploaded → 404" "404$" "$(flat "$R")"
R=$(api a1 GET "review/applications/$ID/attachments/license")
expect_grep "a company certificate cannot use the reviewer's route → 403" "403$" "$(flat "$R")"
R=$(api rev POST "review/applications/$ID/decision" '{"decision":"approve"}')
expect_grep "the reviewer approves" '"state":"approved".*200$' "$(flat "$R")"
R=$(api a1 GET "$M/$ID")
expect_grep "the applicant sees it approved" '"state":"approved".*200$' "$(flat "$R")"
R=$(api a1 POST "$M/$ID/withdraw")
expect_grep "withdrawing a decided application → 409" "409$" "$(flat "$R")"

# withdraw: a submitted application goes back with an SMS
R=$(api a1 POST matters/bidding-filing/applications '{"project_name":"浦江花园二期","section":"施工总承包","method":"公开招标","ceiling_price":3500,"opening_date":"2026-03-18"}')
ID2=$(idof "$R")
expect_grep "a draft of another matter (a JSON number accepted for a number)" '"ceiling_price":"3500".*201$' "$(flat "$R")"
put a1 "matters/bidding-filing/applications/$ID2/attachments/tender-doc" "$T/good.pdf" application/pdf >/dev/null
R=$(api a1 POST "matters/bidding-filing/applications/$ID2/submit")
expect_grep "…submitted" '"state":"submitted".*200$' "$(flat "$R")"
R=$(api a1 GET "matters/safety-permit/applications/$ID2")
expect_grep "an application under another matter's code → 404" "404$" "$(flat "$R")"
R=$(api a1 POST "matters/bidding-filing/applications/$ID2/withdraw")
expect_grep "撤回 → withdrawn" '"state":"withdrawn".*200$' "$(flat "$R")"
OUT=$("$ONECERT" admin outbox --dir "$H" --to "$LOCAL" --json)
expect_grep "…and the holder is told" "招标投标备案”申请已撤回" "$OUT"
R=$(api rev GET review/queue)
expect_grep "a withdrawn application leaves the queue" '"items":\[\]' "$(flat "$R")"

# --- the permission, on every endpoint --------------------------------------
for who in a2 c1; do
	what=$([ $who = a2 ] && echo "a second certificate without standing" || echo "a certificate of an unregistered company")
	for req in "GET $M" "POST $M" "GET $M/$ID" "PUT $M/$ID" "GET $M/$ID/attachments/license" "POST $M/$ID/submit" "POST $M/$ID/withdraw"; do
		set -- $req
		if [ "$1" = POST ] || [ "$1" = PUT ]; then R=$(api $who "$1" "$2" "{$F,\"safety_staff\":1}"); else R=$(api $who "$1" "$2"); fi
		expect_grep "$what: $req → 403" "403$" "$(flat "$R")"
	done
	R=$(put $who "$M/$ID/attachments/license" "$T/good.pdf" application/pdf)
	expect_grep "$what: PUT attachment → 403" "403$" "$(flat "$R")"
done
R=$(api b1 GET "$M")
expect_grep "the other registered company lists only its own applications" '"items":\[\].*200$' "$(flat "$R")"
for req in "GET $M/$ID" "GET $M/$ID/attachments/license" "POST $M/$ID/withdraw"; do
	set -- $req
	R=$(api b1 "$1" "$2")
	expect_grep "the other company: $req of this company's application → 404" "404$" "$(flat "$R")"
done
R=$(put b1 "$M/$ID/attachments/license" "$T/good.pdf" application/pdf)
expect_grep "the other company: PUT attachment → 404" "404$" "$(flat "$R")"

# a clerk (办事员) granted one matter, through the sub-certificate API
R=$(api a3 POST subs/request "{\"holder\":\"孙办事\",\"mobile\":\"$LOCAL3\",\"note\":\"报建经办\"}")
[ "$(tail -1 <<<"$R")" -lt 300 ] || { echo "$R" >&2; fail "a3 asks to be a sub certificate"; }
R=$(api a1 GET subs)
SUB=$(jget '[i["id"] for i in d["items"] if i["status"] == "pending"][0]' "$(body "$R")")
R=$(api a1 POST "subs/$SUB/approve" '{"role":"clerk","matters":["project-report"]}')
expect_grep "the main certificate approves a clerk with 报建 only" "200$" "$(flat "$R")"
R=$(api a3 GET matters)
[ "$(jget '",".join(m["code"] for m in d["matters"] if m["allowed"])' "$(body "$R")")" = project-report ] || fail "the clerk sees 报建 allowed, nothing else"
ok "the clerk's catalogue allows 报建 only"
R=$(api a3 POST matters/project-report/applications '{"project_name":"浦江花园三期","project_address":"浦东新区川沙路1号","approval_no":"沪浦发改备〔2026〕12号","investment":"56000","planned_start":"2026-06-01","contact":"孙办事","phone":"13816009876"}')
expect_grep "the clerk files 报建" '"state":"draft".*201$' "$(flat "$R")"
ID3=$(idof "$R")
R=$(put a3 "matters/project-report/applications/$ID3/attachments/approval" "$T/good.jpg" image/jpeg)
expect_grep "…uploads its approval scan" "200$" "$(flat "$R")"
R=$(api a1 GET "matters/project-report/applications/$ID3")
expect_grep "the main certificate sees the clerk's application (not its own)" '"mine":false.*200$' "$(flat "$R")"
R=$(api a1 POST "matters/project-report/applications/$ID3/withdraw")
expect_grep "…but only the applying certificate changes it → 403" "403$" "$(flat "$R")"
for req in "GET $M" "POST $M" "GET $M/$ID" "GET $M/$ID/attachments/license"; do
	set -- $req
	if [ "$1" = POST ]; then R=$(api a3 "$1" "$2" "{$F,\"safety_staff\":1}"); else R=$(api a3 "$1" "$2"); fi
	expect_grep "the clerk, a matter not granted: $req → 403" "403$" "$(flat "$R")"
done
R=$(api a1 POST "subs/$SUB/suspend")
expect_grep "the main certificate suspends the clerk" "200$" "$(flat "$R")"
R=$(put a3 "matters/project-report/applications/$ID3/attachments/land-use" "$T/good.pdf" application/pdf)
expect_grep "a suspended clerk is refused at once, even on its own application → 403" "403$" "$(flat "$R")"

# --- guides (public) ---------------------------------------------------------
G=$(curl -s -w '\n%{http_code}' "${C[@]}" "$URL/api/v1/guides")
expect_grep "guides are public: the list without a login" "200$" "$(flat "$G")"
expect_grep "the first guide is the seed's" '^申领——开通数字证书（新企业适用） 6$' "$(jget 'd["guides"][0]["title"] + " " + str(len(d["guides"]))' "$(body "$G")")"
expect_grep "the seven tags with their values, for the filter selects" \
	'^scope,status,region,object,role,action,system 本市,外省市$' "$(jget '",".join(t["key"] for t in d["tags"]) + " " + ",".join(d["tags"][2]["values"])' "$(body "$G")")"
G=$(curl -s -w '\n%{http_code}' "${C[@]}" -G --data-urlencode "region=外省市" "$URL/api/v1/guides")
N1=$(jget 'len(d["guides"])' "$(body "$G")")
[ "$N1" -ge 2 ] && [ "$N1" -lt 6 ] || fail "地域=外省市 narrows the list ($N1)"
ok "a filter narrows the list (地域=外省市: $N1 of 6)"
G=$(curl -s -w '\n%{http_code}' "${C[@]}" -G --data-urlencode "region=外省市" --data-urlencode "scope=专项" "$URL/api/v1/guides")
expect_grep "two filters combine (AND): 外省市 + 专项 → 外省市企业进沪备案 only" '^外省市企业进沪备案$' "$(jget '"|".join(g["title"] for g in d["guides"])' "$(body "$G")")"
G=$(curl -s -w '\n%{http_code}' "${C[@]}" -G --data-urlencode "region=火星" "$URL/api/v1/guides")
expect_grep "a value no guide has → an empty list" '"guides":\[\].*200$' "$(flat "$G")"
G=$(curl -s -w '\n%{http_code}' "${C[@]}" "$URL/api/v1/guides/01-shenling-kaitong")
expect_grep "a guide renders to HTML (headings, lists, bold)" '<h1>申领——开通数字证书（新企业适用）</h1>.*<h2>.*<ol>.*<strong>.*200$' "$(flat "$G")"
if grep -q '<script' <<<"$G"; then fail "no script in a rendered guide"; fi
G=$(curl -s -w '\n%{http_code}' "${C[@]}" "$URL/api/v1/guides/99-none")
expect_grep "an unknown guide → 404" "404$" "$(flat "$G")"
G=$(curl -s -w '\n%{http_code}' "${C[@]}" "$URL/api/v1/guides/..%2Fmatters")
expect_grep "a path trick → 404" "40[04]$" "$(flat "$G")"
done_tests
