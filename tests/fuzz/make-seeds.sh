#!/bin/sh
# tests/fuzz/make-seeds.sh [ONECERT] — regenerate the seed-* files of the
# fuzz corpora (tests/fuzz/corpus/NAME/) and cert_issuers.h.
#
# Seeds are small and each says something: real CSRs and certificates
# from openssl (EC, RSA, SM2, and keys the CA refuses), certificates
# issued by onecert itself (three dev-file-key CAs: EC, SM2, RSA), a few
# certificates "issued" by those CAs with openssl and odd extensions, and
# truncated, bit-flipped and re-encoded variants; tricky JSON, INI and
# calendar files; identity numbers and serials; OCSP requests.  Files
# named regress-* (crashes the fuzzers found) and found-* (other inputs
# they found worth keeping) are never touched here.
#
# Keys are fresh on every run, so the certificates change; that is fine
# for seeds, but then cert_issuers.h (the CA certificates fuzz_cert.c
# lints against) changes with them: commit both together.  Needs openssl,
# python3 (standard library only, for DER surgery) and a built onecert.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
ONECERT=${1:-$here/../../build/onecert}
C=$here/corpus
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT

for d in csr cert json config ident calendar ocsp clientcert head hallreq static; do
	mkdir -p "$C/$d"
	rm -f "$C/$d"/seed-*
done

# DER surgery: python3 der.py OP IN OUT [ARG]
cat > "$W/der.py" <<'EOF'
import sys

def hdr(b, i):
    """(tag, header length, content length) of the TLV at b[i]."""
    t, l = b[i], b[i + 1]
    if l < 0x80:
        return t, 2, l
    n = l & 0x7f
    return t, 2 + n, int.from_bytes(b[i + 2:i + 2 + n], 'big')

def enc_len(n):
    if n < 0x80:
        return bytes([n])
    k = (n.bit_length() + 7) // 8
    return bytes([0x80 | k]) + n.to_bytes(k, 'big')

def tlv(tag, content):
    return bytes([tag]) + enc_len(len(content)) + content

def children(b, i):
    """Start offsets of the elements inside the constructed TLV at b[i]."""
    _, h, l = hdr(b, i)
    out, j = [], i + h
    while j < i + h + l:
        out.append(j)
        _, h2, l2 = hdr(b, j)
        j += h2 + l2
    return out

def whole(b, i):
    _, h, l = hdr(b, i)
    return b[i:i + h + l]

op, src, dst = sys.argv[1], sys.argv[2], sys.argv[3]
b = bytearray(open(src, 'rb').read())
if op == 'dupext':
    # Certificate: the last extension once more, signature kept (now wrong).
    cert = children(b, 0)
    tbs = children(b, cert[0])
    ext3 = [j for j in tbs if b[j] == 0xa3][0]
    exts = children(b, children(b, ext3)[0])
    seq = b''.join(whole(b, j) for j in exts) + whole(b, exts[-1])
    new3 = tlv(0xa3, tlv(0x30, seq))
    newtbs = tlv(0x30, b''.join(new3 if j == ext3 else whole(b, j) for j in tbs))
    b = tlv(0x30, newtbs + whole(b, cert[1]) + whole(b, cert[2]))
elif op == 'version':
    # Certificate: [0] EXPLICIT INTEGER version set to ARG (same length).
    tbs = children(b, children(b, 0)[0])
    b[tbs[0] + 4] = int(sys.argv[4])
elif op == 'negserial':
    # Certificate: the serial's first octet gets its top bit (negative).
    tbs = children(b, children(b, 0)[0])
    _, h, _ = hdr(b, tbs[1])
    b[tbs[1] + h] |= 0x80
elif op == 'gentime':
    # Certificate: notBefore as GeneralizedTime (RFC 5280 wants UTCTime
    # before 2050); signature kept (now wrong).
    cert = children(b, 0)
    tbs = children(b, cert[0])
    val = [j for j in tbs if b[j] == 0x30 and b[children(b, j)[0]] == 0x17][0]
    nb, na = children(b, val)
    _, h, l = hdr(b, nb)
    gt = tlv(0x18, b'20' + bytes(b[nb + h:nb + h + l]))
    newval = tlv(0x30, gt + whole(b, na))
    newtbs = tlv(0x30, b''.join(newval if j == val else whole(b, j) for j in tbs))
    b = tlv(0x30, newtbs + whole(b, cert[1]) + whole(b, cert[2]))
elif op == 'flip':
    off = int(sys.argv[4]) % len(b)
    b[off] ^= 0x01
elif op == 'indef':
    # Outer SEQUENCE with indefinite length (BER, not DER).
    _, h, l = hdr(b, 0)
    b = bytes([0x30, 0x80]) + b[h:h + l] + b'\x00\x00'
elif op == 'trail':
    b = b + b'\x00'
open(dst, 'wb').write(bytes(b))
EOF
der() { python3 "$W/der.py" "$@"; }
pem2der() { openssl "$1" -in "$2" -outform DER -out "$3"; }

# ---- CSRs ---------------------------------------------------------------
K=$W/keys
mkdir -p "$K"
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$K/ec.key" 2>/dev/null
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$K/rsa.key" 2>/dev/null
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:SM2 -out "$K/sm2.key" 2>/dev/null
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-384 -out "$K/p384.key" 2>/dev/null
openssl genpkey -algorithm ED25519 -out "$K/ed25519.key" 2>/dev/null
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:1024 -out "$K/rsa1024.key" 2>/dev/null
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 \
	-pkeyopt rsa_keygen_pubexp:3 -out "$K/rsa-e3.key" 2>/dev/null
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
	-pkeyopt ec_param_enc:explicit -out "$K/ec-explicit.key" 2>/dev/null

