#!/bin/bash
# hall_login.sh — `onecert hall serve` as a relying party of a real
# `onecert ca serve`: certificate login over TLS, signed-challenge login
# (and replay), sessions with CSRF, revoked / untrusted / unroled
# certificates refused, the RFC 9440 header ignored from non-proxies.
. "$(dirname "$0")/lib/common.sh"
D="$T/ca"; D2="$T/other"; H="$T/hall"
reserve_ports; HPORT=$((PORT + 1))
BASE="http://127.0.0.1:$PORT"
NAME="上海浦江建筑工程有限公司"; USCC=91310115MA1FL8XY7N
PIDS=()
trap 'for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done; wait 2>/dev/null; rm -rf "$T"' EXIT

expect_ok "CA" "$ONECERT" ca init --dir "$D" --algo ec --base-url "$BASE"
printf '\n[serve]\nrevocation_interval = 1\nocsp_validity = 120\nocsp_refresh_before = 60\n' >> "$D/ca.ini"
expect_ok "another CA the hall does not trust" "$ONECERT" ca init --dir "$D2" --algo ec --dev-file-keys
issue() { # dir file profile name id
	new_csr ec "$T/$2.key" "$T/$2.csr"
	if [ "$3" = personal ]; then
		"$ONECERT" ca issue --dir "$1" --profile personal --csr "$T/$2.csr" --name "$4" --id-number "$5" --out "$T/$2.pem" >/dev/null
	else
		"$ONECERT" ca issue --dir "$1" --csr "$T/$2.csr" --name "$4" --uscc "$5" --out "$T/$2.pem" >/dev/null
	fi || fail "issue $2"
}
issue "$D" company enterprise "$NAME" "$USCC"
issue "$D" revoked enterprise "$NAME" "$USCC"
issue "$D" staff personal 赵审核 110101199003074514
issue "$D2" foreign enterprise "$NAME" "$USCC"
expect_ok "TLS certificate for the hall" "$ONECERT" ca issue-tls --dir "$D" --name 127.0.0.1 --out "$T/hall-tls.pem" --key-out "$T/hall-tls.key"
"$ONECERT" ca serve --dir "$D" --listen "127.0.0.1:$PORT" >"$T/ca.log" 2>&1 & PIDS+=($!)
expect_ok "hall init" "$ONECERT" hall init --dir "$H" --trust "$D/ca.pem" \
	--tls-cert "$T/hall-tls.pem" --tls-key "$T/hall-tls.key" --tls-listen "127.0.0.1:$HPORT"
"$ONECERT" hall serve --dir "$H" >"$T/hall.log" 2>&1 & PIDS+=($!)
URL="https://127.0.0.1:$HPORT"
for _ in $(seq 50); do curl -sf --cacert "$D/ca.pem" "$URL/healthz" >/dev/null 2>&1 &&
	curl -sf "$BASE/healthz" >/dev/null 2>&1 && break; sleep 0.2; done
curl -sf --cacert "$D/ca.pem" "$URL/healthz" >/dev/null || { cat "$T/hall.log" >&2; fail "hall is up"; }
ok "CA service and hall are up"
expect_ok "revoke one certificate" "$ONECERT" ca revoke --dir "$D" --serial "$(serial_of "$T/revoked.pem")" --reason keyCompromise
sleep 2

