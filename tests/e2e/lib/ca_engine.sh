#!/bin/bash
# ca_engine.sh ALGO — the CA engine end to end for one algorithm, judged by
# openssl: init, direct and enrollment-based issuance, the enterprise
# profile's extensions, bad input refused with nothing issued, revocation
# seen by `openssl verify -crl_check`, renew / change refusals, query, and
# the audit log's hash chain.
. "$(dirname "$0")/common.sh"
ALGO=$1
D="$T/ca"
NAME="上海一证通测试建筑有限公司"
USCC=91310115MA1FL8XY7N

expect_ok "ca init --algo $ALGO (keys on a SoftHSM2 token)" \
	"$ONECERT" ca init --dir "$D" --algo "$ALGO" --name "Test $ALGO CA" --base-url http://127.0.0.1:18080
[ -s "$D/ca.pem" ] && [ "$(grep -c 'BEGIN CERTIFICATE' "$D/ca.pem")" = 2 ] || fail "ca.pem holds issuing + root"
ok "ca.pem holds the issuing CA and the root"
expect_fail "a second ca init on the same DIR is refused" "already holds a CA" \
	"$ONECERT" ca init --dir "$D" --algo "$ALGO"
# CA keys: no private key file outside the HSM (SM2 keys only wrapped)
ls "$D/private" | grep -Eq '\.key$' && fail "a plain private key file exists in pkcs11 mode"
ok "no plain CA private key on disk"

new_csr "$ALGO" "$T/k1.pem" "$T/r1.pem" || fail "openssl made a CSR"
expect_ok "ca issue (enterprise) from an openssl CSR" \
	"$ONECERT" ca issue --dir "$D" --csr "$T/r1.pem" --name "$NAME" --uscc "$USCC" --out "$T/c1.pem"

if [ "$ALGO" = sm2 ]; then
	# OpenSSL 3.0's `openssl verify` cannot verify SM2 chains (RECIPES.md):
	# check each signature with pkeyutl + distid, then our own verifier.
	awk '/BEGIN/{n++} n==2' "$D/ca.pem" > "$T/root.pem"
	awk '/BEGIN/{n++} n==1' "$D/ca.pem" > "$T/issuing.pem"
	sm2_verify "$T/c1.pem" "$T/issuing.pem" || fail "openssl pkeyutl verifies the SM2 certificate signature"
	ok "openssl pkeyutl (SM3, distid) verifies the certificate's SM2 signature"
	sm2_verify "$T/issuing.pem" "$T/root.pem" || fail "issuing CA signature"
	ok "openssl pkeyutl verifies the issuing CA's SM2 signature"
	cp "$T/c1.pem" "$T/c1-bad.pem"
	# a certificate signed by another key must fail that same check
	sm2_verify "$T/c1.pem" "$T/root.pem" && fail "pkeyutl check accepted the wrong issuer key"
	ok "the pkeyutl check refuses the wrong issuer key"
	expect_ok "onecert ca verify (SM2-aware chain check)" "$ONECERT" ca verify --dir "$D" --cert "$T/c1.pem"
else
	expect_ok "openssl verify -CAfile accepts the chain" \
		openssl verify -CAfile "$D/ca.pem" -purpose sslclient "$T/c1.pem"
fi

TXT=$(openssl x509 -in "$T/c1.pem" -noout -text -nameopt utf8,sep_comma_plus 2>&1)
expect_grep "subject O and CN are the company name" "O ?= ?$NAME, ?CN ?= ?$NAME" "$TXT"
expect_grep "subject C=CN" "C ?= ?CN" "$TXT"
expect_grep "keyUsage critical" "X509v3 Key Usage: critical" "$TXT"
expect_grep "digitalSignature + nonRepudiation" "Digital Signature, Non Repudiation" "$TXT"
expect_grep "EKU clientAuth + emailProtection" "TLS Web Client Authentication, E-mail Protection" "$TXT"
expect_grep "basicConstraints CA:FALSE" "CA:FALSE" "$TXT"
expect_grep "CRL distribution point from --base-url" "URI:http://127.0.0.1:18080/crl/$ALGO-issuing.crl" "$TXT"
expect_grep "AIA OCSP" "OCSP - URI:http://127.0.0.1:18080/ocsp" "$TXT"
expect_grep "AIA caIssuers" "CA Issuers - URI:http://127.0.0.1:18080/ca/$ALGO-issuing.cer" "$TXT"
expect_grep "certificatePolicies" "Policy: 2.25.308479664714775115828738983118767978588.2.1" "$TXT"
if [ "$ALGO" = sm2 ]; then expect_grep "SM2-with-SM3 signature" "SM2-with-SM3" "$TXT"; fi

