#!/bin/bash
# agent.sh — the local USB-key agent, `onecert agent` (证书助手, SPEC §5),
# end to end: a SoftHSM2 token as the company's USB key (key made on it,
# certificate written onto it by the real CLI), a CA service and a hall,
# and the agent between the hall's page and the key.  curl plays the page:
# it sends the Origin header a browser would.
#
# - Only the configured origin, through a Host naming the agent on
#   loopback, gets anything (a foreign page, a DNS-rebinding page, a request
#   without Origin: 403, no CORS header); the CORS and Private Network
#   Access preflight; bodies must be JSON.
# - The token list: medium serial and the certificate, byte for byte the
#   one the CA issued, with no PIN.
# - The agent signs the hall's challenge with the key on the token; openssl
#   verifies that signature with the certificate's key; the hall lets the
#   company in with it (POST /api/v1/login), and refuses it replayed.
# - It signs nothing but a login challenge; a wrong PIN, an unknown key id
#   or token are refused; wrong PINs in a row make the next try wait.
# - PIN change: old PIN refused afterwards, new one works.
# - It will not listen off loopback and will not start with no origin.
. "$(dirname "$0")/lib/common.sh"
usb_softhsm
D="$T/ca"; H="$T/hall"
reserve_ports; HPORT=$((PORT + 1)); APORT=$((PORT + 2))
NAME="上海浦江建筑工程有限公司"; USCC=91310115MA1FL8XY7N
PIN=123456
PIDS=()
trap 'for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done; wait 2>/dev/null; rm -rf "$T"' EXIT

expect_ok "CA" "$ONECERT" ca init --dir "$D" --algo ec --base-url "http://127.0.0.1:$PORT"
expect_ok "TLS certificate for the hall" "$ONECERT" ca issue-tls --dir "$D" --name 127.0.0.1 \
	--out "$T/hall-tls.pem" --key-out "$T/hall-tls.key"
expect_ok "token init" "$ONECERT" token init --label ACME-1 --so-pin 87654321 --pin "$PIN"
TOKEN=$(echo "$OUT" | tail -1)
expect_ok "token keygen" "$ONECERT" token keygen --token "$TOKEN" --pin "$PIN" --algo ec --label login
KEYID=$(echo "$OUT" | tail -1)
expect_ok "token csr" "$ONECERT" token csr --token "$TOKEN" --pin "$PIN" --id "$KEYID" --out "$T/req.pem"
expect_ok "the CA issues" "$ONECERT" ca issue --dir "$D" --csr "$T/req.pem" \
	--name "$NAME" --uscc "$USCC" --out "$T/issued.pem"
expect_ok "token put-cert" "$ONECERT" token put-cert --token "$TOKEN" --pin "$PIN" \
	--cert "$T/issued.pem" --label login

# a second USB key whose label is GBK (上海KEY), as keys made in China often
# are: it must not spoil the list for the others
softhsm2-util --init-token --free --label "$(printf '\xc9\xcf\xba\xa3KEY')" --so-pin 87654321 --pin 654321 >/dev/null ||
	fail "a GBK-labelled token"

"$ONECERT" ca serve --dir "$D" --listen "127.0.0.1:$PORT" >"$T/ca.log" 2>&1 & PIDS+=($!)
expect_ok "hall init" "$ONECERT" hall init --dir "$H" --trust "$D/ca.pem" \
	--tls-cert "$T/hall-tls.pem" --tls-key "$T/hall-tls.key" --tls-listen "127.0.0.1:$HPORT"
"$ONECERT" hall serve --dir "$H" >"$T/hall.log" 2>&1 & PIDS+=($!)
URL="https://127.0.0.1:$HPORT"; C=(--cacert "$D/ca.pem")
HALL_ORIGIN="https://127.0.0.1:$HPORT"

# ---- starting ----
R=$("$ONECERT" agent --listen "0.0.0.0:$APORT" --origin "$HALL_ORIGIN" 2>&1) &&
	fail "the agent started on 0.0.0.0"
expect_grep "the agent refuses to listen off loopback" "loopback only" "$R"
R=$("$ONECERT" agent --listen "127.0.0.2:$APORT" --origin "$HALL_ORIGIN" 2>&1) &&
	fail "the agent started on 127.0.0.2"
expect_grep "… nor on another loopback address (its Host check names 127.0.0.1)" "loopback only" "$R"
R=$("$ONECERT" agent --listen "127.0.0.1:$APORT" 2>&1) && fail "the agent started with no origin"
expect_grep "the agent refuses to start with no allowed origin" "no web origin" "$R"
R=$("$ONECERT" agent --listen "127.0.0.1:$APORT" --origin "https://hall.example.cn/login" 2>&1) &&
	fail "the agent took an origin with a path"
