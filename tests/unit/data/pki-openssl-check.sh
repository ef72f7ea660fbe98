#!/usr/bin/env bash
# pki-openssl-check.sh — the real `openssl` command as an independent judge
# of what src/pki issues.  Run by hand (it is not a ctest):
#
#   ONECERT_PKI_EXPORT=/tmp/pki ./build/test_pki_issue
#   tests/unit/data/pki-openssl-check.sh /tmp/pki
#
# EC and RSA: `openssl verify` accepts every chain, with the right purpose,
# and with -crl_check refuses the revoked enterprise certificate.  SM2:
# `openssl verify` cannot verify SM2 chains in OpenSSL 3.0 (RECIPES.md), so
# each signature is checked the RECIPES way — TBS bytes and signature cut
# out of the DER, `openssl pkeyutl -verify -rawin -digest sm3 -pkeyopt
# distid:1234567812345678` — for certificates and the CRL.  For all three:
# `openssl asn1parse` shows the GM/T 0015 and unique-ID extensions with
# PrintableString values and the IdentityCode as [0] EXPLICIT.
set -euo pipefail

dir=${1:?usage: pki-openssl-check.sh EXPORT_DIR}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fails=0
ok()   { printf 'ok    %s\n' "$*"; }
bad()  { printf 'FAIL  %s\n' "$*"; fails=$((fails + 1)); }

expect_verify() {   # expect_verify OK|REFUSE[:text] label args...
	local want=$1 label=$2 out; shift 2
	if out=$(openssl verify "$@" 2>&1); then
		[[ $want == OK ]] && ok "$label" || bad "$label: accepted: $out"
	else
		if [[ $want == REFUSE* ]] && [[ $out == *"${want#REFUSE:}"* ]]; then
			ok "$label"
		else
			bad "$label: $out"
		fi
	fi
}

# Cut TBS (whole TLV) and signature (BIT STRING contents minus the unused-
# bits octet) out of a DER Certificate or CertificateList.
split_signed() {    # split_signed in.der tbs.der sig.der
	local in=$1 lines tbs_off tbs_hl tbs_l sig_off sig_hl sig_l
	lines=$(openssl asn1parse -inform DER -in "$in" | awk '/d=1 /')
	read -r tbs_off tbs_hl tbs_l < <(echo "$lines" | head -1 |
		sed -E 's/^ *([0-9]+):d=1 +hl= *([0-9]+) +l= *([0-9]+).*/\1 \2 \3/')
	read -r sig_off sig_hl sig_l < <(echo "$lines" | tail -1 |
		sed -E 's/^ *([0-9]+):d=1 +hl= *([0-9]+) +l= *([0-9]+).*/\1 \2 \3/')
	dd if="$in" of="$2" bs=1 skip="$tbs_off" count=$((tbs_hl + tbs_l)) status=none
	dd if="$in" of="$3" bs=1 skip=$((sig_off + sig_hl + 1)) count=$((sig_l - 1)) status=none
}

sm2_check() {       # sm2_check label file.pem issuer_pub.pem [crl]
	local label=$1 pem=$2 pub=$3 kind=${4:-x509}
	openssl "$kind" -in "$pem" -outform DER -out "$work/obj.der"
	split_signed "$work/obj.der" "$work/tbs.der" "$work/sig.der"
	if openssl pkeyutl -verify -pubin -inkey "$pub" -rawin -in "$work/tbs.der" \
		-sigfile "$work/sig.der" -digest sm3 \
		-pkeyopt distid:1234567812345678 >/dev/null 2>&1; then
		ok "$label"
	else
		bad "$label"
	fi
	# …and a flipped TBS byte must fail.
	printf '\x00' | dd of="$work/tbs.der" bs=1 seek=20 conv=notrunc status=none
	if openssl pkeyutl -verify -pubin -inkey "$pub" -rawin -in "$work/tbs.der" \
		-sigfile "$work/sig.der" -digest sm3 \
		-pkeyopt distid:1234567812345678 >/dev/null 2>&1; then
		bad "$label (tampered TBS accepted)"
	else
		ok "$label (tampered TBS refused)"
	fi
}