C=(--cacert "$D/ca.pem")
# /me twice on each of six keep-alive connections, so that every event loop
# has kept its answer (the loops' /me cache, src/hall/session.c): one line
# with the body and one with the status per answer.  Used before and after
# a change by another connection or process: no answer may predate it.
me_all() {
	for _ in 1 2 3 4 5 6; do
		curl -s -w '\n%{http_code}\n' "${C[@]}" -b "$T/jar.$1" "$URL/api/v1/me" "$URL/api/v1/me"
	done
}
me_count() { # jar pattern n description
	local R
	R=$(me_all "$1")
	[ "$(echo "$R" | grep -cE -- "$2")" = "$3" ] || { echo "$R" >&2; fail "$4"; }
	ok "$4"
}
q() { sqlite3 -cmd '.timeout 5000' "$H/hall.db" "$1"; }
login() { curl -s -w '\n%{http_code}' "${C[@]}" -c "$T/jar.$1" -b "$T/jar.$1" --cert "$T/$1.pem" --key "$T/$1.key" -X POST "$URL/api/v1/login/tls"; }
R=$(curl -s -w '\n%{http_code}' "${C[@]}" -X POST "$URL/api/v1/login/tls")
expect_grep "login without a certificate → 401 with a Chinese message" "未收到数字证书.*401$" "$(echo "$R" | tr -d '\n')"
R=$(login company)
expect_grep "certificate login → 200" "^200$" "$R"
grep -q "oc_session" "$T/jar.company" || fail "a session cookie was set"
HDR=$(curl -s -D - -o /dev/null "${C[@]}" --cert "$T/company.pem" --key "$T/company.key" -X POST "$URL/api/v1/login/tls")
expect_grep "the cookie is HttpOnly, Secure, SameSite=Strict" "Set-Cookie: oc_session=[^;]+; Path=/; HttpOnly; Secure; SameSite=Strict" "$HDR"
ME=$(curl -s "${C[@]}" -b "$T/jar.company" "$URL/api/v1/me")
expect_grep "me: 企业名称" "\"company_name\":\"$NAME\"" "$ME"
expect_grep "me: 机构代码证" "\"org_code\":\"$USCC\"" "$ME"
expect_grep "me: 证书序列号" "\"serial\":\"$(serial_of "$T/company.pem")\"" "$ME"
expect_grep "me: 证书唯一标识码" "\"unique_id\":\"OC[0-9]{8}[0-9A-Z]{10}\"" "$ME"
expect_grep "me: a company without a main certificate" "\"company_state\":\"none\"" "$ME"
CSRF=$(echo "$ME" | sed -nE 's/.*"csrf":"([^"]+)".*/\1/p')
me_count company "\"company_name\":\"$NAME\"" 12 "me, asked again on keep-alive connections: the same answer"
q "UPDATE companies SET name = name || '（改）'"
me_count company "\"company_name\":\"$NAME（改）\"" 12 "me after another process changed the company row: the new name on every loop"
q "UPDATE companies SET name = '$NAME'"
me_count company "\"company_name\":\"$NAME\"" 12 "me after it was changed back"
R=$(curl -s -w '\n%{http_code}' "${C[@]}" -b "$T/jar.company" -X POST "$URL/api/v1/logout")
expect_grep "a state change without the CSRF token → 403" "^403$" "$R"
R=$(curl -s -w '\n%{http_code}' "${C[@]}" -b "$T/jar.company" -H "X-CSRF-Token: wrong" -X POST "$URL/api/v1/logout")
expect_grep "a wrong CSRF token → 403" "^403$" "$R"
cp "$T/jar.company" "$T/jar.old"
R=$(curl -s -w '\n%{http_code}' "${C[@]}" -b "$T/jar.company" -H "X-CSRF-Token: $CSRF" -X POST "$URL/api/v1/logout")
expect_grep "logout with the CSRF token → 200" "^200$" "$R"
R=$(curl -s -w '\n%{http_code}' "${C[@]}" -b "$T/jar.old" "$URL/api/v1/me")
expect_grep "the cookie of a logged-out session → 401" "^401$" "$R"
me_count old "^401$" 12 "the logged-out session's cookie → 401 on every loop (nothing kept is served)"