expect_grep "an origin with a path is refused" "scheme://host" "$R"

printf '[agent]\nlisten = 127.0.0.1:%s\norigins = %s, https://other.example.cn\n' "$APORT" "$HALL_ORIGIN" >"$T/agent.ini"
ONECERT_LOG_LEVEL=info "$ONECERT" agent --config "$T/agent.ini" >"$T/agent.log" 2>&1 & PIDS+=($!)
A="http://127.0.0.1:$APORT"
wait_up() {
	for _ in $(seq 50); do curl -sf "${C[@]}" "$URL/healthz" >/dev/null 2>&1 &&
		curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1 &&
		curl -sf "$A/healthz" >/dev/null 2>&1 && return 0; sleep 0.2; done
	cat "$T/hall.log" "$T/agent.log" >&2; return 1
}
wait_up || fail "CA service, hall and agent are up"
ok "CA service, hall and agent (from agent.ini) are up"
expect_grep "the agent says where it listens" "listening on http://127.0.0.1:$APORT" "$(cat "$T/agent.log")"

# call METHOD PATH [ORIGIN [BODY [CONTENT_TYPE]]] — headers and body, then the status
call() {
	local args=(-s -D - -w '\n%{http_code}' -X "$1")
	[ -n "${3:-}" ] && args+=(-H "Origin: $3")
	[ -n "${4:-}" ] && args+=(-H "Content-Type: ${5:-application/json}" --data-binary "$4")
	curl "${args[@]}" "$A$2"
}

# ---- the gate ----
R=$(call GET /api/v1/tokens)
expect_grep "no Origin → 403" "^403$" "$R"
R=$(call GET /api/v1/tokens "https://evil.example.com")
expect_grep "a foreign page's Origin → 403" "^403$" "$R"
expect_grep "… with a Chinese message" "此网页无权使用证书助手" "$R"
grep -qi "^access-control-allow-origin" <<<"$R" && fail "a foreign origin got a CORS header"
ok "… and no Access-Control-Allow-Origin, so the browser shows the page nothing"
R=$(curl -s -D - -w '\n%{http_code}' -H "Host: evil.example.com:$APORT" -H "Origin: $HALL_ORIGIN" "$A/api/v1/tokens")
expect_grep "a DNS-rebinding Host with the allowed Origin → 403" "^403$" "$R"
R=$(curl -s -w '\n%{http_code}' -H "Host: 127.0.0.1:1" -H "Origin: $HALL_ORIGIN" "$A/api/v1/tokens")
expect_grep "a Host with another port → 403" "^403$" "$R"
R=$(call OPTIONS /api/v1/sign "$HALL_ORIGIN")
expect_grep "preflight from the hall → 204" "^204$" "$R"
expect_grep "… allows the hall's origin" "ccess-Control-Allow-Origin: $HALL_ORIGIN" "$R"
expect_grep "… allows POST" "ccess-Control-Allow-Methods: POST" "$R"
expect_grep "… allows Content-Type" "ccess-Control-Allow-Headers: Content-Type" "$R"
expect_grep "… answers Private Network Access" "ccess-Control-Allow-Private-Network: true" "$R"
R=$(call OPTIONS /api/v1/sign "https://evil.example.com")
expect_grep "preflight from a foreign page → 403" "^403$" "$R"
R=$(call GET /api/v1/nothing "$HALL_ORIGIN")
expect_grep "an unknown endpoint → 404" "^404$" "$R"
R=$(call POST /api/v1/tokens "$HALL_ORIGIN" '{}')
expect_grep "POST on the token list → 405" "^405$" "$R"

# ---- the token list ----
R=$(call GET /api/v1/tokens "https://other.example.cn")
expect_grep "the second configured origin may list" "^200$" "$R"
R=$(call GET /api/v1/tokens "$HALL_ORIGIN")
expect_grep "the hall's origin lists the tokens → 200" "^200$" "$R"
expect_grep "… with the CORS header" "ccess-Control-Allow-Origin: $HALL_ORIGIN" "$R"
BODY=$(sed -n '/^{/p' <<<"$R")
echo "$BODY" >"$T/tokens.json"
python3 - "$T/tokens.json" "$T/issued.pem" "$TOKEN" "$KEYID" "$NAME" <<'EOF' || fail "the token list"
import json, sys
j = json.load(open(sys.argv[1]))
toks = [t for t in j["tokens"] if t["serial"] == sys.argv[3]]
assert len(toks) == 1, j
assert any(t["label"].endswith("KEY") and "?" in t["label"] for t in j["tokens"]), j  # bytes that are not UTF-8 shown as "?", not a 500
t = toks[0]
assert t["label"] == "ACME-1" and t["pin_locked"] is False, t
assert len(t["certificates"]) == 1, t
c = t["certificates"][0]
assert c["id"] == sys.argv[4] and c["algo"] == "ec" and c["subject_cn"] == sys.argv[5], c
open(sys.argv[1] + ".pem", "w").write(c["certificate"])
EOF
cmp -s <(openssl x509 -in "$T/tokens.json.pem" -outform DER) <(openssl x509 -in "$T/issued.pem" -outform DER) ||
	fail "the listed certificate is the issued one"
