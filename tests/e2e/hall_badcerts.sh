#!/bin/bash
# hall_badcerts.sh — certificates the hall must turn away (SPEC §4.1, §7),
# each logging in for real over TLS against a real CA service: expired, not
# yet valid, the wrong extended key usage, no digitalSignature key usage, a
# CA certificate, an organization code / USCC failing its check digit, a
# personal certificate used to log in as a company.  Each gets 403 with a
# Chinese message, and the hall stores nothing for it (no account, no
# company, no session: sqlite3 on hall.db is the judge).
#
# Our CA never issues such certificates, so a second CA made with
# `onecert ca init --dev-file-keys` (its issuing key a PEM file in
# DIR/private/issuing.key, src/ca/keys.c) signs them with `openssl ca`, and
# the hall trusts that CA too.  A certificate crafted the same way with
# nothing wrong in it logs in first, so every refusal below is the defect's
# doing and not the crafting's.  The crafted certificates carry only a CRL
# distribution point (that CA's service knows nothing of them, so OCSP
# would answer "unknown"); the hall falls back to the CRL.
. "$(dirname "$0")/lib/common.sh"
D="$T/ca"; D2="$T/dev"; H="$T/hall"; O="$T/oca"
reserve_ports; PORT2=$((PORT + 1)); HPORT=$((PORT + 2))
NAME="上海浦江建筑工程有限公司"; USCC=91310115MA1FL8XY7N   # RECIPES.md's vector, embedded code MA1FL8XY7
PIDS=()
trap 'for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done; wait 2>/dev/null; rm -rf "$T"' EXIT

expect_ok "CA (keys on SoftHSM2)" "$ONECERT" ca init --dir "$D" --algo ec --base-url "http://127.0.0.1:$PORT"
expect_ok "a development CA with file keys" "$ONECERT" ca init --dir "$D2" --algo ec --name "onecert Dev CA" \
	--dev-file-keys --base-url "http://127.0.0.1:$PORT2"
[ -s "$D2/private/issuing.key" ] || fail "the dev CA's issuing key is a file"
ok "the dev CA's issuing key is a PEM file openssl can sign with"
new_csr ec "$T/staff.key" "$T/staff.csr"
expect_ok "a personal certificate (our CA)" "$ONECERT" ca issue --dir "$D" --profile personal --csr "$T/staff.csr" \
	--name 赵个人 --id-number 110101199003074514 --out "$T/staff.pem"
new_csr ec "$T/devco.key" "$T/devco.csr"
expect_ok "a company certificate from the dev CA (onecert ca issue)" "$ONECERT" ca issue --dir "$D2" \
	--csr "$T/devco.csr" --name "$NAME" --uscc "$USCC" --out "$T/devco.pem"
CRL=$(openssl x509 -in "$T/devco.pem" -noout -ext crlDistributionPoints | sed -n 's/.*URI://p' | tr -d ' ')
[ -n "$CRL" ] || fail "the dev CA names a CRL"
expect_ok "TLS certificate for the hall" "$ONECERT" ca issue-tls --dir "$D" --name 127.0.0.1 \
	--out "$T/hall-tls.pem" --key-out "$T/hall-tls.key"