subj="/CN=ignored by the CA"
openssl req -new -key "$K/ec.key" -subj "$subj" -out "$C/csr/seed-ec.pem"
openssl req -new -key "$K/rsa.key" -subj "$subj" -out "$C/csr/seed-rsa.pem"
openssl req -new -key "$K/sm2.key" -sm3 -sigopt distid:1234567812345678 \
	-subj "$subj" -out "$C/csr/seed-sm2.pem"
openssl req -new -key "$K/sm2.key" -sm3 -subj "$subj" \
	-out "$C/csr/seed-sm2-default-id.pem"
openssl req -new -key "$K/p384.key" -subj "$subj" -out "$C/csr/seed-p384.pem"
openssl req -new -key "$K/ed25519.key" -subj "$subj" -out "$C/csr/seed-ed25519.pem"
openssl req -new -key "$K/rsa1024.key" -subj "$subj" -out "$C/csr/seed-rsa1024.pem"
openssl req -new -key "$K/rsa-e3.key" -subj "$subj" -out "$C/csr/seed-rsa-e3.pem"
openssl req -new -key "$K/ec-explicit.key" -subj "$subj" \
	-out "$C/csr/seed-ec-explicit-params.pem"
openssl req -new -key "$K/ec.key" -utf8 -subj "/C=CN/O=上海浦江建筑工程有限公司/CN=张三" \
	-addext "subjectAltName=DNS:example.com,email:a@example.com" \
	-addext "basicConstraints=critical,CA:TRUE" \
	-out "$C/csr/seed-ec-exts.pem"
pem2der req "$C/csr/seed-ec.pem" "$C/csr/seed-ec.der"
pem2der req "$C/csr/seed-sm2.pem" "$C/csr/seed-sm2.der"
pem2der req "$C/csr/seed-rsa.pem" "$C/csr/seed-rsa.der"
sed 's/CERTIFICATE REQUEST/NEW CERTIFICATE REQUEST/' "$C/csr/seed-ec.pem" \
	> "$C/csr/seed-ec-new-label.pem"
sed 's/CERTIFICATE REQUEST/CERTIFICATE/' "$C/csr/seed-ec.pem" \
	> "$C/csr/seed-ec-wrong-label.pem"
{ cat "$C/csr/seed-ec.pem"; echo "trailing text"; } > "$C/csr/seed-ec-trailing.pem"
{ sed -n 1p "$C/csr/seed-ec.pem"; printf 'Proc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,00112233445566778899AABBCCDDEEFF\n\n';
  sed 1d "$C/csr/seed-ec.pem"; } > "$C/csr/seed-ec-headers.pem"
printf -- '-----BEGIN CERTIFICATE REQUEST-----\n-----END CERTIFICATE REQUEST-----\n' \
	> "$C/csr/seed-empty-block.pem"
head -c 100 "$C/csr/seed-ec.der" > "$C/csr/seed-ec-truncated.der"
head -c 200 "$C/csr/seed-sm2.pem" > "$C/csr/seed-sm2-truncated.pem"
der flip "$C/csr/seed-ec.der" "$C/csr/seed-ec-sigflip.der" -3
der flip "$C/csr/seed-sm2.der" "$C/csr/seed-sm2-keyflip.der" 120
der indef "$C/csr/seed-ec.der" "$C/csr/seed-ec-indefinite.der"
der trail "$C/csr/seed-rsa.der" "$C/csr/seed-rsa-trailing.der"
# version 2 (INTEGER 1): the version octet is the 7th byte of the DER here
python3 - "$C/csr/seed-ec.der" "$C/csr/seed-ec-v2.der" <<'EOF'
import sys
b = bytearray(open(sys.argv[1], 'rb').read())
i = b.index(b'\x02\x01\x00')
b[i + 2] = 1
open(sys.argv[2], 'wb').write(b)
EOF

# ---- certificates -------------------------------------------------------
CAS=$W/cas
mkdir -p "$CAS"
for a in ec sm2 rsa; do
	"$ONECERT" ca init --dir "$CAS/$a" --algo "$a" --dev-file-keys \
		--base-url http://127.0.0.1:8080 >/dev/null
done
csr_for() { # ALGO OUT
	case $1 in
	ec) openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "$W/k.pem" -subj /CN=x -out "$2" 2>/dev/null ;;
	rsa) openssl req -new -newkey rsa:2048 -nodes -keyout "$W/k.pem" \
		-subj /CN=x -out "$2" 2>/dev/null ;;
	sm2) openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:SM2 \
		-out "$W/k.pem" 2>/dev/null &&
	     openssl req -new -key "$W/k.pem" -sm3 -sigopt distid:1234567812345678 \
		-subj /CN=x -out "$2" ;;
	esac
}
for a in ec sm2 rsa; do
	csr_for $a "$W/$a.csr"
	"$ONECERT" ca issue --dir "$CAS/$a" --csr "$W/$a.csr" \
		--name 上海浦江建筑工程有限公司 --uscc 91310115MA1FL8XY7N \
		--out "$C/cert/seed-enterprise-$a.pem" >/dev/null