ok "a token with a GBK label is listed (bytes that are not UTF-8 as '?') beside the others"
ok "the list names the token by its medium serial ($TOKEN) and gives the issued certificate (id $KEYID), no PIN asked"
SERIAL=$(serial_of "$T/issued.pem")
expect_grep "… with its serial" "\"serial\": *\"$SERIAL\"" "$(cat "$T/tokens.json")"

# ---- signing the hall's challenge ----
challenge() { curl -s "${C[@]}" -X POST "$URL/api/v1/login/challenge" | sed -nE 's/.*"challenge":"([^"]+)".*/\1/p'; }
sign_body() { # token id pin challenge
	python3 -c 'import json,sys;print(json.dumps({"token":sys.argv[1],"id":sys.argv[2],"pin":sys.argv[3],"challenge":sys.argv[4]}))' "$@"
}
CH=$(challenge); [ -n "$CH" ] || fail "a challenge from the hall"
R=$(call POST /api/v1/sign "$HALL_ORIGIN" "$(sign_body "$TOKEN" "$KEYID" "$PIN" "$CH")" text/plain)
expect_grep "a text/plain body (no preflight in a browser) → 415" "^415$" "$R"
R=$(call POST /api/v1/sign "$HALL_ORIGIN" "$(sign_body "$TOKEN" "$KEYID" "$PIN" "I hereby transfer all shares")")
expect_grep "text that is not a login challenge is not signed → 400" "^400$" "$R"
expect_grep "… and says so" "只能签署登录挑战值" "$R"
R=$(call POST /api/v1/sign "$HALL_ORIGIN" "$(sign_body "$TOKEN" "00ff" "$PIN" "$CH")")
expect_grep "an id with no certificate on the token → 404" "^404$" "$R"
R=$(call POST /api/v1/sign "$HALL_ORIGIN" "$(sign_body "0000000000000000" "$KEYID" "$PIN" "$CH")")
expect_grep "an unknown token → 404" "^404$" "$R"
R=$(call POST /api/v1/sign "$HALL_ORIGIN" "$(sign_body "$TOKEN" "$KEYID" 000000 "$CH")")
expect_grep "a wrong PIN → 403" "^403$" "$R"
expect_grep "… PIN 错误" "PIN 错误" "$R"
R=$(call POST /api/v1/sign "$HALL_ORIGIN" "$(sign_body "$TOKEN" "$KEYID" "$PIN" "$CH")")
expect_grep "the right PIN → 200" "^200$" "$R"
sed -n '/^{/p' <<<"$R" >"$T/signed.json"
python3 - "$T/signed.json" "$T" <<'EOF' || fail "the sign reply"
import base64, json, sys
j = json.load(open(sys.argv[1]))
open(sys.argv[2] + "/sig.der", "wb").write(base64.b64decode(j["signature"]))
open(sys.argv[2] + "/signed.pem", "w").write(j["certificate"])
assert j["algo"] == "ec", j
EOF
printf %s "$CH" >"$T/challenge"
openssl x509 -in "$T/signed.pem" -noout -pubkey >"$T/pub.pem"
openssl dgst -sha256 -verify "$T/pub.pem" -signature "$T/sig.der" "$T/challenge" >/dev/null 2>&1 ||
	fail "openssl verifies the agent's signature"
ok "openssl verifies the agent's signature over the challenge with the certificate's key"
openssl asn1parse -inform DER -in "$T/sig.der" >"$T/sig.asn1" 2>&1 && grep -q "INTEGER" "$T/sig.asn1" ||
	fail "the signature is a DER ECDSA-Sig-Value"
ok "openssl asn1parse: the signature is a DER SEQUENCE of two INTEGERs"
expect_grep "the agent logs the signature without the PIN" "event=agent.signed token=$TOKEN" "$(cat "$T/agent.log")"
grep -q "$PIN" "$T/agent.log" && fail "the PIN is in the agent's log"
ok "the PIN is in none of the agent's log lines"