# ---- openssl ca with the dev CA's key ----
mkdir -p "$O/new"; : > "$O/index.txt"
cat > "$O/ca.cnf" <<EOF
[ca]
default_ca = dev
[dev]
database = $O/index.txt
new_certs_dir = $O/new
rand_serial = yes
certificate = $D2/issuing.pem
private_key = $D2/private/issuing.key
default_md = sha256
policy = any
unique_subject = no
email_in_dn = no
copy_extensions = none
[any]
countryName = optional
organizationName = optional
commonName = supplied
[ee]
basicConstraints = critical,CA:FALSE
keyUsage = critical,\$ENV::KU
extendedKeyUsage = \$ENV::EKU
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
crlDistributionPoints = URI:$CRL
certificatePolicies = 2.25.308479664714775115828738983118767978588.2.1
1.2.156.10260.4.1.4 = ASN1:PRINTABLESTRING:\$ENV::ORG
2.25.308479664714775115828738983118767978588.1 = ASN1:PRINTABLESTRING:\$ENV::CUID
EOF
NB_CA=$(openssl x509 -in "$D2/issuing.pem" -noout -startdate | cut -d= -f2)
ts() { date -u -d "$1" +%Y%m%d%H%M%SZ; }
N_UID=0
# craft FILE [ORG] [EKU] [KU] [START] [END] — a company certificate of the dev CA
craft() {
	N_UID=$((N_UID + 1))
	new_csr ec "$T/$1.key" "$T/$1.csr"
	ORG=${2:-$USCC} EKU=${3:-clientAuth,emailProtection} KU=${4:-digitalSignature,nonRepudiation} \
	CUID=$(printf 'OC%sBADCERT%03d' "$(date -u +%Y%m%d)" "$N_UID") \
	openssl ca -batch -config "$O/ca.cnf" -extensions ee -notext -utf8 -preserveDN \
		-subj "/C=CN/O=$NAME/CN=$NAME" -in "$T/$1.csr" -out "$T/$1.pem" \
		-startdate "${5:-$(ts '-1 minute')}" -enddate "${6:-$(ts '+30 days')}" >"$O/$1.log" 2>&1 ||
		{ cat "$O/$1.log" >&2; fail "openssl ca signs $1"; }
}
craft good
openssl verify -CAfile "$D2/ca.pem" "$T/good.pem" >/dev/null 2>&1 || fail "openssl verify accepts the crafted control"
ok "openssl verify accepts the crafted control certificate"
# expired: valid for 30 seconds just after the dev CA's own notBefore (set a
# minute back at ca init), so it is over now but inside the CA's lifetime —
# the chain still verifies at its notAfter and the refusal is for expiry
craft expired "" "" "" "$(ts "$NB_CA")" "$(ts "$NB_CA + 30 seconds")"
craft notyet "" "" "" "$(ts '+1 day')" "$(ts '+30 days')"
craft server_eku "" serverAuth
craft no_ds "" "" keyEncipherment
craft uscc_ck 91310115MA1FL8XY7M         # USCC check character wrong (N is right)
craft org_in_uscc 91310115MA1FL8XY8R     # USCC check right, embedded code MA1FL8XY8 wrong (7 is right)
craft org_ck MA1FL8XY8                   # 9-character organization code, check digit wrong
openssl x509 -in "$T/expired.pem" -noout -checkend 0 >/dev/null 2>&1 && fail "the expired certificate has expired"
ok "openssl: the expired certificate has expired"
openssl verify -CAfile "$D2/ca.pem" "$T/notyet.pem" 2>&1 | grep -q "not yet valid" || fail "openssl: the not-yet-valid certificate is not yet valid"
ok "openssl: the not-yet-valid certificate is not yet valid"
openssl x509 -in "$T/server_eku.pem" -noout -ext extendedKeyUsage | grep -q "TLS Web Server Authentication" || fail "serverAuth EKU"
openssl x509 -in "$T/server_eku.pem" -noout -ext extendedKeyUsage | grep -q "Client" && fail "no clientAuth in the serverAuth certificate"
ok "openssl: the wrong-EKU certificate is serverAuth only"
cp "$D2/issuing.pem" "$T/ca_cert.pem"; cp "$D2/private/issuing.key" "$T/ca_cert.key"

"$ONECERT" ca serve --dir "$D" --listen "127.0.0.1:$PORT" >"$T/ca.log" 2>&1 & PIDS+=($!)
"$ONECERT" ca serve --dir "$D2" --listen "127.0.0.1:$PORT2" >"$T/ca2.log" 2>&1 & PIDS+=($!)
expect_ok "hall init trusting both CAs" "$ONECERT" hall init --dir "$H" --trust "$D/ca.pem,$D2/ca.pem" \
	--tls-cert "$T/hall-tls.pem" --tls-key "$T/hall-tls.key" --tls-listen "127.0.0.1:$HPORT"
"$ONECERT" hall serve --dir "$H" >"$T/hall.log" 2>&1 & PIDS+=($!)
URL="https://127.0.0.1:$HPORT"; C=(--cacert "$D/ca.pem")
for _ in $(seq 50); do curl -sf "${C[@]}" "$URL/healthz" >/dev/null 2>&1 &&
	curl -sf "http://127.0.0.1:$PORT2/healthz" >/dev/null 2>&1 &&
	curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1 && break; sleep 0.2; done
curl -sf "${C[@]}" "$URL/healthz" >/dev/null || { cat "$T/hall.log" >&2; fail "hall is up"; }
ok "both CA services and the hall are up"

login() { curl -s -w '\n%{http_code}' "${C[@]}" -c "$T/jar.$1" --cert "$T/$1.pem" --key "$T/$1.key" -X POST "$URL/api/v1/login/tls" | tr -d '\n'; }
q() { sqlite3 "$H/hall.db" "$1"; }
R=$(login devco)
expect_grep "control: the dev CA's own company certificate logs in (the hall trusts that CA)" "200$" "$R"
R=$(login good)
expect_grep "control: the crafted certificate with nothing wrong logs in (revocation by CRL)" "200$" "$R"
[ "$(q "SELECT count(*) FROM accounts WHERE serial = '$(serial_of "$T/good.pem")'")" = 1 ] ||
	fail "a successful login stores its account"