done
"$ONECERT" ca issue --dir "$CAS/ec" --csr "$W/ec.csr" --profile personal \
	--name 张三 --id-number 11010519491231002X \
	--out "$C/cert/seed-personal-ec.pem" >/dev/null
"$ONECERT" ca issue --dir "$CAS/sm2" --csr "$W/sm2.csr" --profile personal \
	--name 李四 --id-number 11010519491231002X \
	--out "$C/cert/seed-personal-sm2.pem" >/dev/null
eid=$("$ONECERT" ca enroll --dir "$CAS/sm2" --name 北京测试科技有限公司 \
	--uscc 600037341 --st 北京市 --l 北京市 --ic-reg-no 110000000000001 \
	--tax-no 91110000600037341L --insurance-no 12345678 |
	sed -n 's/^enrollment \([0-9]*\) created.*/\1/p')
"$ONECERT" ca approve --dir "$CAS/sm2" --enrollment "$eid" >/dev/null
csr_for sm2 "$W/sm2b.csr"
"$ONECERT" ca issue --dir "$CAS/sm2" --enrollment "$eid" --csr "$W/sm2b.csr" \
	--out "$C/cert/seed-enterprise-sm2-all-gmt.pem" >/dev/null
cp "$CAS/ec/root.pem" "$C/cert/seed-root-ec.pem"
cp "$CAS/sm2/issuing.pem" "$C/cert/seed-issuing-sm2.pem"
cp "$CAS/rsa/ocsp.pem" "$C/cert/seed-ocsp-rsa.pem"
cp "$CAS/ec/ocsp.pem" "$C/cert/seed-ocsp-ec.pem"
pem2der x509 "$C/cert/seed-enterprise-ec.pem" "$C/cert/seed-enterprise-ec.der"
pem2der x509 "$C/cert/seed-personal-sm2.pem" "$C/cert/seed-personal-sm2.der"

# The CA certificates fuzz_cert.c lints against.
{
	cat <<'EOF'
/*
 * cert_issuers.h — the CA certificates fuzz_cert.c lints against: the
 * root and issuing CA of three onecert hierarchies (EC, SM2, RSA) made
 * with `onecert ca init --dev-file-keys` by tests/fuzz/make-seeds.sh.
 * The seed certificates in corpus/cert/ were issued by these very CAs, so
 * a mutated seed still finds its issuer and reaches every lint rule.
 * Generated; their private keys were thrown away.
 */
#ifndef ONECERT_FUZZ_CERT_ISSUERS_H
#define ONECERT_FUZZ_CERT_ISSUERS_H

static const char fuzz_cert_issuers_pem[] =
EOF
	for a in ec sm2 rsa; do
		for c in root issuing; do
			echo "	/* $a $c */"
			openssl x509 -in "$CAS/$a/$c.pem" | sed 's/^/	"/; s/$/\\n"/'
		done
	done
	printf '\t;\n\n#endif\n'
} > "$here/cert_issuers.h"

# Certificates "issued" by the EC issuing CA with openssl: the signature
# verifies, so lint gets to judge odd extensions one by one.
serial() { openssl rand -hex 16 | sed 's/^[89a-f]/7/'; }
ENT_SUBJ="/C=CN/ST=上海市/L=上海市/O=上海浦江建筑工程有限公司/CN=上海浦江建筑工程有限公司"
foreign() { # NAME EXTENSION-LINES... ($SUBJ, $SERIAL: defaults above)
	name=$1
	shift
	printf '[v3]\n' > "$W/ext.cnf"
	for l in "$@"; do printf '%s\n' "$l" >> "$W/ext.cnf"; done
	# A later key=value in [v3] replaces an earlier one (openssl would
	# add both extensions).
	awk '/^\[/ { s = $0 }
		{ l[NR] = $0; k[NR] = ""; e = index($0, "=") }
		s == "[v3]" && e > 0 { k[NR] = substr($0, 1, e - 1); last[k[NR]] = NR }
		END { for (i = 1; i <= NR; i++)
			if (k[i] == "" || last[k[i]] == i) print l[i] }' \
		"$W/ext.cnf" > "$W/ext2.cnf"
	mv "$W/ext2.cnf" "$W/ext.cnf"
	openssl req -new -key "$K/ec.key" -utf8 -subj "${SUBJ:-$ENT_SUBJ}" \
		-out "$W/f.csr"
	openssl x509 -req -in "$W/f.csr" -CA "$CAS/ec/issuing.pem" \
		-CAkey "$CAS/ec/private/issuing.key" \
		-set_serial "0x${SERIAL:-$(serial)}" \
		-days 30 -sha256 -extfile "$W/ext.cnf" -extensions v3 \
		-out "$C/cert/seed-foreign-$name.pem" 2>/dev/null
}
ARC=2.25.308479664714775115828738983118767978588
common="subjectKeyIdentifier=hash
authorityKeyIdentifier=keyid
crlDistributionPoints=URI:http://127.0.0.1:8080/crl/ec-issuing.crl
authorityInfoAccess=OCSP;URI:http://127.0.0.1:8080/ocsp"
holder="basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature,nonRepudiation
$common"
ent="$holder
extendedKeyUsage=clientAuth,emailProtection
certificatePolicies=$ARC.2.1
1.2.156.10260.4.1.4=ASN1:PRINTABLESTRING:91310115MA1FL8XY7N
$ARC.1=ASN1:PRINTABLESTRING:OC20260101ABCDEFGHJK"
tls="basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=serverAuth
certificatePolicies=$ARC.2.3
subjectAltName=DNS:ca.example,DNS:*.hall.example,IP:127.0.0.1,IP:::1
$common"
# shellcheck disable=SC2086
IFS='
'
# Each is right but for one thing (the first is right in every way).
foreign enterprise-ok $ent
foreign enterprise-eku-critical $ent "extendedKeyUsage=critical,clientAuth"
foreign enterprise-two-emails $ent "subjectAltName=email:a@b.example,email:c@d.example"
foreign enterprise-nocheck $ent "1.3.6.1.5.5.7.48.1.5=ASN1:NULL"
foreign enterprise-cdp-reasons $ent "crlDistributionPoints=cdp" "[cdp]" \
	"fullname=URI:http://127.0.0.1/x.crl" "reasons=keyCompromise"