R=$(login revoked)
expect_grep "a revoked certificate is refused (OCSP) with a Chinese message" "(吊销|撤销).*403$" "$(echo "$R" | tr -d '\n')"
R=$(login foreign)
expect_grep "a certificate of an untrusted CA is refused" "^403$" "$R"
R=$(login staff)
expect_grep "a personal certificate without a staff role is refused" "工作人员角色.*403$" "$(echo "$R" | tr -d '\n')"
expect_ok "hall grant-role reviewer" "$ONECERT" hall grant-role --dir "$H" --serial "$(serial_of "$T/staff.pem")" --role reviewer
R=$(login staff)
expect_grep "the reviewer logs in" "^200$" "$R"
expect_grep "as staff with the reviewer role" '"kind":"staff","role":"reviewer"' "$R"
me_count staff '"role":"reviewer"' 12 "me: the reviewer role"
expect_ok "hall grant-role admin (another process)" "$ONECERT" hall grant-role --dir "$H" --serial "$(serial_of "$T/staff.pem")" --role admin
me_count staff '"role":"admin"' 12 "me after the grant: admin on every loop"
expect_ok "hall revoke-role admin" "$ONECERT" hall revoke-role --dir "$H" --serial "$(serial_of "$T/staff.pem")" --role admin
me_count staff '"role":"reviewer"' 12 "me after the revocation: reviewer again on every loop"
q "UPDATE accounts SET status = 'retired' WHERE kind = 'staff'"
me_count staff "^401$" 12 "me after the account was retired by another process → 401 on every loop"

# RFC 9440 header from an address that is not a configured proxy: ignored
B64=$(openssl x509 -in "$T/company.pem" -outform DER | base64 -w0)
R=$(curl -s -w '\n%{http_code}' "${C[@]}" -H "Client-Cert: :$B64:" -X POST "$URL/api/v1/login/tls")
expect_grep "Client-Cert from a non-proxy is ignored" "^401$" "$R"

# signed challenge (how USB keys are used through the agent)
CH=$(curl -s "${C[@]}" -X POST "$URL/api/v1/login/challenge" | sed -nE 's/.*"challenge":"([^"]+)".*/\1/p')
[ -n "$CH" ] || fail "a challenge"
ok "challenge issued"
SIG=$(printf %s "$CH" | openssl dgst -sha256 -sign "$T/company.key" | base64 -w0)
BODY=$(python3 -c 'import json,sys;print(json.dumps({"certificate":open(sys.argv[1]).read(),"signature":sys.argv[2],"challenge":sys.argv[3]}))' "$T/company.pem" "$SIG" "$CH")
R=$(curl -s -w '\n%{http_code}' "${C[@]}" -H 'Content-Type: application/json' -d "$BODY" "$URL/api/v1/login")
expect_grep "signed-challenge login → 200" "^200$" "$R"
R=$(curl -s -w '\n%{http_code}' "${C[@]}" -H 'Content-Type: application/json' -d "$BODY" "$URL/api/v1/login")
expect_grep "a replayed challenge → 403" "^403$" "$R"
CH=$(curl -s "${C[@]}" -X POST "$URL/api/v1/login/challenge" | sed -nE 's/.*"challenge":"([^"]+)".*/\1/p')
SIG=$(printf %s "$CH" | openssl dgst -sha256 -sign "$T/revoked.key" | base64 -w0)
BODY=$(python3 -c 'import json,sys;print(json.dumps({"certificate":open(sys.argv[1]).read(),"signature":sys.argv[2],"challenge":sys.argv[3]}))' "$T/company.pem" "$SIG" "$CH")
R=$(curl -s -w '\n%{http_code}' "${C[@]}" -H 'Content-Type: application/json' -d "$BODY" "$URL/api/v1/login")
expect_grep "a signature by a different key → 403" "签名验证失败.*403$" "$(echo "$R" | tr -d '\n')"
R=$(curl -s -w '\n%{http_code}' "${C[@]}" -H 'Content-Type: application/json' -d '{"certificate":' "$URL/api/v1/login")
expect_grep "malformed JSON → 400" "^400$" "$R"
R=$(curl -s -w '\n%{http_code}' "${C[@]}" -H 'Origin: https://evil.example' -X POST "$URL/api/v1/login/challenge")
expect_grep "a cross-site login request → 403" "^403$" "$R"
P=$(curl -s "${C[@]}" "$URL/")
expect_grep "the login page is served" "数字证书登录" "$P"
done_tests
