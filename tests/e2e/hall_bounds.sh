#!/bin/bash
# hall_bounds.sh — what one certificate can still do to the hall and to its
# own company: bounds on a company's matter applications, and what a sub
# certificate its company suspended or removed may no longer do (SPEC
# §4.3, §4.4, §7).  A real CA service behind the hall; the hall's bounds
# are set low in hall.ini (matter_draft_max = 3, matter_daily_max = 6).
#
# Company A is registered (a1 main) with the clerks a2 and a4; a3 is a new
# certificate of A that never asked for anything; company B (b1) is
# registered too.  Then:
#  - a clerk files a 主数字证书更新 (it may while trusted) and holds the
#    company's one update slot; its company suspends it: the update is
#    withdrawn with the suspension, and the suspended certificate can file
#    no update (paper or signed) nor do a matter, while a new certificate
#    of the company (a3) files one; removed, then asking again (pending),
#    it still cannot file one, and its matter drafts were withdrawn with
#    the removal; an update filed by a certificate whose company then
#    suspended it cannot be approved (409, the main unchanged);
#  - a clerk fills the company's drafts (a 4th draft → 409 too_many_drafts,
#    nothing stored, for the main certificate too; company B unaffected);
#    suspending the clerk frees the room; creating and withdrawing again
#    and again stops at the daily bound (429 too_many, retry_after).
. "$(dirname "$0")/lib/common.sh"
. "$(dirname "$0")/lib/hall.sh"
D="$T/ca"; H="$T/hall"
reserve_ports; HPORT=$((PORT + 1))
BASE="http://127.0.0.1:$PORT"
NAME="上海浦江建筑工程有限公司"; USCC=91310115MA1FL8XY7N
NAME_B="北京燕山建材有限公司"; USCC_B=91110000600037341L
LOCAL=13816001234; LOCAL2=13817005678; M2=13816002222; M4=13816004444
MEDIUM=SH-KEY-0009
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
for u in a1 a2 a3 a4; do issue "$u" enterprise "$NAME" "$USCC"; done
issue b1 enterprise "$NAME_B" "$USCC_B"
issue rev personal 赵审核 110101199003074514
expect_ok "TLS certificate for the hall" "$ONECERT" ca issue-tls --dir "$D" --name 127.0.0.1 --out "$T/hall-tls.pem" --key-out "$T/hall-tls.key"
"$ONECERT" ca serve --dir "$D" --listen "127.0.0.1:$PORT" >"$T/ca.log" 2>&1 & PIDS+=($!)
expect_ok "hall init" "$ONECERT" hall init --dir "$H" --trust "$D/ca.pem" \
	--tls-cert "$T/hall-tls.pem" --tls-key "$T/hall-tls.key" --tls-listen "127.0.0.1:$HPORT"
printf 'matter_draft_max = 3\nmatter_daily_max = 6\n' > "$T/extra"
sed -i "/^\[hall\]/r $T/extra" "$H/hall.ini"
expect_ok "import the mobile segment fixture" "$ONECERT" admin import-segments --dir "$H" --file "$SRC/tests/unit/data/segments_fixture.csv"
expect_ok "grant reviewer" "$ONECERT" hall grant-role --dir "$H" --serial "$(serial_of "$T/rev.pem")" --role reviewer

# a bound that is not a number stops the start, naming the key
cp -r "$H" "$T/hall-bad"
sed -i 's/^matter_daily_max = 6$/matter_daily_max = many/' "$T/hall-bad/hall.ini"
expect_fail "a malformed bound stops the start, naming it" "matter_daily_max" timeout 10 "$ONECERT" hall serve --dir "$T/hall-bad"

"$ONECERT" hall serve --dir "$H" >"$T/hall.log" 2>&1 & PIDS+=($!)
URL="https://127.0.0.1:$HPORT"
C=(--cacert "$D/ca.pem")
wait_up
ok "CA service and hall are up"