SERIAL=01 foreign enterprise-short-serial $ent
SERIAL=7f0102030405060708090a0b0c0d0e0f1011121314 foreign enterprise-long-serial $ent
SUBJ="/C=CN/CN=张三" foreign personal-explicit-utf8 $holder \
	"extendedKeyUsage=clientAuth" "certificatePolicies=$ARC.2.2" \
	"$ARC.1=ASN1:PRINTABLESTRING:OC20260101ABCDEFGHJK" \
	"1.2.156.10260.4.1.1=DER:a0140c12313130313035313934393132333130303258"
SUBJ="/CN=ca.example" foreign tls-ok $tls
SUBJ="/CN=ca.example" foreign tls-gmt $tls \
	"1.2.156.10260.4.1.4=ASN1:PRINTABLESTRING:91310115MA1FL8XY7N"
SUBJ="/CN=ca.example" foreign tls-bad-names $tls \
	"subjectAltName=DNS:bad_name.example,DNS:-x.example,IP:1.2.3.4,email:x@y"
foreign orgcode-utf8 $ent \
	"1.2.156.10260.4.1.4=ASN1:UTF8String:91310115MA1FL8XY7N" \
	"$ARC.1=ASN1:IA5STRING:OC20260101ABCDEFGHJK"
foreign orgcode-badcheck $ent \
	"1.2.156.10260.4.1.4=ASN1:PRINTABLESTRING:91310115MA1FL8XY7A" \
	"$ARC.1=ASN1:BMPSTRING:OC2026"
foreign identity-implicit $ent \
	"1.2.156.10260.4.1.1=DER:8012313130313035313934393132333130303258" \
	"1.2.156.10260.4.1.2=DER:04083132333435363738"
foreign identity-explicit-ctrl $ent \
	"1.2.156.10260.4.1.1=DER:a0140c1231313031303531393439313233313030320a" \
	"1.2.156.10260.4.1.5=DER:a1021300" \
	"1.2.156.10260.4.1.3=DER:0404130231a0"
foreign critical-unknown $ent \
	"1.2.3.4=critical,ASN1:NULL" \
	"1.3.6.1.5.5.7.48.1.5=ASN1:UTF8String:not null" \
	"subjectAltName=DNS:*.example.com,IP:127.0.0.1,URI:http://x,email:a@b.c" \
	"crlDistributionPoints=URI:ldap://x/cn=crl,URI:http://127.0.0.1:8080/crl/ec-issuing.crl" \
	"authorityInfoAccess=OCSP;URI:ftp://x,caIssuers;URI:http://x/ca.cer,1.2.3.4;URI:http://x"
foreign aki-issuer-serial \
	"basicConstraints=critical,CA:TRUE,pathlen:3" \
	"keyUsage=keyCertSign,cRLSign,decipherOnly" \
	"extendedKeyUsage=serverAuth,OCSPSigning,clientAuth,clientAuth" \
	"authorityKeyIdentifier=keyid:always,issuer:always" \
	"certificatePolicies=2.5.29.32.0,1.2.3" \
	"subjectAltName=DNS:bad_name.example,otherName:1.2.3;UTF8:x"
unset IFS
pem2der x509 "$C/cert/seed-foreign-orgcode-utf8.pem" "$W/o.der"
der dupext "$W/o.der" "$C/cert/seed-foreign-dup-ext.der"
pem2der x509 "$C/cert/seed-enterprise-ec.pem" "$W/e.der"
der version "$W/e.der" "$C/cert/seed-enterprise-ec-v4.der" 3
der negserial "$W/e.der" "$C/cert/seed-enterprise-ec-negserial.der"
der gentime "$W/e.der" "$C/cert/seed-enterprise-ec-gentime.der"
der flip "$W/e.der" "$C/cert/seed-enterprise-ec-sigflip.der" -5
der flip "$W/e.der" "$C/cert/seed-enterprise-ec-tbsflip.der" 300
der trail "$W/e.der" "$C/cert/seed-enterprise-ec-trailing.der"
head -c 400 "$W/e.der" > "$C/cert/seed-enterprise-ec-truncated.der"
head -c 700 "$C/cert/seed-enterprise-rsa.pem" > "$C/cert/seed-enterprise-rsa-truncated.pem"

# Self-signed certificates from openssl alone.
openssl req -x509 -new -key "$K/ec.key" -subj "/CN=tls.example" -days 30 \
	-addext "subjectAltName=DNS:tls.example,IP:10.0.0.1" \
	-addext "extendedKeyUsage=serverAuth" -out "$C/cert/seed-openssl-tls-ec.pem"