for a in ec rsa; do
	d=$dir/$a
	for leaf in enterprise personal ocsp tls; do
		expect_verify OK "$a: openssl verify $leaf" \
			-CAfile "$d/root.pem" -untrusted "$d/issuing.pem" "$d/$leaf.pem"
	done
	expect_verify OK "$a: enterprise for sslclient" -purpose sslclient \
		-CAfile "$d/root.pem" -untrusted "$d/issuing.pem" "$d/enterprise.pem"
	expect_verify OK "$a: tls for sslserver" -purpose sslserver \
		-CAfile "$d/root.pem" -untrusted "$d/issuing.pem" "$d/tls.pem"
	expect_verify REFUSE:"unsuitable certificate purpose" \
		"$a: enterprise refused for sslserver" -purpose sslserver \
		-CAfile "$d/root.pem" -untrusted "$d/issuing.pem" "$d/enterprise.pem"
	expect_verify REFUSE:"certificate revoked" \
		"$a: -crl_check refuses the revoked enterprise certificate" -crl_check \
		-CAfile "$d/root.pem" -untrusted "$d/issuing.pem" \
		-CRLfile "$d/issuing-crl.pem" "$d/enterprise.pem"
	expect_verify OK "$a: -crl_check accepts the personal certificate" -crl_check \
		-CAfile "$d/root.pem" -untrusted "$d/issuing.pem" \
		-CRLfile "$d/issuing-crl.pem" "$d/personal.pem"
	expect_verify OK "$a: -crl_check_all with both CRLs" -crl_check_all \
		-CAfile "$d/root.pem" -untrusted "$d/issuing.pem" \
		-CRLfile "$d/issuing-crl.pem" -CRLfile "$d/root-crl.pem" "$d/personal.pem"
	if openssl crl -in "$d/issuing-crl.pem" -CAfile "$d/issuing.pem" -noout 2>&1 |
		grep -q 'verify OK'; then
		ok "$a: openssl crl verifies the CRL signature"
	else
		bad "$a: openssl crl -CAfile"
	fi
done

d=$dir/sm2
for leaf in issuing enterprise personal ocsp tls; do
	pub=$d/issuing-pub.pem
	[[ $leaf == issuing ]] && pub=$d/root-pub.pem
	sm2_check "sm2: pkeyutl verifies $leaf" "$d/$leaf.pem" "$pub"
done
sm2_check "sm2: pkeyutl verifies root (self-signed)" "$d/root.pem" "$d/root-pub.pem"
sm2_check "sm2: pkeyutl verifies the CRL" "$d/issuing-crl.pem" "$d/issuing-pub.pem" crl

for a in ec sm2 rsa; do
	d=$dir/$a
	p=$(openssl asn1parse -in "$d/enterprise.pem")
	for oid in 1.2.156.10260.4.1.4 1.2.156.10260.4.1.3 1.2.156.10260.4.1.5 \
		1.2.156.10260.4.1.2 2.25.308479664714775115828738983118767978588.1; do
		if grep -q ":$oid\$" <<<"$p"; then ok "$a: asn1parse shows $oid"
		else bad "$a: asn1parse lacks $oid"; fi
	done
	# The org code's extnValue is a PrintableString.
	off=$(grep -A2 ':1.2.156.10260.4.1.4$' <<<"$p" | grep -m1 'OCTET STRING' |
		sed -E 's/^ *([0-9]+):.*/\1/')
	if openssl asn1parse -in "$d/enterprise.pem" -strparse "$off" |
		grep -q 'PRINTABLESTRING *:91310115MA1FL8XY7N'; then
		ok "$a: OrganizationCode is PrintableString 91310115MA1FL8XY7N"
	else
		bad "$a: OrganizationCode encoding"
	fi
	p=$(openssl asn1parse -in "$d/personal.pem")
	off=$(grep -A2 ':1.2.156.10260.4.1.1$' <<<"$p" | grep -m1 'OCTET STRING' |
		sed -E 's/^ *([0-9]+):.*/\1/')
	q=$(openssl asn1parse -in "$d/personal.pem" -strparse "$off")
	if grep -q 'cont \[ 0 \]' <<<"$q" && grep -q 'PRINTABLESTRING *:11010519491231002X' <<<"$q"; then
		ok "$a: IdentityCode is [0] EXPLICIT PrintableString"
	else
		bad "$a: IdentityCode encoding: $q"
	fi
	t=$(openssl x509 -in "$d/enterprise.pem" -noout -text -nameopt utf8,sep_comma_plus)
	for want in 'X509v3 Key Usage: critical' 'Digital Signature, Non Repudiation' \
		'X509v3 Basic Constraints: critical' 'TLS Web Client Authentication, E-mail Protection' \
		'OCSP - URI:http' 'CA Issuers - URI:http' 'URI:http://127.0.0.1:8080/crl/issuing.crl' \
		'O=上海一证通测试有限公司,CN=上海一证通测试有限公司'; do
		if grep -qF "$want" <<<"$t"; then ok "$a: x509 -text shows '$want'"
		else bad "$a: x509 -text lacks '$want'"; fi
	done
	if openssl x509 -in "$d/ocsp.pem" -noout -text | grep -q 'OCSP No Check'; then
		ok "$a: OCSP certificate has OCSP No Check"
	else
		bad "$a: OCSP No Check missing"
	fi
done

if ((fails)); then
	echo "$fails check(s) failed"
	exit 1
fi
echo "all checks passed"