declare -A CSRF ID
body() { sed '$d' <<<"$1"; }
jget() { python3 -c 'import json,sys; d=json.loads(sys.stdin.read()); print(eval(sys.argv[1]))' "$1" <<<"$2"; }
idof() { body "$1" | sed -nE 's/^\{"id":([0-9]+).*/\1/p'; }
q() { sqlite3 "$H/hall.db" "$1"; }
for u in a1 a2 a3 a4 b1 rev; do login "$u"; done
ok "six certificates log in"
for u in a1 a2 a3 a4 b1; do ID[$u]=$(q "SELECT id FROM accounts WHERE serial = '$(serial_of "$T/$u.pem")'"); done

register() { # who uscc mobile
	local r id
	r=$(api "$1" POST applications "$(printf '{"legal_rep":"张三","license_no":"%s","contact":"李四","phone":"%s","medium":"%s"}' "$2" "$3" "$MEDIUM")")
	id=$(idof "$r")
	[ -n "$id" ] || { echo "$r" >&2; fail "$1: activation draft"; }
	scan "$1" "$id" "form-$1"
	r=$(upload "$1" "$id" "$T/form-$1.jpg")
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
clerk() { # who mobile
	local r
	r=$(api "$1" POST subs/request "{\"holder\":\"王$1\",\"mobile\":\"$2\"}")
	[ "$(tail -1 <<<"$r")" = 200 ] || { echo "$r" >&2; fail "$1 asks to become a sub certificate"; }
	r=$(api a1 POST "subs/${ID[$1]}/approve" '{"role":"clerk","matters":["safety-permit"]}')
	expect_grep "$1 is approved as a clerk with 建筑施工企业安全生产许可证" '"role":"clerk".*"status":"active".*200$' "$(flat "$r")"
}
clerk a2 "$M2"
clerk a4 "$M4"

M=matters/safety-permit/applications
F='{"apply_type":"首次申请","qualification_no":"D231000001","legal_rep":"张三","safety_head":"王五","contact":"李四","phone":"13816001234","safety_staff":"12"}'
A1=$(serial_of "$T/a1.pem")
uform() { # reason
	printf '{"license_no":"%s","old_serial":"%s","medium":"SH-KEY-0100","reason":"%s","contact":"李四","phone":"%s"}' \
		"$USCC" "$A1" "$1" "$LOCAL2"
}

# --- a suspended or removed sub certificate and 主数字证书更新 ------------
R=$(api a4 POST "$M" "$F")
A4_DRAFT=$(idof "$R")
expect_grep "the clerk a4 starts a matter draft" '"state":"draft".*201$' "$(flat "$R")"
R=$(api a4 POST main-update "$(uform 遗失办证)")
A4_UPD=$(idof "$R")
expect_grep "an active clerk may file a 主数字证书更新 (reviewers judge the sealed form)" '"kind":"main_update","state":"draft".*201$' "$(flat "$R")"
R=$(api a3 POST main-update "$(uform 遗失办证)")
expect_grep "…and holds the company's one update slot: a new certificate waits (409)" '"application_id":'"$A4_UPD"'.*409$' "$(flat "$R")"

R=$(api a1 POST "subs/${ID[a4]}/suspend")
expect_grep "the main certificate suspends a4" '"status":"suspended".*200$' "$(flat "$R")"
[ "$(q "SELECT state FROM applications WHERE id = $A4_UPD")" = withdrawn ] || fail "a4's update is withdrawn"
ok "…its open 主数字证书更新 is withdrawn with the suspension"
[ "$(q "SELECT state FROM applications WHERE id = $A4_DRAFT")" = draft ] || fail "a4's matter draft is kept"
ok "…its matter draft is kept for when it is resumed"
expect_grep "…and the audit says so" '"withdrawn_applications":1' \
	"$(q "SELECT detail FROM audit WHERE action = 'sub.suspend' ORDER BY id DESC LIMIT 1")"
N=$(q "SELECT count(*) FROM applications WHERE kind = 'main_update'")
R=$(api a4 POST main-update "$(uform 遗失办证)")
expect_grep "a suspended sub certificate files no 主数字证书更新 → 403, in Chinese and English" \
	'"code":"forbidden".*已被贵企业暂停使用，不能办理主数字证书更新 / this certificate was suspended.*403$' "$(flat "$R")"
[ "$(q "SELECT count(*) FROM applications WHERE kind = 'main_update'")" = "$N" ] || fail "nothing stored"
ok "…nothing stored"
R=$(api a4 POST main-update/signed '{}')
expect_grep "…nor the signed update → 403" '暂停使用.*403$' "$(flat "$R")"
R=$(api a4 GET main-update)
expect_grep "…and GET main-update says why" '"eligible":false.*"message":"本证书已被贵企业暂停使用.*200$' "$(flat "$R")"
R=$(api a4 PUT "applications/$A4_UPD" "$(uform 遗失办证)")
expect_grep "…its withdrawn update cannot be revived → 409" '409$' "$(flat "$R")"
R=$(api a4 POST "$M" "$F")
expect_grep "…nor a matter → 403" '本证书未被授权办理此事项.*403$' "$(flat "$R")"
R=$(api a4 POST subs/request "{\"holder\":\"王a4\",\"mobile\":\"$M4\"}")
expect_grep "…nor a new sub request → 409" '409$' "$(flat "$R")"
R=$(api a4 PUT "subs/${ID[a4]}/holder" "{\"name\":\"王a4\",\"mobile\":\"$M4\"}")
expect_grep "…nor its own holder → 403" '403$' "$(flat "$R")"

R=$(api a3 POST main-update "$(uform 遗失办证)")
A3_UPD=$(idof "$R")
expect_grep "the legitimate path: a new certificate of the company files the update" '"kind":"main_update","state":"draft".*201$' "$(flat "$R")"

R=$(api a1 POST "subs/${ID[a4]}/remove")
expect_grep "the main certificate removes a4" '"status":"removed".*200$' "$(flat "$R")"
[ "$(q "SELECT state FROM applications WHERE id = $A4_DRAFT")" = withdrawn ] || fail "a4's matter draft is withdrawn"
ok "…its matter draft (which nobody else may finish) is withdrawn with the removal"
R=$(api a4 POST main-update "$(uform 遗失办证)")
expect_grep "a removed sub certificate files no 主数字证书更新 → 403" '已被贵企业删除.*this certificate was removed.*403$' "$(flat "$R")"
R=$(api a4 POST subs/request "{\"holder\":\"王a4\",\"mobile\":\"$M4\"}")
expect_grep "it may ask to become a sub certificate again (pending)" '"status":"pending".*200$' "$(flat "$R")"
R=$(api a4 POST main-update "$(uform 遗失办证)")
expect_grep "…and, pending, still files no 主数字证书更新 → 403" '已被贵企业删除.*403$' "$(flat "$R")"
R=$(api a1 POST "subs/${ID[a4]}/refuse" '{"reason":"已离职"}')
expect_grep "the main certificate refuses it" '"status":"refused".*200$' "$(flat "$R")"
R=$(api a4 POST main-update "$(uform 遗失办证)")
expect_grep "…nor once refused → 403" '已被贵企业删除.*403$' "$(flat "$R")"

# an update filed while trusted cannot be approved once the company has
# suspended its filer (the store's own rule, whatever the handler saw: the
# suspension is written here directly, as by a request racing the review)
scan a3 "$A3_UPD" upd-a3
R=$(upload a3 "$A3_UPD" "$T/upd-a3.jpg")
expect_grep "a3's update: the scan" '"qr":"match".*200$' "$(flat "$R")"
R=$(api a3 POST "applications/$A3_UPD/submit")
expect_grep "a3's update: submitted" '"state":"submitted".*200$' "$(flat "$R")"
q "UPDATE accounts SET status = 'suspended' WHERE id = ${ID[a3]}"
R=$(api rev POST "review/applications/$A3_UPD/decision" '{"decision":"approve"}')
expect_grep "approving an update whose filer the company suspended → 409, in Chinese and English" \
	'申请证书已被企业暂停使用，不能成为主数字证书 / the applying.*409$' "$(flat "$R")"
[ "$(q "SELECT main_account_id FROM companies WHERE id = (SELECT company_id FROM accounts WHERE id = ${ID[a1]})")" = "${ID[a1]}" ] ||
	fail "a1 is still the main certificate"
[ "$(q "SELECT state FROM applications WHERE id = $A3_UPD")" = submitted ] || fail "the update is still waiting"
ok "…nothing changed: a1 is still the main certificate, the update still waits"
q "UPDATE accounts SET status = 'active' WHERE id = ${ID[a3]}"
R=$(api a3 POST "applications/$A3_UPD/withdraw")
expect_grep "a3 withdraws its update" '"state":"withdrawn".*200$' "$(flat "$R")"

# a submitted update withdrawn by a suspension or removal: its contact was
# told "网站将于1个工作日内处理", so the contact is told it will not be
outbox() { "$ONECERT" admin outbox --dir "$H" --to "$1" | grep '^#'; }   # a line a text
submitted_update() { # who phone — files, scans and submits; the id in UPD
	R=$(api "$1" POST main-update "$(uform 遗失办证 | sed "s/$LOCAL2/$2/")")
	UPD=$(idof "$R")
	[ -n "$UPD" ] || { echo "$R" >&2; fail "$1 files an update"; }
	scan "$1" "$UPD" "upd-$1-$UPD"
	R=$(upload "$1" "$UPD" "$T/upd-$1-$UPD.jpg")
	R=$(api "$1" POST "applications/$UPD/submit")
	expect_grep "the clerk $1 submits a 主数字证书更新 (contact $2)" '"state":"submitted".*200$' "$(flat "$R")"
}
submitted_update a2 "$LOCAL2"
N=$(outbox "$LOCAL2" | wc -l)
R=$(api a1 POST "subs/${ID[a2]}/suspend")
expect_grep "the main certificate suspends a2" '"status":"suspended".*200$' "$(flat "$R")"
[ "$(q "SELECT state FROM applications WHERE id = $UPD")" = withdrawn ] || fail "a2's submitted update is withdrawn"
expect_grep "…its submitted update's contact is told it was withdrawn, and why" \
	"主数字证书更新申请（编号$UPD）已撤回：申请所用的数字证书已被贵企业暂停使用" "$(outbox "$LOCAL2")"
[ "$(outbox "$LOCAL2" | wc -l)" = $((N + 1)) ] || fail "one text to the contact"
expect_grep "…and a2's holder is told of the suspension" "已被暂停使用" "$(outbox "$M2")"
R=$(api a1 POST "subs/${ID[a2]}/resume")
expect_grep "the main certificate resumes a2" '"status":"active".*200$' "$(flat "$R")"
submitted_update a2 "$M2"
N=$(outbox "$M2" | wc -l)
R=$(api a1 POST "subs/${ID[a2]}/suspend")
expect_grep "suspended again, a2's update filed with its holder's own mobile as contact" '"status":"suspended".*200$' "$(flat "$R")"
expect_grep "…one text to that mobile says both" \
	"sub.suspended .*已被暂停使用，暂停期间不能办理事项。.*主数字证书更新申请（编号$UPD）已撤回" "$(outbox "$M2" | tail -1)"
[ "$(outbox "$M2" | wc -l)" = $((N + 1)) ] || fail "one text, not two: $(outbox "$M2" | tail -2)"
ok "…one text, not two"
R=$(api a1 POST "subs/${ID[a2]}/resume")
expect_grep "…and a2 is resumed" '"status":"active".*200$' "$(flat "$R")"

# --- bounds on a company's matter applications ---------------------------
count() { q "SELECT count(*) FROM applications WHERE kind = 'matter' AND company_id = (SELECT company_id FROM accounts WHERE id = ${ID[$1]})"; }
for i in 1 2 3; do
	R=$(api a2 POST "$M" "$F")
	expect_grep "the clerk a2 starts draft $i of 3" '"state":"draft".*201$' "$(flat "$R")"
done
N=$(count a1)
R=$(api a2 POST "$M" "$F")
expect_grep "a 4th draft → 409 too_many_drafts, in Chinese and English, with the limit" \
	'"code":"too_many_drafts","message":"贵企业未提交的事项申请草稿已达3份，请先提交或撤回 / the company already has 3 unsubmitted matter drafts.*"limit":3.*409$' "$(flat "$R")"
[ "$(count a1)" = "$N" ] || fail "nothing stored"
ok "…nothing stored"
R=$(api a1 POST "$M" "$F")
expect_grep "the bound is the company's: the main certificate's draft → 409" 'too_many_drafts.*409$' "$(flat "$R")"
R=$(api b1 POST "$M" "$F")
expect_grep "another company is not affected (201)" '"state":"draft".*201$' "$(flat "$R")"

R=$(api a1 POST "subs/${ID[a2]}/suspend")
expect_grep "the main certificate suspends the clerk that filled the bound" '"status":"suspended".*200$' "$(flat "$R")"
R=$(api a1 POST "$M" "$F")
MAIN_DRAFT=$(idof "$R")
expect_grep "…which frees the room: the main certificate's draft → 201 (a suspended certificate's drafts do not count)" '"state":"draft".*201$' "$(flat "$R")"
R=$(api a1 POST "$M/$MAIN_DRAFT/withdraw")
expect_grep "…withdrawn" '"state":"withdrawn".*200$' "$(flat "$R")"
# a1 has started 1 in 24 hours (a2's 3 drafts and a4's withdrawn one are
# of certificates no longer active): 5 more, each withdrawn, then the bound
for i in 2 3 4 5 6; do
	R=$(api a1 POST "$M" "$F")
	id=$(idof "$R")
	[ -n "$id" ] || { echo "$R" >&2; fail "a1's draft $i"; }
	R=$(api a1 POST "$M/$id/withdraw")
	[ "$(tail -1 <<<"$R")" = 200 ] || { echo "$R" >&2; fail "a1 withdraws draft $i"; }
done
ok "the main certificate starts and withdraws drafts 2 to 6"
N=$(count a1)
R=$(api a1 POST "$M" "$F")
expect_grep "starting and withdrawing again and again stops at the daily bound → 429 too_many" \
	'"code":"too_many","message":"贵企业24小时内新建的事项申请已达6份，请稍后再试 / the company started 6 matter applications in the last 24 hours.*"limit":6.*429$' "$(flat "$R")"
RA=$(jget "d['error']['retry_after']" "$(body "$R")")
[ "$RA" -gt 86000 ] && [ "$RA" -le 86400 ] || fail "retry_after $RA: 24 hours after the oldest of the six"
ok "…with retry_after ($RA s): 24 hours after the oldest of them"
[ "$(count a1)" = "$N" ] || fail "nothing stored"
ok "…nothing stored"

# approved again, a once removed certificate stands like any other clerk
R=$(api a4 POST subs/request "{\"holder\":\"王a4\",\"mobile\":\"$M4\"}")
R=$(api a1 POST "subs/${ID[a4]}/approve" '{"role":"clerk","matters":["safety-permit"]}')
expect_grep "a4 asks again and is approved" '"status":"active".*200$' "$(flat "$R")"
R=$(api a4 POST main-update "$(uform 遗失办证)")
expect_grep "…and may file a 主数字证书更新 again, as any clerk (201)" '"kind":"main_update","state":"draft".*201$' "$(flat "$R")"

done_tests