openssl req -x509 -new -key "$K/sm2.key" -sm3 -sigopt distid:1234567812345678 \
	-subj "/C=CN/CN=SM2 self" -days 30 -out "$C/cert/seed-openssl-sm2.pem"
openssl req -x509 -new -key "$K/ed25519.key" -subj "/CN=ed" -days 30 \
	-out "$C/cert/seed-openssl-ed25519.pem"
openssl x509 -req -in "$C/csr/seed-rsa.pem" -key "$K/rsa.key" -days 30 \
	-out "$C/cert/seed-openssl-rsa-v1.pem" 2>/dev/null
openssl req -x509 -new -key "$K/p384.key" -subj "/C=cn/CN=p384/CN=again" \
	-days 30 -out "$C/cert/seed-openssl-p384.pem"

# ---- OCSP requests ------------------------------------------------------
# POST bodies from openssl ocsp for certificates of the CAs above, and GET
# paths (base64 of a request, plain and URL-encoded).
O=$C/ocsp
ocspreq() { # NAME ARGS...
	name=$1
	shift
	openssl ocsp -reqout "$O/seed-$name.der" "$@" >/dev/null 2>&1
}
ocspreq ec-sha1-nonce -issuer "$CAS/ec/issuing.pem" -cert "$C/cert/seed-enterprise-ec.pem"
ocspreq ec-sha256-no-nonce -issuer "$CAS/ec/issuing.pem" -sha256 -no_nonce \
	-cert "$C/cert/seed-enterprise-ec.pem"
ocspreq sm2-two-ids -issuer "$CAS/sm2/issuing.pem" -no_nonce \
	-cert "$C/cert/seed-enterprise-sm2.pem" -serial 0x01
ocspreq rsa-sha512 -issuer "$CAS/rsa/issuing.pem" -sha512 \
	-cert "$C/cert/seed-enterprise-rsa.pem"
ocspreq signed -issuer "$CAS/ec/issuing.pem" -serial 0x7F0102030405060708 \
	-signer "$CAS/ec/ocsp.pem" -signkey "$CAS/ec/private/ocsp.key"
# Hand-made at the limits: nonces of 128 and 129 octets, a bare nonce,
# two nonces, 64 and 65 CertIDs, a 65-octet hash, an MD5 CertID.
python3 - "$O" <<'PY'
import sys
d = sys.argv[1]
def L(n):
    if n < 0x80: return bytes([n])
    k = (n.bit_length() + 7) // 8
    return bytes([0x80 | k]) + n.to_bytes(k, 'big')
def T(tag, c): return bytes([tag]) + L(len(c)) + c
SHA1 = bytes.fromhex('06052b0e03021a0500')
MD5 = bytes.fromhex('06082a864886f70d02050500')
NONCE = bytes.fromhex('06092b0601050507300102')
def certid(alg=SHA1, nh=20, kh=20, serial=b'\x7f' + bytes(15)):
    return T(0x30, T(0x30, alg) + T(4, b'\x11' * nh) + T(4, b'\x22' * kh) + T(2, serial))
def req(ids, exts=()):
    body = T(0x30, b''.join(T(0x30, i) for i in ids))
    if exts:
        body += T(0xa2, T(0x30, b''.join(T(0x30, NONCE + T(4, v)) for v in exts)))
    return T(0x30, T(0x30, body))
seeds = {
    'nonce-128': req([certid()], [T(4, b'n' * 128)]),
    'nonce-129': req([certid()], [T(4, b'n' * 129)]),
    'nonce-bare': req([certid()], [b'bare nonce']),
    'nonce-twice': req([certid()], [T(4, b'a'), T(4, b'b')]),
    'ids-64': req([certid()] * 64),
    'ids-65': req([certid()] * 65),
    'hash-65': req([certid(nh=65)]),
    'md5-serial-21': req([certid(alg=MD5, serial=b'\x7f' * 21)]),
}
for k, v in seeds.items():
    open('%s/seed-%s.der' % (d, k), 'wb').write(v)
PY
ocspreq negative-serial -issuer "$CAS/ec/issuing.pem" -serial -5 -no_nonce
python3 - "$O" <<'PY'
import base64, sys, urllib.parse
d = sys.argv[1]
der = open(d + '/seed-ec-sha1-nonce.der', 'rb').read()
b = base64.b64encode(der).decode()
open(d + '/seed-get-plain.txt', 'w').write('/' + b)
open(d + '/seed-get-urlencoded.txt', 'w').write(urllib.parse.quote(b, safe=''))
open(d + '/seed-get-nopad-space.txt', 'w').write(b.rstrip('=').replace('+', ' '))
open(d + '/seed-get-junk.txt', 'w').write('//' + b[:10] + '%2' + '==x')
PY
der trail "$O/seed-ec-sha256-no-nonce.der" "$O/seed-trailing.der"
head -c 40 "$O/seed-ec-sha1-nonce.der" > "$O/seed-truncated.der"

# ---- HTTP requests and the hall's request parsers -------------------------
# Client-Cert headers (RFC 9440) with the certificates above as a proxy
# sends them, and broken ones; request heads at every refusal conn.c
# makes; Cookie headers and path tails; static paths (fuzz_static.c makes
# the root they walk).
for a in ec sm2 rsa; do
	for c in root issuing; do
		pem2der x509 "$CAS/$a/$c.pem" "$W/$a-$c.der"
	done
