#!/bin/bash
# hall_token_login.sh — the signed-challenge login (SPEC §4.1) with the key
# on a USB key: a SoftHSM2 token standing in for the company's 证书 USB key.
# `onecert token` makes an EC P-256 key pair on the token (never
# extractable) and a CSR signed on it, the CA issues, the certificate is
# written onto the token; then, as the agent will: the certificate is read
# back off the token, the hall's challenge is signed by the token through
# PKCS#11 (pkcs11-tool, nobody's code here), and POST /api/v1/login lets the
# company in.
#
# SoftHSM2 has no SM2 mechanism (ca_token.sh shows the CA refusing SM2 on
# it), so the SM2 path with the distinguishing ID cannot run on a token
# here; this is ECDSA P-256 with SHA-256.  SoftHSM2 2.6.1 also lacks
# CKM_ECDSA_SHA256 (pkcs11-tool -m ECDSA-SHA256 fails with
# CKR_MECHANISM_INVALID): when the module refuses it, the SHA-256 digest is
# made outside and signed on the token with plain CKM_ECDSA, which is the
# same signature.  PKCS#11 returns ECDSA signatures as raw r||s; the hall
# verifies with OpenSSL (oc_verify_tbs), which wants the DER
# ECDSA-Sig-Value, so the raw signature is converted to DER first.
. "$(dirname "$0")/lib/common.sh"
usb_softhsm
D="$T/ca"; H="$T/hall"
reserve_ports; HPORT=$((PORT + 1))
NAME="上海浦江建筑工程有限公司"; USCC=91310115MA1FL8XY7N
PIN=123456
P11() { pkcs11-tool --module "$SOFTHSM_MODULE" "$@"; }
PIDS=()
trap 'for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done; wait 2>/dev/null; rm -rf "$T"' EXIT

expect_ok "CA" "$ONECERT" ca init --dir "$D" --algo ec --base-url "http://127.0.0.1:$PORT"
expect_ok "TLS certificate for the hall" "$ONECERT" ca issue-tls --dir "$D" --name 127.0.0.1 \
	--out "$T/hall-tls.pem" --key-out "$T/hall-tls.key"