ok "control: a successful login stores an account row (so 'no row' below means something)"
ACC0=$(q "SELECT count(*) FROM accounts"); COMP0=$(q "SELECT count(*) FROM companies")
SESS0=$(q "SELECT count(*) FROM sessions")

# refused WHO DESC PATTERN [noaudit] — 403, a message matching PATTERN,
# nothing stored, and (unless noaudit) a login.refused audit row
refused() {
	local s
	s=$(serial_of "$T/$1.pem")
	expect_grep "$2 → 403: $3" "\"code\":\"forbidden\".*$3.*403$" "$(login "$1")"
	[ "$(q "SELECT count(*) FROM accounts WHERE serial = '$s'") $(q "SELECT count(*) FROM sessions WHERE serial = '$s'")" = "0 0" ] ||
		fail "$2: no account and no session stored"
	grep -q oc_session "$T/jar.$1" && fail "$2: no session cookie"
	if [ "${4:-}" = noaudit ]; then
		ok "$2: no account, no session, no cookie"
		return
	fi
	[ "$(q "SELECT count(*) FROM audit WHERE action = 'login.refused' AND actor = '$s'")" -ge 1 ] ||
		fail "$2: the refusal is audit-logged"
	ok "$2: no account, no session, no cookie; the refusal is in the audit log"
}
refused expired "an expired certificate" "证书已过期（有效期至"
refused notyet "a certificate not yet valid" "证书尚未生效（生效时间"
refused server_eku "a serverAuth-only certificate" "证书用途不符.*扩展密钥用法不含 clientAuth（客户端身份验证）"
refused no_ds "a certificate without digitalSignature" "证书用途不符.*密钥用法不含数字签名"
refused ca_cert "a CA certificate" "CA 证书不能用于登录"
refused uscc_ck "a USCC with a wrong check character" "证书中的机构代码 91310115MA1FL8XY7M 无效：统一社会信用代码校验位错误"
refused org_in_uscc "a USCC whose embedded organization code fails its check digit" "证书中的机构代码 91310115MA1FL8XY8R 无效：.*组织机构代码校验位错误"
refused org_ck "a 9-character organization code with a wrong check digit" "证书中的机构代码 MA1FL8XY8 无效：组织机构代码校验位错误"
# a personal certificate has no organization code: the hall takes it for a
# staff certificate, and without a granted role it is not let in; the
# refusal is audit-logged like the others
refused staff "a personal certificate used to log in as a company" "个人证书未被授予工作人员角色"
[ "$(q "SELECT object FROM audit WHERE action = 'login.refused' AND actor = '$(serial_of "$T/staff.pem")'")" = no_staff_role ] ||
	fail "the staff refusal's audit row names its reason"
ok "the staff refusal's audit row names its reason (no_staff_role)"

# the signed-challenge path runs the same check
CH=$(curl -s "${C[@]}" -X POST "$URL/api/v1/login/challenge" | sed -nE 's/.*"challenge":"([^"]+)".*/\1/p')
SIG=$(printf %s "$CH" | openssl dgst -sha256 -sign "$T/expired.key" | base64 -w0)
BODY=$(python3 -c 'import json,sys;print(json.dumps({"certificate":open(sys.argv[1]).read(),"signature":sys.argv[2],"challenge":sys.argv[3]}))' "$T/expired.pem" "$SIG" "$CH")
R=$(curl -s -w '\n%{http_code}' "${C[@]}" -H 'Content-Type: application/json' -d "$BODY" "$URL/api/v1/login" | tr -d '\n')
expect_grep "an expired certificate by signed challenge → 403 as well" "证书已过期.*403$" "$R"

[ "$(q "SELECT count(*) FROM accounts") $(q "SELECT count(*) FROM companies") $(q "SELECT count(*) FROM sessions")" = "$ACC0 $COMP0 $SESS0" ] ||
	fail "no account, company or session appeared after the refusals"
ok "hall.db: no account, company or session appeared after the refusals ($ACC0 accounts, $COMP0 companies)"
[ "$(q "SELECT count(*) FROM companies WHERE org_code LIKE '%MA1FL8XY8%'")" = 0 ] || fail "no company for the bad codes"
ok "hall.db: no company for the invalid organization codes"
done_tests