done
pem2der x509 "$C/cert/seed-enterprise-sm2.pem" "$W/sm2-leaf.der"
pem2der x509 "$C/cert/seed-enterprise-rsa.pem" "$W/rsa-leaf.der"
python3 - "$C" "$C/cert/seed-enterprise-ec.der" "$W/ec-issuing.der" \
	"$W/ec-root.der" "$W/sm2-leaf.der" "$W/sm2-issuing.der" "$W/sm2-root.der" \
	"$W/rsa-leaf.der" "$W/rsa-issuing.der" "$W/rsa-root.der" <<'PY'
import sys, base64
c = sys.argv[1]
d = [open(f, 'rb').read() for f in sys.argv[2:11]]
def sf(b):
    return ':' + base64.b64encode(b).decode() + ':'
def w(name, s):
    open(c + '/' + name, 'wb').write(s.encode() if isinstance(s, str) else s)
# clientcert: "Client-Cert value\nClient-Cert-Chain value"
w('clientcert/seed-ec-leaf', sf(d[0]))
w('clientcert/seed-ec-chain', sf(d[0]) + '\n' + sf(d[1]) + ', ' + sf(d[2]))
w('clientcert/seed-sm2-chain', ' ' + sf(d[3]) + ' \n' + sf(d[4]) + ',' + sf(d[5]))
w('clientcert/seed-rsa-chain', sf(d[6]) + '\t\n\t' + sf(d[7]) + ' ,\t' + sf(d[8]) + ' ')
w('clientcert/seed-chain-8', sf(d[0]) + '\n' + ', '.join([sf(d[1])] * 8))
w('clientcert/seed-chain-9', sf(d[0]) + '\n' + ', '.join([sf(d[1])] * 9))
w('clientcert/seed-chain-only', '\n' + sf(d[1]))
w('clientcert/seed-empty-chain', sf(d[3]) + '\n')
w('clientcert/seed-unpadded', sf(d[2]).rstrip(':').rstrip('=') + ':')
w('clientcert/seed-trailing-der', sf(d[0] + b'\x00'))
w('clientcert/seed-two-in-cert', sf(d[0]) + ', ' + sf(d[1]))
w('clientcert/seed-empty-member', sf(d[0]) + '\n' + sf(d[1]) + ',,' + sf(d[2]))
w('clientcert/seed-trailing-comma', sf(d[0]) + '\n' + sf(d[1]) + ',')
w('clientcert/seed-params', sf(d[0]) + ';a=1')
w('clientcert/seed-url-safe', sf(d[0]).replace('+', '-').replace('/', '_'))
w('clientcert/seed-pem', '-----BEGIN CERTIFICATE-----\n' + base64.b64encode(d[0]).decode() + '\n-----END CERTIFICATE-----\n')
w('clientcert/seed-empty-item', '::')
w('clientcert/seed-truncated', sf(d[0][:-20]))
# head: what a client sends on a new connection
H = 'Host: ca.example.cn\r\nUser-Agent: curl/8.5.0\r\nAccept: */*\r\n'
w('head/seed-get', 'GET /api/v1/certs?serial=0A1B HTTP/1.1\r\n' + H + '\r\n')
w('head/seed-post-login', 'POST /api/v1/login HTTP/1.1\r\n' + H + 'Content-Type: application/json\r\nContent-Length: 27\r\n\r\n{"certificate":"","sig":""}')
w('head/seed-post-chunked', 'POST /api/v1/enroll HTTP/1.1\r\n' + H + 'Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n')
w('head/seed-put-scan', 'PUT /api/v1/apps/12/scan HTTP/1.1\r\n' + H + 'Content-Type: image/jpeg\r\nContent-Length: 5000000\r\nConnection: keep-alive\r\n\r\n')
w('head/seed-413', 'POST /api/v1/login HTTP/1.1\r\n' + H + 'Content-Length: 70000\r\n\r\n')
w('head/seed-cl-te', 'POST /ocsp HTTP/1.1\r\n' + H + 'Content-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n')
w('head/seed-two-cl', 'POST /ocsp HTTP/1.1\r\nContent-Length: 4\r\ncontent-length:  04 \r\nContent-Length: 5\r\n\r\n')
w('head/seed-get-body', 'GET /ocsp/MEowSDBGMEQwQjAJBgUrDgMCGgUABBQ HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc')
w('head/seed-411', 'POST /api/v1/login HTTP/1.1\r\nConnection: keep-alive\r\n\r\n')
w('head/seed-absolute', 'GET https://ca.example.cn/ocsp/MEow%2Fabc HTTP/1.1\r\n\r\n')
w('head/seed-pct', 'POST /api/v1/%6Cogin HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}')
w('head/seed-pct-nul', 'POST /api/v1/login%00x HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}')
w('head/seed-leading-crlf', '\r\n\r\n\nGET /healthz HTTP/1.0\r\n\r\n')
w('head/seed-lf-only', 'DELETE /api/v1/matters/3 HTTP/1.1\nHost: x\n\n')
w('head/seed-folded', 'GET / HTTP/1.1\r\nX-A: 1\r\n  2\r\n\r\n')
w('head/seed-505', 'GET / HTTP/2.0\r\n\r\n')
w('head/seed-501', 'BREW /pot HTTP/1.1\r\n\r\n')
w('head/seed-te-gzip', 'POST /ocsp HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n')
w('head/seed-pipelined', 'GET /a HTTP/1.1\r\n\r\nGET /b HTTP/1.1\r\n\r\n')
w('head/seed-options-star', 'OPTIONS * HTTP/1.1\r\n\r\n')
w('head/seed-incomplete', 'GET /api/v1/certs HTTP/1.1\r\nHost: x\r\n\r')
w('head/seed-414', 'GET /' + 'a' * 8200 + ' HTTP/1.1\r\n\r\n')
w('head/seed-431', 'GET / HTTP/1.1\r\n' + ('X-Pad: ' + 'p' * 90 + '\r\n') * 170 + '\r\n')
w('head/seed-client-cert', 'POST /api/v1/login/tls HTTP/1.1\r\nHost: hall.example.cn\r\nClient-Cert: ' + sf(d[3]) + '\r\nClient-Cert-Chain: ' + sf(d[4]) + '\r\nContent-Length: 0\r\n\r\n')
# hallreq: a Cookie header and a path tail at once
w('hallreq/seed-cookie', 'theme=dark; oc_session=AbC123_-xyzAbC123_-xyzAbC123_-xyzAbC123_-x; a=1')
w('hallreq/seed-cookie-first-empty', 'oc_session=; oc_session=real')
w('hallreq/seed-cookie-64', 'oc_session=' + 'k' * 64)
w('hallreq/seed-cookie-65', ' ;;oc_session=' + 'k' * 65 + ';')
w('hallreq/seed-cookie-prefix', 'xoc_session=1;oc_sessionx=2; oc_session =3')
w('hallreq/seed-tail-scan', '123/scan')
w('hallreq/seed-tail-max', '8999999999999999999')
w('hallreq/seed-tail-over', '9000000000000000000/x')
w('hallreq/seed-tail-zero', '0123')
w('hallreq/seed-tail-slash', '7/')
# static: decoded URL paths (the scratch root is fuzz_static.c's)
for name, p in [('root', '/'), ('index', '/index.html'), ('css', '/css/app.css'),
                ('dir-slash', '/guides/'), ('dir', '/guides'), ('link-in', '/in.js'),
                ('link-out', '/out.txt'), ('dotfile', '/.env'), ('dotdot', '/css/../app.js'),
                ('dotdot-out', '/../secret.txt'), ('dot', '/./app.js'),
                ('empty-seg', '/css//app.css'), ('backslash', '\\..\\secret.txt'),
                ('file-slash', '/app.js/'), ('double-slash', '//etc/passwd'),
                ('relative', 'index.html'), ('nul', '/index.html\0/../secret.txt')]:
    w('static/seed-' + name, p)