ASN=$(openssl asn1parse -in "$T/c1.pem" 2>&1)
expect_grep "asn1parse: GM/T 0015 OrganizationCode extension" "1.2.156.10260.4.1.4" "$ASN"
expect_grep "asn1parse: unique-ID extension under 2.25" "2.25.308479664714775115828738983118767978588.1" "$ASN"
# the extension values, parsed out of their OCTET STRINGs
OFF=$(echo "$ASN" | grep -A1 "1.2.156.10260.4.1.4" | tail -1 | cut -d: -f1 | tr -d ' ')
V=$(openssl asn1parse -in "$T/c1.pem" -strparse "$OFF" 2>&1)
expect_grep "OrganizationCode is a PrintableString holding the USCC" "PRINTABLESTRING +:$USCC" "$V"
OFF=$(echo "$ASN" | grep -A1 "308479664714775115828738983118767978588.1$" | tail -1 | cut -d: -f1 | tr -d ' ')
V=$(openssl asn1parse -in "$T/c1.pem" -strparse "$OFF" 2>&1)
expect_grep "unique ID value OCyyyymmdd…" "PRINTABLESTRING +:OC[0-9]{8}[0-9A-Z]{10}" "$V"
S1=$(serial_of "$T/c1.pem")
[ ${#S1} -ge 30 ] || fail "serial has ~128 bits (got $S1)"
ok "serial $S1 carries ~128 random bits"

# bad input: nothing issued
N0=$("$ONECERT" ca query --dir "$D" --uscc "$USCC" --json | grep -c '"serial"')
expect_fail "a wrong USCC check character is refused" "校验|check" \
	"$ONECERT" ca issue --dir "$D" --csr "$T/r1.pem" --name "$NAME" --uscc 91310115MA1FL8XY7A --out "$T/bad.pem"
sed '2s/./A/5' "$T/r1.pem" > "$T/r1-bad.pem"; sed -i '5s/[A-Za-z]/Q/3' "$T/r1-bad.pem"
expect_fail "a CSR whose signature does not verify is refused" "CSR" \
	"$ONECERT" ca issue --dir "$D" --csr "$T/r1-bad.pem" --name "$NAME" --uscc "$USCC" --out "$T/bad.pem"
echo "not a CSR" > "$T/junk.pem"
expect_fail "garbage instead of a CSR is refused" "CSR" \
	"$ONECERT" ca issue --dir "$D" --csr "$T/junk.pem" --name "$NAME" --uscc "$USCC" --out "$T/bad.pem"
OTHER=rsa; [ "$ALGO" = rsa ] && OTHER=ec
new_csr "$OTHER" "$T/k9.pem" "$T/r9.pem"
expect_fail "a key type the profile does not allow is refused" "key|密钥" \
	"$ONECERT" ca issue --dir "$D" --csr "$T/r9.pem" --name "$NAME" --uscc "$USCC" --out "$T/bad.pem"
[ ! -e "$T/bad.pem" ] || fail "no certificate file was written"
N1=$("$ONECERT" ca query --dir "$D" --uscc "$USCC" --json | grep -c '"serial"')
[ "$N0" = "$N1" ] || fail "refused requests issued nothing ($N0 -> $N1)"
ok "refused requests issued nothing"

# enrollment flow
expect_ok "ca enroll records a pending enrollment" \
	"$ONECERT" ca enroll --dir "$D" --name "$NAME" --uscc "$USCC" --legal-rep 张三 \
	--contact 李四 --phone 13816000000 --materials '["营业执照副本","法定代表人身份证","申请表"]' --json
EID=$(echo "$OUT" | sed -nE 's/.*"enrollment": *([0-9]+).*/\1/p')
new_csr "$ALGO" "$T/k2.pem" "$T/r2.pem"
expect_fail "issuing to an enrollment that was not approved is refused" "not approved" \
	"$ONECERT" ca issue --dir "$D" --enrollment "$EID" --csr "$T/r2.pem" --out "$T/c2.pem"
expect_ok "ca approve" "$ONECERT" ca approve --dir "$D" --enrollment "$EID"
expect_fail "approving twice is refused" "not pending|pending" \
	"$ONECERT" ca approve --dir "$D" --enrollment "$EID"
expect_ok "ca issue for the approved enrollment" \
	"$ONECERT" ca issue --dir "$D" --enrollment "$EID" --csr "$T/r2.pem" --out "$T/c2.pem"
expect_fail "issuing twice for one enrollment is refused" "not approved|issued" \
	"$ONECERT" ca issue --dir "$D" --enrollment "$EID" --csr "$T/r2.pem" --out "$T/c3.pem"
expect_fail "an invalid mobile at enrollment is refused" "手机|mobile" \
	"$ONECERT" ca enroll --dir "$D" --name "$NAME" --uscc "$USCC" --phone 12345678901
S2=$(serial_of "$T/c2.pem")

# renew (更新) keeps the old one valid and links them
new_csr "$ALGO" "$T/k4.pem" "$T/r4.pem"
expect_ok "ca renew with a new key" "$ONECERT" ca renew --dir "$D" --serial "$S2" --csr "$T/r4.pem" --out "$T/c4.pem"
expect_ok "query shows the link" "$ONECERT" ca query --dir "$D" --serial "$S2" --json
expect_grep "old certificate replaced_by the renewal" "\"replaced_by\": \"$(serial_of "$T/c4.pem")\"" "$OUT"
expect_fail "renewing an already renewed certificate is refused" "replaced" \
	"$ONECERT" ca renew --dir "$D" --serial "$S2" --csr "$T/r4.pem" --out "$T/c5.pem"

# change (变更): new data, old one revoked as superseded
new_csr "$ALGO" "$T/k6.pem" "$T/r6.pem"
S4=$(serial_of "$T/c4.pem")
expect_ok "ca change with a new company name" "$ONECERT" ca change --dir "$D" --serial "$S4" \
	--name "上海一证通测试建筑（集团）有限公司" --csr "$T/r6.pem" --out "$T/c6.pem"
expect_grep "changed certificate carries the new name" "集团" "$(openssl x509 -in "$T/c6.pem" -noout -subject -nameopt utf8)"
expect_ok "query the changed-from certificate" "$ONECERT" ca query --dir "$D" --serial "$S4" --json
expect_grep "old certificate revoked as superseded" '"reason": "superseded"' "$OUT"

# revoke, CRL, openssl verify -crl_check
expect_ok "ca revoke keyCompromise" "$ONECERT" ca revoke --dir "$D" --serial "$S1" --reason keyCompromise
expect_fail "revoking twice is refused" "already revoked" \
	"$ONECERT" ca revoke --dir "$D" --serial "$S1" --reason keyCompromise
expect_fail "an unknown reason is refused" "reason" \
	"$ONECERT" ca revoke --dir "$D" --serial "$S2" --reason becauseISaidSo
expect_fail "renewing a revoked certificate is refused" "revoked|吊销" \
	"$ONECERT" ca renew --dir "$D" --serial "$S1" --csr "$T/r4.pem" --out "$T/c7.pem"
expect_ok "ca crl" "$ONECERT" ca crl --dir "$D" --out "$T/crl.pem"
CRLTXT=$(openssl crl -in "$T/crl.pem" -noout -text 2>&1)
expect_grep "openssl crl lists the revoked serial" "Serial Number: $S1" "$CRLTXT"
expect_grep "with its reason" "Key Compromise" "$CRLTXT"
expect_grep "CRL has a CRL number" "X509v3 CRL Number" "$CRLTXT"
if [ "$ALGO" != sm2 ]; then
	expect_ok "openssl crl verifies the CRL signature" openssl crl -in "$T/crl.pem" -CAfile "$D/ca.pem" -noout
	expect_fail "openssl verify -crl_check: certificate revoked" "certificate revoked" \
		openssl verify -crl_check -CAfile "$D/ca.pem" -CRLfile "$T/crl.pem" "$T/c1.pem"
	expect_ok "openssl verify -crl_check accepts a live certificate" \
		openssl verify -crl_check -CAfile "$D/ca.pem" -CRLfile "$T/crl.pem" "$T/c6.pem"
	DER=$(ls "$D"/crl/"$ALGO"-issuing.crl)
	cmp -s <(openssl crl -in "$T/crl.pem" -outform DER) "$DER" || \
		[ "$(openssl crl -in "$DER" -inform DER -noout -crlnumber)" != "" ] || fail "published CRL"
	ok "the CRL is published under DIR/crl/ for the CDP URL"
else
	expect_fail "our verifier with the CRL: certificate revoked" "revoked" \
		"$ONECERT" ca verify --dir "$D" --cert "$T/c1.pem" --crl-check
	expect_ok "our verifier with the CRL accepts a live certificate" \
		"$ONECERT" ca verify --dir "$D" --cert "$T/c6.pem" --crl-check
fi

# personal certificate
new_csr "$ALGO" "$T/k8.pem" "$T/r8.pem"
expect_fail "a personal certificate with a bad identity number is refused" "身份证|identity" \
	"$ONECERT" ca issue --dir "$D" --profile personal --csr "$T/r8.pem" --name 王五 --id-number 110101199003074511 --out "$T/p.pem"
expect_ok "ca issue --profile personal" \
	"$ONECERT" ca issue --dir "$D" --profile personal --csr "$T/r8.pem" --name 王五 --id-number 110101199003074514 --out "$T/p.pem"
expect_grep "personal certificate carries the GM/T IdentityCode" "1.2.156.10260.4.1.1" "$(openssl asn1parse -in "$T/p.pem")"

# query and audit
expect_ok "ca query --uscc (human)" "$ONECERT" ca query --dir "$D" --uscc "$USCC"
expect_grep "query lists revoked ones with reason" "revoked .*keyCompromise" "$OUT"
expect_ok "ca audit --verify" "$ONECERT" ca audit --dir "$D" --verify
expect_ok "ca audit --json" "$ONECERT" ca audit --dir "$D" --json
for a in ca.init enroll.create enroll.approve cert.issue cert.revoke; do
	expect_grep "audit log has $a" "\"action\": \"$a\"" "$OUT"
done
sqlite3 "$D/ca.db" "UPDATE audit SET actor = 'mallory' WHERE id = 3" 2>/dev/null || fail "sqlite3 edit"
expect_fail "an edited audit row breaks the hash chain" "broken at row 3" \
	"$ONECERT" ca audit --dir "$D" --verify
done_tests
