#!/bin/bash
# ca_token.sh — 申领 onto a USB key (a SoftHSM2 token) end to end, judged by
# pkcs11-tool and openssl: the key pair is generated on the token and never
# leaves it, the CSR is signed on it, the certificate is written to it, the
# SO PIN is escrowed encrypted at the CA; then unlock (PIN reset with the
# escrowed SO PIN), renew on the same medium, reissue on a new medium.
. "$(dirname "$0")/lib/common.sh"
usb_softhsm
D="$T/ca"
NAME="上海浦江建筑工程有限公司"
USCC=91310115MA1FL8XY7N
P11() { pkcs11-tool --module "$SOFTHSM_MODULE" "$@"; }

expect_ok "ca init (ec)" "$ONECERT" ca init --dir "$D" --algo ec
expect_ok "enroll" "$ONECERT" ca enroll --dir "$D" --name "$NAME" --uscc "$USCC" --json
EID=$(echo "$OUT" | sed -nE 's/.*"enrollment": *([0-9]+).*/\1/p')
expect_fail "issue-token for a pending enrollment is refused" "not approved" \
	"$ONECERT" ca issue-token --dir "$D" --enrollment "$EID" --label ACME-1 --pin 123456
[ -z "$(ls -A "$T/usb/tokens")" ] || fail "a refused issue-token initialized no token"
ok "the refused request touched no token"
expect_ok "approve" "$ONECERT" ca approve --dir "$D" --enrollment "$EID"
expect_ok "ca issue-token onto a fresh USB key" \
	"$ONECERT" ca issue-token --dir "$D" --enrollment "$EID" --label ACME-1 --pin 123456 --out "$T/c1.pem" --json