PY

# ---- JSON ---------------------------------------------------------------
J=$C/json
printf '{"uscc":"91310115MA1FL8XY7N","name":"上海浦江建筑工程有限公司","mobile":"13800138000","days":365,"approve":true,"profile":"enterprise"}' > "$J/seed-enroll.json"
printf '{"csr":"-----BEGIN CERTIFICATE REQUEST-----\\nMIIB\\n-----END CERTIFICATE REQUEST-----\\n","enrollment":12}' > "$J/seed-csr.json"
printf '{"uscc":"a","uscc":"b"}' > "$J/seed-duplicate.json"
printf '{"name":"a\\u0000b"}' > "$J/seed-nul-escape.json"
printf '{"name":"\\ud800","x":"\\ud83d\\ude00","\\u4f01\\u4e1a":"\\u4f01"}' > "$J/seed-surrogates.json"
printf '{"name":"\300\257","b":"\355\240\200","c":"\364\220\200\200"}' > "$J/seed-bad-utf8.json"
printf '\357\273\277{"a":1}' > "$J/seed-bom.json"
printf '{"a":1} x' > "$J/seed-trailing.json"
printf '[1,2]' > "$J/seed-array.json"
printf '"just a string"' > "$J/seed-scalar.json"
printf 'null' > "$J/seed-null.json"
printf '  \n\t ' > "$J/seed-space.json"
printf '{"days":1e400,"n":-9223372036854775809,"m":9223372036854775807,"f":1.5,"z":-0}' > "$J/seed-numbers.json"
printf '{"uscc":null,"approve":"true","days":"365","":{"":[]}}' > "$J/seed-types.json"
python3 -c 'print("{\"a\":" + "[" * 2100 + "]" * 2100 + "}", end="")' > "$J/seed-deep.json"
python3 -c 'print("{\"name\":\"" + "企" * 700 + "\"}", end="")' > "$J/seed-long.json"
printf '{"a":"\\x"}' > "$J/seed-bad-escape.json"
printf '{"a":1,}' > "$J/seed-trailing-comma.json"

# ---- INI configuration --------------------------------------------------
I=$C/config
cat > "$I/seed-ca.ini" <<'EOF'
[ca]
algo = ec
name = onecert ECC CA
base_url = http://127.0.0.1:8080
enterprise_days = 365
personal_days = 365
crl_next_update = 1d
database = ca.db