login_body() { python3 -c 'import json,sys;print(json.dumps({"certificate":open(sys.argv[1]).read(),"signature":sys.argv[2],"challenge":sys.argv[3]}))' "$@"; }
SIG=$(base64 -w0 "$T/sig.der")
R=$(curl -s -w '\n%{http_code}' "${C[@]}" -c "$T/jar" -H 'Content-Type: application/json' \
	-d "$(login_body "$T/signed.pem" "$SIG" "$CH")" "$URL/api/v1/login")
expect_grep "the hall lets the company in with the agent's signature → 200" "^200$" "$R"
ME=$(curl -s "${C[@]}" -b "$T/jar" "$URL/api/v1/me")
expect_grep "me: 企业名称" "\"company_name\":\"$NAME\"" "$ME"
expect_grep "me: 证书序列号 of the key's certificate" "\"serial\":\"$SERIAL\"" "$ME"
R=$(curl -s -w '\n%{http_code}' "${C[@]}" -H 'Content-Type: application/json' \
	-d "$(login_body "$T/signed.pem" "$SIG" "$CH")" "$URL/api/v1/login")
expect_grep "the same signature again (replay) → 403" "^403$" "$R"

# ---- wrong PINs in a row ----
for i in 1 2 3; do
	R=$(call POST /api/v1/sign "$HALL_ORIGIN" "$(sign_body "$TOKEN" "$KEYID" 11111$i "$(challenge)")")
	expect_grep "wrong PIN #$i → 403" "^403$" "$R"
done
R=$(call POST /api/v1/sign "$HALL_ORIGIN" "$(sign_body "$TOKEN" "$KEYID" "$PIN" "$(challenge)")")
expect_grep "after three wrong PINs in a row, even the right one waits → 429" "^429$" "$R"
expect_grep "… told how long, in Chinese" "PIN 错误次数过多，请[0-9]+秒后再试" "$R"
expect_grep "… with retry_after" '"retry_after": *(2[0-9]|30)' "$R"
expect_grep "… and a Retry-After header" "^Retry-After: (2[0-9]|30)" "$R"
R=$(call POST /api/v1/pin "$HALL_ORIGIN" "{\"token\":\"$TOKEN\",\"pin\":\"$PIN\",\"new_pin\":\"654321\"}")
expect_grep "… and so does a PIN change → 429" "^429$" "$R"
# the agent restarted (a person's PC rebooted) starts counting afresh
kill "${PIDS[-1]}"; wait "${PIDS[-1]}" 2>/dev/null
ONECERT_LOG_LEVEL=info "$ONECERT" agent --config "$T/agent.ini" >"$T/agent.log" 2>&1 & PIDS+=($!)
wait_up || fail "the agent is up again"

# ---- PIN change ----
R=$(call POST /api/v1/pin "$HALL_ORIGIN" "{\"token\":\"$TOKEN\",\"pin\":\"000000\",\"new_pin\":\"654321\"}")
expect_grep "PIN change with a wrong old PIN → 403" "^403$" "$R"
R=$(call POST /api/v1/pin "$HALL_ORIGIN" "{\"token\":\"$TOKEN\",\"pin\":\"$PIN\",\"new_pin\":\"12\"}")
expect_grep "a new PIN too short → 400" "^400$" "$R"
expect_grep "the agent is still up after failed PIN changes" "^200$" "$(curl -s -o /dev/null -w '%{http_code}\n' "$A/healthz")"
R=$(call POST /api/v1/pin "$HALL_ORIGIN" "{\"token\":\"$TOKEN\",\"pin\":\"$PIN\",\"new_pin\":\"654321\"}")
expect_grep "PIN change → 200" "^200$" "$R"
R=$(call POST /api/v1/sign "$HALL_ORIGIN" "$(sign_body "$TOKEN" "$KEYID" "$PIN" "$(challenge)")")
expect_grep "the old PIN no longer signs → 403" "^403$" "$R"
R=$(call POST /api/v1/sign "$HALL_ORIGIN" "$(sign_body "$TOKEN" "$KEYID" 654321 "$(challenge)")")
expect_grep "the new PIN signs → 200" "^200$" "$R"
pkcs11-tool --module "$SOFTHSM_MODULE" --token-label ACME-1 --login --pin 654321 --list-objects >/dev/null 2>&1 ||
	fail "pkcs11-tool logs in with the new PIN"
ok "pkcs11-tool logs in to the token with the new PIN"
done_tests