MEDIUM=$(echo "$OUT" | sed -nE 's/.*"medium": *"([0-9a-f]+)".*/\1/p')
S1=$(serial_of "$T/c1.pem")
[ ${#MEDIUM} = 16 ] || fail "the medium serial is the token serial ($MEDIUM)"
ok "medium serial (介质号) $MEDIUM"

SLOTS=$(P11 --list-slots 2>&1)
expect_grep "pkcs11-tool sees the token by its label" "token label +: ACME-1" "$SLOTS"
expect_grep "pkcs11-tool shows the same serial" "serial num +: $MEDIUM" "$SLOTS"
OBJS=$(P11 --token-label ACME-1 --login --pin 123456 --list-objects 2>&1)
expect_grep "pkcs11-tool: an EC private key on the token" "Private Key Object; EC" "$OBJS"
expect_grep "pkcs11-tool: the private key is sensitive and never extractable" \
	"Access: +sensitive, always sensitive, never extractable, local" "$OBJS"
echo "$OBJS" | grep -A8 "Private Key Object" | grep -Eq "Access:.*(^|, )extractable" && fail "extractable private key"
expect_grep "pkcs11-tool: the certificate is on the token" "Certificate Object; type = X.509 cert" "$OBJS"
KEYID=$(echo "$OBJS" | grep -A4 "Certificate Object" | sed -nE 's/.*ID: +([0-9a-f]+).*/\1/p' | head -1)
P11 --token-label ACME-1 --read-object --type cert --id "$KEYID" -o "$T/oncard.der" >/dev/null 2>&1 ||
	fail "pkcs11-tool reads the certificate back"
cmp -s "$T/oncard.der" <(openssl x509 -in "$T/c1.pem" -outform DER) || fail "certificate on the token = the issued one"
ok "the certificate on the token is the one the CA issued (key id $KEYID)"
# pkcs11-tool refuses to read private keys in general, so this only shows
# that nothing comes out; the attribute check above is the real proof.
P11 --token-label ACME-1 --login --pin 123456 --read-object --type privkey --id "$KEYID" -o "$T/stolen" >/dev/null 2>&1
[ -s "$T/stolen" ] && fail "the private key could be read out"
ok "no private key material can be read off the token"
# the certificate's key is the token's key: sign with the token, verify with the certificate
echo "登录挑战 challenge" > "$T/msg"
openssl dgst -sha256 -binary -out "$T/msg.h" "$T/msg"
P11 --token-label ACME-1 --login --pin 123456 --sign --id "$KEYID" -m ECDSA \
	--signature-format openssl -i "$T/msg.h" -o "$T/msg.sig" >/dev/null 2>&1 || fail "pkcs11-tool signs on the token"
openssl x509 -in "$T/c1.pem" -noout -pubkey > "$T/pub.pem"
expect_ok "a token signature verifies with the certificate's public key" \
	openssl pkeyutl -verify -pubin -inkey "$T/pub.pem" -in "$T/msg.h" -sigfile "$T/msg.sig"
expect_ok "openssl verify accepts the certificate" openssl verify -CAfile "$D/ca.pem" "$T/c1.pem"
expect_ok "ca query --medium" "$ONECERT" ca query --dir "$D" --medium "$MEDIUM" --json
expect_grep "query by medium finds the certificate" "\"serial\": \"$S1\"" "$OUT"
LEN=$(sqlite3 "$D/ca.db" "SELECT length(escrow) FROM media WHERE serial = '$MEDIUM'")
[ "$LEN" -ge 28 ] || fail "an encrypted SO PIN is escrowed (length $LEN)"
ok "the SO PIN is escrowed encrypted ($LEN bytes: IV, ciphertext, tag)"

# 解锁: the holder forgot the PIN; the CA resets it with the escrowed SO PIN
expect_ok "ca unlock resets the user PIN" "$ONECERT" ca unlock --dir "$D" --token "$MEDIUM" --new-pin 654321
P11 --token-label ACME-1 --login --pin 654321 --list-objects >/dev/null 2>&1 || fail "new PIN works"
ok "pkcs11-tool logs in with the new PIN"
P11 --token-label ACME-1 --login --pin 123456 --list-objects >/dev/null 2>&1 && fail "old PIN still works"
ok "the old PIN no longer works"
expect_ok "audit" "$ONECERT" ca audit --dir "$D" --json
expect_grep "the escrow read is audit-logged" '"action": "medium.escrow_read"' "$OUT"
expect_fail "unlock of an unregistered token is refused" "not registered|未登记|no .*token|not found" \
	"$ONECERT" ca unlock --dir "$D" --token 0000000000000000 --new-pin 111111

# token CLI: change the PIN
expect_ok "onecert token change-pin" "$ONECERT" token change-pin --token "$MEDIUM" --pin 654321 --new-pin 777777
expect_fail "a wrong PIN is refused in Chinese and English" "PIN 错误|wrong PIN" \
	"$ONECERT" token objects --token "$MEDIUM" --pin 000000

# 更新 on the same medium
expect_ok "ca renew: new key on the same USB key" \
	"$ONECERT" ca renew --dir "$D" --serial "$S1" --pin 777777 --out "$T/c2.pem" --json
expect_grep "renewal stays on the medium" "\"medium\": \"$MEDIUM\"" "$OUT"
S2=$(serial_of "$T/c2.pem")
N=$(P11 --token-label ACME-1 --login --pin 777777 --list-objects 2>&1 | grep -c "Certificate Object")
[ "$N" = 2 ] || fail "the token holds the old and the renewed certificate ($N)"
ok "the token holds the old and the renewed certificate"

# 补办 on a new medium: the old one is lost
expect_ok "ca reissue onto a new USB key" \
	"$ONECERT" ca reissue --dir "$D" --serial "$S2" --label ACME-2 --pin 222222 --out "$T/c3.pem" --json
M2=$(echo "$OUT" | sed -nE 's/.*"medium": *"([0-9a-f]+)".*/\1/p')
[ -n "$M2" ] && [ "$M2" != "$MEDIUM" ] || fail "reissue used a new medium ($M2)"
ok "reissued on medium $M2"
expect_ok "query the lost certificate" "$ONECERT" ca query --dir "$D" --serial "$S2" --json
expect_grep "the lost medium's certificate is revoked (keyCompromise)" '"reason": "keyCompromise"' "$OUT"
[ "$(sqlite3 "$D/ca.db" "SELECT status FROM media WHERE serial = '$MEDIUM'")" = lost ] || fail "old medium marked lost"
ok "the old medium is marked lost"
expect_ok "openssl verify accepts the reissued certificate" openssl verify -CAfile "$D/ca.pem" "$T/c3.pem"
expect_ok "token list" "$ONECERT" token list --json
expect_grep "token list shows both USB keys" "ACME-2" "$OUT"

# an RSA hierarchy on a token too
D2="$T/rsa"
expect_ok "ca init (rsa)" "$ONECERT" ca init --dir "$D2" --algo rsa
expect_ok "enroll (rsa)" "$ONECERT" ca enroll --dir "$D2" --name "$NAME" --uscc "$USCC" --json
E2=$(echo "$OUT" | sed -nE 's/.*"enrollment": *([0-9]+).*/\1/p')
"$ONECERT" ca approve --dir "$D2" --enrollment "$E2" >/dev/null
expect_ok "ca issue-token with an RSA key on the token" \
	"$ONECERT" ca issue-token --dir "$D2" --enrollment "$E2" --label RSA-1 --pin 123456 --out "$T/r1.pem"
expect_ok "openssl verify (rsa)" openssl verify -CAfile "$D2/ca.pem" "$T/r1.pem"
expect_grep "pkcs11-tool: RSA private key on the token" "Private Key Object; RSA" \
	"$(P11 --token-label RSA-1 --login --pin 123456 --list-objects 2>&1)"

# SM2 cannot live on SoftHSM2: a clear refusal, nothing issued
D3="$T/sm2"
expect_ok "ca init (sm2)" "$ONECERT" ca init --dir "$D3" --algo sm2
expect_ok "enroll (sm2)" "$ONECERT" ca enroll --dir "$D3" --name "$NAME" --uscc "$USCC" --json
E3=$(echo "$OUT" | sed -nE 's/.*"enrollment": *([0-9]+).*/\1/p')
"$ONECERT" ca approve --dir "$D3" --enrollment "$E3" >/dev/null
expect_fail "issue-token with SM2 on SoftHSM2 is refused clearly" "SM2" \
	"$ONECERT" ca issue-token --dir "$D3" --enrollment "$E3" --label SM2-1 --pin 123456
"$ONECERT" token list --json | grep -q SM2-1 && fail "the refused SM2 request initialized a token"
ok "the refused SM2 request initialized no token"
done_tests