# ---- the USB key ----
expect_ok "token init" "$ONECERT" token init --label ACME-1 --so-pin 87654321 --pin "$PIN"
TOKEN=$(echo "$OUT" | tail -1)
[ ${#TOKEN} = 16 ] || fail "token init prints the token serial ($TOKEN)"
expect_ok "token keygen: an EC key pair on the token" "$ONECERT" token keygen --token "$TOKEN" --pin "$PIN" --algo ec --label login
KEYID=$(echo "$OUT" | tail -1)
[[ $KEYID =~ ^[0-9a-f]+$ ]] || fail "token keygen prints the key ID ($KEYID)"
expect_ok "token csr: the CSR signed on the token" "$ONECERT" token csr --token "$TOKEN" --pin "$PIN" --id "$KEYID" --out "$T/req.pem"
openssl req -in "$T/req.pem" -noout -verify 2>&1 | grep -q "verify OK" || fail "openssl: the CSR's signature verifies"
ok "openssl: the token-signed CSR verifies"
expect_ok "the CA issues for the token's key" "$ONECERT" ca issue --dir "$D" --csr "$T/req.pem" \
	--name "$NAME" --uscc "$USCC" --out "$T/issued.pem"
expect_ok "token put-cert: the certificate onto the token" "$ONECERT" token put-cert --token "$TOKEN" --pin "$PIN" \
	--cert "$T/issued.pem" --label login
OBJS=$(P11 --token-label ACME-1 --login --pin "$PIN" --list-objects 2>&1)
expect_grep "pkcs11-tool: the private key is on the token, sensitive, never extractable" \
	"Access: +sensitive, always sensitive, never extractable, local" "$(echo "$OBJS" | grep -A8 'Private Key Object; EC')"
expect_grep "pkcs11-tool: the certificate is on the token" "Certificate Object; type = X.509 cert" "$OBJS"
# as the agent will: the certificate comes off the token, not from the CA
P11 --token-label ACME-1 --read-object --type cert --id "$KEYID" -o "$T/oncard.der" >/dev/null 2>&1 ||
	fail "pkcs11-tool reads the certificate off the token"
openssl x509 -inform DER -in "$T/oncard.der" -out "$T/company.pem" || fail "the token's certificate is DER X.509"
cmp -s "$T/oncard.der" <(openssl x509 -in "$T/issued.pem" -outform DER) || fail "the token holds the issued certificate"
ok "the certificate read off the token (key id $KEYID) is the one the CA issued"
expect_grep "the certificate's key is EC P-256" "(prime256v1|P-256)" "$(openssl x509 -in "$T/company.pem" -noout -text)"

"$ONECERT" ca serve --dir "$D" --listen "127.0.0.1:$PORT" >"$T/ca.log" 2>&1 & PIDS+=($!)
expect_ok "hall init" "$ONECERT" hall init --dir "$H" --trust "$D/ca.pem" \
	--tls-cert "$T/hall-tls.pem" --tls-key "$T/hall-tls.key" --tls-listen "127.0.0.1:$HPORT"
"$ONECERT" hall serve --dir "$H" >"$T/hall.log" 2>&1 & PIDS+=($!)
URL="https://127.0.0.1:$HPORT"; C=(--cacert "$D/ca.pem")
for _ in $(seq 50); do curl -sf "${C[@]}" "$URL/healthz" >/dev/null 2>&1 &&
	curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1 && break; sleep 0.2; done
curl -sf "${C[@]}" "$URL/healthz" >/dev/null || { cat "$T/hall.log" >&2; fail "hall is up"; }
ok "CA service and hall are up"

# token_sign FILE OUT — the token signs FILE's bytes (ECDSA, SHA-256); OUT is raw r||s
token_sign() {
	if P11 --token-label ACME-1 --login --pin "$PIN" --sign --id "$KEYID" --mechanism ECDSA-SHA256 \
		-i "$1" -o "$2" >"$T/p11.log" 2>&1; then
		MECH=ECDSA-SHA256
		return 0
	fi
	grep -q CKR_MECHANISM_INVALID "$T/p11.log" || { cat "$T/p11.log" >&2; return 1; }
	openssl dgst -sha256 -binary -out "$1.sha256" "$1" &&
	P11 --token-label ACME-1 --login --pin "$PIN" --sign --id "$KEYID" --mechanism ECDSA \
		-i "$1.sha256" -o "$2" >"$T/p11.log" 2>&1 || { cat "$T/p11.log" >&2; return 1; }
	MECH="ECDSA over a SHA-256 digest (the module has no ECDSA-SHA256)"
}
# raw r||s (PKCS#11) -> DER ECDSA-Sig-Value, base64
der_b64() {
	python3 - "$1" <<'EOF'
import base64, sys
raw = open(sys.argv[1], 'rb').read()
assert len(raw) == 64, len(raw)
def integer(b):
    b = b.lstrip(b'\0') or b'\0'
    if b[0] & 0x80:
        b = b'\0' + b
    return b'\x02' + bytes([len(b)]) + b
body = integer(raw[:32]) + integer(raw[32:])
print(base64.b64encode(b'\x30' + bytes([len(body)]) + body).decode())
EOF
}
login_body() { # cert sig challenge
	python3 -c 'import json,sys;print(json.dumps({"certificate":open(sys.argv[1]).read(),"signature":sys.argv[2],"challenge":sys.argv[3]}))' "$@"
}

CH=$(curl -s "${C[@]}" -X POST "$URL/api/v1/login/challenge" | sed -nE 's/.*"challenge":"([^"]+)".*/\1/p')
[ -n "$CH" ] || fail "a challenge"
ok "the hall gives a challenge"
printf %s "$CH" > "$T/challenge"
token_sign "$T/challenge" "$T/sig.raw" || fail "the token signs the challenge through PKCS#11"
[ "$(stat -c %s "$T/sig.raw")" = 64 ] || fail "PKCS#11 gives a raw 64-byte r||s signature"
ok "the token signed the challenge through PKCS#11 ($MECH): 64 bytes r||s"
SIG=$(der_b64 "$T/sig.raw") || fail "r||s converts to DER"
printf %s "$SIG" | base64 -d > "$T/sig.der"
openssl x509 -in "$T/company.pem" -noout -pubkey > "$T/pub.pem"
openssl dgst -sha256 -verify "$T/pub.pem" -signature "$T/sig.der" "$T/challenge" >/dev/null 2>&1 ||
	fail "openssl verifies the token's signature (DER) with the certificate's key"
ok "openssl verifies the token's signature, converted to DER, with the certificate's key"
R=$(curl -s -w '\n%{http_code}' "${C[@]}" -c "$T/jar" -H 'Content-Type: application/json' \
	-d "$(login_body "$T/company.pem" "$SIG" "$CH")" "$URL/api/v1/login")
expect_grep "signed-challenge login with the token's key → 200" "^200$" "$R"
ME=$(curl -s "${C[@]}" -b "$T/jar" "$URL/api/v1/me")
expect_grep "me: 企业名称" "\"company_name\":\"$NAME\"" "$ME"
expect_grep "me: 证书序列号 of the certificate on the token" "\"serial\":\"$(serial_of "$T/company.pem")\"" "$ME"
R=$(curl -s -w '\n%{http_code}' "${C[@]}" -H 'Content-Type: application/json' \
	-d "$(login_body "$T/company.pem" "$SIG" "$CH")" "$URL/api/v1/login")
expect_grep "the same token signature again (replay) → 403" "^403$" "$R"

# the token signs only with the right PIN: a wrong PIN leaves nothing to send
openssl dgst -sha256 -binary -out "$T/any.sha256" "$T/challenge"
P11 --token-label ACME-1 --login --pin 000000 --sign --id "$KEYID" --mechanism ECDSA \
	-i "$T/any.sha256" -o "$T/nopin.sig" >/dev/null 2>&1 && fail "the token signed with a wrong PIN"
ok "the token refuses to sign with a wrong PIN"
done_tests