[keys]
mode = file
wrapped = YES
EOF
printf '\357\273\277top = 1\r\n[ca]\r\nalgo = sm2\r\n' > "$I/seed-bom-crlf.ini"
python3 - "$I" <<'EOF'
import sys
d = sys.argv[1]
open(d + '/seed-line-198.ini', 'w').write('[s]\nk=' + 'v' * 196 + '\n')
open(d + '/seed-line-199.ini', 'w').write('[s]\nk=' + 'v' * 197 + '\n')
open(d + '/seed-section-49.ini', 'w').write('[' + 's' * 49 + ']\nk = v\n')
open(d + '/seed-section-50.ini', 'w').write('[' + 's' * 50 + ']\nk = v\n')
EOF
printf '[ca]\nname = a\n  continued\n' > "$I/seed-continuation.ini"
printf '[ca]\nname = a\000b\n' > "$I/seed-nul.ini"
printf '[a]\nx = 1\n[b]\ny = 2\n[a]\nx = 3\nz = 4\n[]\ntop = 5\n' > "$I/seed-duplicates.ini"
printf '# comment\n; comment\n[ca]\nname = v ; inline\nurl = v;not a comment\nk: colon\n= empty key\nnovalue\n' > "$I/seed-comments.ini"
printf '[ca]\nenterprise_days = 99999999999999999999\ncrl_next_update = 9223372036854775807d\npersonal_days = -1\nx = \t 12 \ny = 0x10\nd = 5m\ne = 5 m\n' > "$I/seed-numbers.ini"
printf '[ca\nname = x\n' > "$I/seed-unterminated.ini"
printf '[ca]]\n[ x y ]\n[=;#]\nk = "quoted"\n' > "$I/seed-odd-sections.ini"
printf '' > "$I/seed-empty.ini"

# ---- identity numbers and serials ---------------------------------------
D=$C/ident
n=0
for s in 91310115MA1FL8XY7N 91110000600037341L 91310115ma1fl8xy7n \
    91310115MA1FL8XY7A 91310115MA1FL8XI7N 9131011SMA1FL8XY7 600037341 \
    60003734-1 MA1FL8XY7 60003734X 00000000-0 13800138000 12800138000 \
    1380013800a +8613800138000 0x00 8F:4A:89:59 \
    8f4a8959cd021c459ac88a53a7a3182c 0X0 : 0x \
    00000000000000000000000000000000000000000000000001 \
    0123456789ABCDEF0123456789ABCDEF0123456789 企业代码; do
	n=$((n + 1))
	printf '%s' "$s" > "$D/seed-$(printf %02d $n)"
done
printf '91310115MA1FL8XY7N\000tail' > "$D/seed-nul"

# ---- calendar data files ------------------------------------------------
K2=$C/calendar
cp "$here/../../data/calendar/2026.txt" "$K2/seed-2026.txt"
printf '\357\273\277year 2027\r\nholiday 2027-01-01 元旦\r\n' > "$K2/seed-bom-crlf.txt"
printf 'year 2027\nholiday 2026-12-31..2027-01-30 一个月\n' > "$K2/seed-range-31.txt"
printf 'year 2027\nholiday 2027-01-01..2027-02-01 太长\n' > "$K2/seed-range-32.txt"
printf 'year 2027\nholiday 2027-02-01..2027-01-01 颠倒\n' > "$K2/seed-range-reversed.txt"
printf 'year 2027\nworkday 2027-01-04 周一\n' > "$K2/seed-workday-weekday.txt"
printf 'year 2027\nworkday 2027-01-02\nholiday 2027-01-02 重复\n' > "$K2/seed-duplicate-date.txt"
printf 'year 2027\nyear 2028\n' > "$K2/seed-year-twice.txt"
printf 'holiday 2027-01-01 元旦\n' > "$K2/seed-no-year.txt"
printf 'year 9998\nholiday 9999-12-31 末日\nworkday 9997-01-01\n' > "$K2/seed-year-9998.txt"
printf 'year 1899\n' > "$K2/seed-year-1899.txt"
printf 'year 1900\n' > "$K2/seed-year-1900.txt"
printf 'year 2027\nholiday 2027-02-29 无此日\nholiday 2028-02-29 闰日\n' > "$K2/seed-feb29.txt"
printf 'year 2027\nholiday\t2027-05-01\t劳动节\t# comment\n# only a comment\n\n' > "$K2/seed-tabs.txt"
printf 'year 2027\nholiday 2027-05-01 a\001b\n' > "$K2/seed-control.txt"
printf 'year 2027\nholiday 2027-5-01 x\nholiday 2027-05-01x y\n' > "$K2/seed-bad-dates.txt"
python3 - "$K2" <<'EOF'
import sys, datetime
d = sys.argv[1]
open(d + '/seed-name-63.txt', 'w').write('year 2027\nholiday 2027-05-01 ' + 'n' * 63 + '\n')
open(d + '/seed-name-64.txt', 'w').write('year 2027\nholiday 2027-05-01 ' + 'n' * 64 + '\n')
# 400 dated rules (the limit), then one more
lines = ['year 2027']
day = datetime.date(2026, 1, 1)
for i in range(0, 400, 20):
    lines.append('holiday %s..%s h%d' % (day, day + datetime.timedelta(19), i))
    day += datetime.timedelta(20)
open(d + '/seed-rules-400.txt', 'w').write('\n'.join(lines) + '\n')
open(d + '/seed-rules-401.txt', 'w').write('\n'.join(lines) + '\nworkday 2028-12-30\n')
EOF
: > "$K2/seed-empty.txt"

for d in csr cert json config ident calendar ocsp clientcert head hallreq static; do
	printf '%-9s %3d files %7d bytes\n' "$d" "$(ls "$C/$d" | wc -l)" \
		"$(cat "$C/$d"/* | wc -c)"
done
