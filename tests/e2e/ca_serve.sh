#!/bin/bash
# ca_serve.sh — `onecert ca serve` on loopback, judged by openssl and curl:
# OCSP (POST and GET, nonce and pre-signed, good → revoked within the
# configured interval), CRL download through the CDP URL, the caIssuers
# URL, the RA API for operators over HTTPS and its refusals, bad input,
# graceful SIGTERM, and a dead signer process stopping the service.
. "$(dirname "$0")/lib/common.sh"
D="$T/ca"
reserve_ports; TPORT=$((PORT + 1))
BASE="http://127.0.0.1:$PORT"
NAME="上海浦江建筑工程有限公司"; USCC=91310115MA1FL8XY7N

expect_ok "ca init with --base-url pointing at the service" \
	"$ONECERT" ca init --dir "$D" --algo ec --base-url "$BASE"
cat >> "$D/ca.ini" <<INI

[serve]
revocation_interval = 1
ocsp_validity = 120
ocsp_refresh_before = 60
INI

start() {
	"$ONECERT" ca serve --dir "$D" --listen "127.0.0.1:$PORT" --tls-listen "127.0.0.1:$TPORT" \
		>"$T/serve.log" 2>&1 &
	SPID=$!
	for _ in $(seq 50); do
		curl -sf "$BASE/healthz" >/dev/null 2>&1 && return 0
		sleep 0.2
	done
	cat "$T/serve.log" >&2
	fail "ca serve did not come up"
}
stop_all() { [ -n "${SPID:-}" ] && kill "$SPID" 2>/dev/null; wait 2>/dev/null; }
trap 'stop_all; rm -rf "$T"' EXIT

new_csr ec "$T/k1.pem" "$T/r1.pem"
expect_ok "issue a certificate" "$ONECERT" ca issue --dir "$D" --csr "$T/r1.pem" --name "$NAME" --uscc "$USCC" --out "$T/c1.pem"
echo "crl_refresh = 2d" >> "$D/ca.ini"
expect_fail "a CRL refresh slower than the CRL's nextUpdate is refused" "crl_refresh" \
	timeout 10 "$ONECERT" ca serve --dir "$D" --listen "127.0.0.1:$PORT"
sed -i '/^crl_refresh = 2d$/d' "$D/ca.ini"
if [ "$(id -u)" = 0 ] && id nobody >/dev/null 2>&1; then
	expect_fail "--user whose CRL folder is not writable: refused at start, not left to expire" \
		"crl is not writable by nobody" \
		timeout 10 "$ONECERT" ca serve --dir "$D" --listen "127.0.0.1:$PORT" --user nobody
fi
crlnum() { openssl crl -inform DER -in "$D/crl/ec-issuing.crl" -noout -crlnumber | sed 's/.*=//'; }
N0=$(crlnum)
start
STARTED=$(date +%s)
ok "ca serve is up (healthz)"
for _ in $(seq 25); do [ "$(crlnum)" != "$N0" ] && break; sleep 0.2; done
[ "$(crlnum)" != "$N0" ] || fail "ca serve publishes a fresh CRL at start-up (still $N0)"
ok "a fresh CRL at start-up (the one on disk may have expired while the service was down)"
expect_fail "a second ca serve on the same port says so" "in use" \
	"$ONECERT" ca serve --dir "$D" --listen "127.0.0.1:$PORT"

OCSP_URL=$(openssl x509 -in "$T/c1.pem" -noout -ocsp_uri)
[ "$OCSP_URL" = "$BASE/ocsp" ] || fail "AIA OCSP URL is the service ($OCSP_URL)"
ok "the certificate's AIA points at this service"
R=$(openssl ocsp -issuer "$D/issuing.pem" -cert "$T/c1.pem" -url "$OCSP_URL" -CAfile "$D/ca.pem" 2>&1)
expect_grep "openssl ocsp (POST, nonce): verify OK" "Response verify OK" "$R"
expect_grep "openssl ocsp: good" "c1.pem: good" "$R"
R=$(openssl ocsp -issuer "$D/issuing.pem" -cert "$T/c1.pem" -url "$OCSP_URL" -CAfile "$D/ca.pem" -no_nonce 2>&1)
expect_grep "openssl ocsp (pre-signed, no nonce): good" "c1.pem: good" "$R"
# GET (RFC 6960 A.1) with a request made by openssl
openssl ocsp -issuer "$D/issuing.pem" -cert "$T/c1.pem" -no_nonce -reqout "$T/req.der" >/dev/null 2>&1
B64=$(base64 -w0 "$T/req.der" | sed 's/+/%2B/g; s/\//%2F/g; s/=/%3D/g')
curl -sf -o "$T/resp.der" "$BASE/ocsp/$B64" || fail "GET /ocsp/{b64}"
R=$(openssl ocsp -respin "$T/resp.der" -issuer "$D/issuing.pem" -cert "$T/c1.pem" -CAfile "$D/ca.pem" -no_nonce 2>&1)
expect_grep "OCSP over GET: verify OK and good" "c1.pem: good" "$R"
H=$(curl -sI "$BASE/ocsp/$B64")
expect_grep "GET answers are cacheable until nextUpdate" "Cache-Control: max-age=[0-9]+" "$H"
R=$(openssl ocsp -respin "$T/resp.der" -resp_text -noverify 2>&1)
expect_grep "signed by the responder certificate (byKey)" "Responder Id: [0-9A-F]+" "$R"
# SHA-256 CertIDs: answered from a pre-signed response of their own, which
# holds only that CertID, as the SHA-1 one holds only the SHA-1 CertID
# (clients that expect exactly the SingleResponse they asked for break on
# more: docs/ocsp.md)
R=$(openssl ocsp -issuer "$D/issuing.pem" -sha256 -cert "$T/c1.pem" -url "$OCSP_URL" -CAfile "$D/ca.pem" -no_nonce 2>&1)
expect_grep "openssl ocsp -sha256 (pre-signed, POST): verify OK" "Response verify OK" "$R"
expect_grep "openssl ocsp -sha256 (pre-signed, POST): good" "c1.pem: good" "$R"
R=$(openssl ocsp -issuer "$D/issuing.pem" -sha256 -cert "$T/c1.pem" -url "$OCSP_URL" -CAfile "$D/ca.pem" 2>&1)
expect_grep "openssl ocsp -sha256 (nonce, signed live): good" "c1.pem: good" "$R"
openssl ocsp -issuer "$D/issuing.pem" -sha256 -cert "$T/c1.pem" -no_nonce -reqout "$T/req256.der" >/dev/null 2>&1
B64=$(base64 -w0 "$T/req256.der" | sed 's/+/%2B/g; s/\//%2F/g; s/=/%3D/g')
curl -sf -o "$T/resp256.der" "$BASE/ocsp/$B64" || fail "GET /ocsp/{b64} (SHA-256 CertID)"
R=$(openssl ocsp -respin "$T/resp256.der" -issuer "$D/issuing.pem" -sha256 -cert "$T/c1.pem" -CAfile "$D/ca.pem" -no_nonce 2>&1)
expect_grep "OCSP over GET, SHA-256 CertID: verify OK" "Response verify OK" "$R"
expect_grep "OCSP over GET, SHA-256 CertID: good" "c1.pem: good" "$R"
for h in sha1:resp.der sha256:resp256.der; do
	R=$(openssl ocsp -respin "$T/${h#*:}" -resp_text -noverify 2>&1)
	[ "$(grep -c 'Certificate ID:' <<<"$R")" = 1 ] && grep -q "Hash Algorithm: ${h%%:*}\$" <<<"$R" ||
		fail "the pre-signed response for a ${h%%:*} request holds that CertID alone: $R"
done
ok "a SHA-1 and a SHA-256 request each get a pre-signed response with their CertID alone"
# Python's cryptography as a second judge: its status accessors serve a
# response with exactly one SingleResponse (they raise ValueError on more)
if python3 -c 'import cryptography.x509.ocsp' 2>/dev/null; then
	R=$(python3 - "$T/resp.der" "$T/resp256.der" <<'PY' 2>&1
import sys
from cryptography.x509 import ocsp
for f in sys.argv[1:]:
    r = ocsp.load_der_ocsp_response(open(f, "rb").read())
    print(r.certificate_status.name, r.hash_algorithm.name)
PY
)
	expect_grep "python cryptography reads the pre-signed responses (SHA-1)" "GOOD sha1" "$R"
	expect_grep "python cryptography reads the pre-signed responses (SHA-256)" "GOOD sha256" "$R"
fi

# malformed requests get malformedRequest, and the service stays up
printf 'garbage' > "$T/bad.der"
curl -s -o "$T/mal.der" -H 'Content-Type: application/ocsp-request' --data-binary @"$T/bad.der" "$BASE/ocsp"
[ "$(xxd -p "$T/mal.der")" = "30030a0101" ] || fail "malformedRequest for garbage (got $(xxd -p "$T/mal.der"))"
ok "garbage OCSP request → malformedRequest"
curl -s -o "$T/mal2.der" "$BASE/ocsp/%%%notbase64"
[ "$(xxd -p "$T/mal2.der")" = "30030a0101" ] || fail "malformedRequest for a bad GET"
ok "bad GET → malformedRequest"
head -c 70000 /dev/urandom > "$T/big.der"
CODE=$(curl -s -o /dev/null -w '%{http_code}' -H 'Content-Type: application/ocsp-request' --data-binary @"$T/big.der" "$BASE/ocsp")
[ "$CODE" = 413 ] || fail "an oversized OCSP request is refused (got $CODE)"
ok "oversized OCSP request → 413"
curl -sf "$BASE/healthz" >/dev/null || fail "service survived bad input"
ok "the service is still up"

# CRL and caIssuers
expect_ok "openssl verify -crl_check -crl_download (live)" \
	openssl verify -crl_check -crl_download -CAfile "$D/ca.pem" "$T/c1.pem"
ISS=$(openssl x509 -in "$T/c1.pem" -noout -text | sed -nE 's/.*CA Issuers - URI:(.*)/\1/p')
curl -sf -o "$T/iss.der" "$ISS" || fail "caIssuers URL answers"
cmp -s "$T/iss.der" <(openssl x509 -in "$D/issuing.pem" -outform DER) || fail "caIssuers serves the issuing CA"
ok "caIssuers URL serves the issuing CA certificate"
CODE=$(curl -s -o /dev/null -w '%{http_code}' "$BASE/crl/..%2Fca.ini")
[ "$CODE" = 404 ] || fail "path traversal on /crl refused (got $CODE)"
ok "path traversal on /crl/ → 404"

# revocation reaches OCSP within the interval, and the CRL at once
S1=$(serial_of "$T/c1.pem")
metric() { curl -s "$BASE/metrics" | awk -v m="$1" '$1 ~ "^" m "[{ ]" { print $2; exit }'; }
P0=$(metric onecert_ocsp_presigns_total)
expect_ok "ca revoke (CLI, another process)" "$ONECERT" ca revoke --dir "$D" --serial "$S1" --reason keyCompromise
sleep 3
R=$(openssl ocsp -issuer "$D/issuing.pem" -cert "$T/c1.pem" -url "$OCSP_URL" -CAfile "$D/ca.pem" -no_nonce 2>&1)
expect_grep "openssl ocsp: revoked within the interval" "c1.pem: revoked" "$R"
expect_grep "with its reason" "Reason: keyCompromise" "$R"
R=$(openssl ocsp -issuer "$D/issuing.pem" -sha256 -cert "$T/c1.pem" -url "$OCSP_URL" -CAfile "$D/ca.pem" -no_nonce 2>&1)
expect_grep "openssl ocsp -sha256: revoked within the interval" "c1.pem: revoked" "$R"
expect_grep "openssl ocsp -sha256: with its reason" "Reason: keyCompromise" "$R"
# The refreshes read what changed: the revoked certificate's response is
# the one signed again (the others are due only 60 s after start).
P1=$(metric onecert_ocsp_presigns_total)
if [ $(($(date +%s) - STARTED)) -lt 55 ]; then
	[ "$((P1 - P0))" = 1 ] || fail "only the revoked certificate is re-signed ($P0 → $P1)"
	ok "only the revoked certificate is re-signed"
fi
expect_fail "openssl verify -crl_check -crl_download: revoked" "certificate revoked" \
	openssl verify -crl_check -crl_download -CAfile "$D/ca.pem" "$T/c1.pem"

# RA API
API="https://127.0.0.1:$TPORT/api/v1"
new_csr ec "$T/opk.pem" "$T/opr.pem"
"$ONECERT" ca issue --dir "$D" --profile personal --csr "$T/opr.pem" --name 柜员甲 \
	--id-number 110101199003074514 --out "$T/op.pem" >/dev/null || fail "operator certificate"
new_csr ec "$T/nok.pem" "$T/nor.pem"
"$ONECERT" ca issue --dir "$D" --profile personal --csr "$T/nor.pem" --name 路人乙 \
	--id-number 110101198501011239 --out "$T/nobody.pem" >/dev/null || fail "second personal certificate"
OPS=$(serial_of "$T/op.pem")
expect_ok "ca grant-operator" "$ONECERT" ca grant-operator --dir "$D" --serial "$OPS"
OP=(--cacert "$D/ca.pem" --cert "$T/op.pem" --key "$T/opk.pem")
api() { curl -s -w '\n%{http_code}' "$@"; }
R=$(api --cacert "$D/ca.pem" -d '{}' "$API/enrollments")
expect_grep "RA API without a client certificate → 401" "^401$" "$R"
R=$(api --cacert "$D/ca.pem" --cert "$T/nobody.pem" --key "$T/nok.pem" -d '{}' "$API/enrollments")
expect_grep "RA API with a non-operator certificate → 403" "^403$" "$R"
R=$(api "$BASE/api/v1/certs?uscc=$USCC")
expect_grep "RA API over plain HTTP is refused" "^403$" "$R"
R=$(api "${OP[@]}" -d '{"name":"'"$NAME"'","uscc":"91310115MA1FL8XY7A"}' "$API/enrollments")
expect_grep "a wrong USCC check digit → 400 with a Chinese message" "校验.*400$" "$(echo "$R" | tr -d '\n')"
R=$(api "${OP[@]}" -d '{"name": ' "$API/enrollments")
expect_grep "malformed JSON → 400" "^400$" "$R"
head -c 100000 /dev/zero | tr '\0' 'a' > "$T/huge.json"
R=$(api "${OP[@]}" --data-binary @"$T/huge.json" "$API/enrollments")
expect_grep "an oversized body → 413" "^413$" "$R"
R=$(api "${OP[@]}" "$API/nothing/here")
expect_grep "unknown route → 404" "^404$" "$R"
R=$(api "${OP[@]}" -d '{"name":"'"$NAME"'","uscc":"'"$USCC"'","materials":["营业执照副本","申请表"]}' "$API/enrollments")
expect_grep "enroll over the API → 201 pending" '"status":"pending".*201$' "$(echo "$R" | tr -d '\n')"
EID=$(echo "$R" | head -1 | sed -nE 's/.*"enrollment":([0-9]+).*/\1/p')
new_csr ec "$T/k2.pem" "$T/r2.pem"
CSRJ=$(python3 -c 'import json,sys;print(json.dumps({"csr":open(sys.argv[1]).read()}))' "$T/r2.pem")
R=$(api "${OP[@]}" -d "$CSRJ" "$API/enrollments/$EID/issue")
expect_grep "issuing to a pending enrollment → 409" "^409$" "$R"
R=$(api "${OP[@]}" -X POST "$API/enrollments/$EID/approve")
expect_grep "approve → 200" "^200$" "$R"
R=$(api "${OP[@]}" -X POST "$API/enrollments/$EID/approve")
expect_grep "approving twice → 409" "^409$" "$R"
R=$(api "${OP[@]}" -d "$CSRJ" "$API/enrollments/$EID/issue")
expect_grep "issue over the API → 201" "^201$" "$R"
echo "$R" | head -1 > "$T/issue.json"
python3 -c 'import json,sys;print(json.load(open(sys.argv[1]))["certificate"],end="")' "$T/issue.json" > "$T/c2.pem"
expect_ok "openssl verify accepts the API-issued certificate" openssl verify -CAfile "$D/ca.pem" "$T/c2.pem"
S2=$(serial_of "$T/c2.pem")
R=$(api "${OP[@]}" "$API/certs?uscc=$USCC")
expect_grep "query over the API" "$S2" "$R"
R=$(api "${OP[@]}" -d '{"app":"hall"}' "$API/certs/$S2/apps")
expect_grep "应用开通 → 201" "^201$" "$R"
R=$(api "${OP[@]}" -d '{"app":"hall"}' "$API/certs/$S2/apps")
expect_grep "opening twice → 409" "^409$" "$R"
R=$(api "${OP[@]}" -X DELETE "$API/certs/$S2/apps/hall")
expect_grep "应用注销 → 200" "^200$" "$R"
R=$(api "${OP[@]}" "$API/certs/$S2")
expect_grep "GET a certificate over the API" "^200$" "$R"
# the issue reply (written directly, not through a JSON tree): compact JSON
# whose members match the record, its PEM byte for byte OpenSSL's
echo "$R" | head -1 > "$T/get.json"
python3 - "$T/issue.json" "$T/get.json" <<'PY' || fail "the issue reply is the compact JSON of the certificate's record"
import json, sys
raw = open(sys.argv[1]).read().rstrip("\n")
got = json.loads(raw)
rec = json.load(open(sys.argv[2]))
assert raw == json.dumps(got, separators=(",", ":"), ensure_ascii=False), raw
assert list(got) == ["serial", "unique_id", "not_after", "medium", "certificate"], list(got)
for k in ("serial", "unique_id", "not_after", "medium", "certificate"):
    assert got[k] == rec[k], (k, got[k], rec[k])
assert got["unique_id"] and got["certificate"].startswith("-----BEGIN CERTIFICATE-----\n")
PY
ok "the issue reply is the compact JSON of the certificate's record (PEM as OpenSSL writes it)"
LONG=$(printf '/%.0s' $(seq 600))
R=$(api "${OP[@]}" "$API/certs/$S2${LONG}x")
expect_grep "a path longer than the router reads is not cut and routed → 404" "^404$" "$R"
R=$(api "${OP[@]}" -d '{"reason":"removeFromCRL"}' "$API/certs/$S2/revoke")
expect_grep "removeFromCRL is no reason for a full CRL → 400" "^400$" "$R"
# a 5xx tells the client only that it is internal; the detail is in the log
python3 - "$D/ca.db" <<'PY'
import sqlite3, sys, time
db = sqlite3.connect(sys.argv[1])
db.execute("INSERT INTO media (serial, label, company_id, escrow, status, created_at)"
           " VALUES ('BROKEN-1', '', 0, ?, 'active', ?)", (bytes(40), int(time.time())))
db.commit()
PY
R=$(api "${OP[@]}" -X POST "$API/media/BROKEN-1/unlock")
expect_grep "unlock with a tampered escrow blob → 500" "^500$" "$R"
echo "$R" | head -1 | grep -Eq "signer|decrypt|escrow" && fail "a 500 does not leak the internals ($R)"
ok "the 500 says 'internal error', not what broke inside"
grep -q "ra.error.*decrypt" "$T/serve.log" || fail "the service log has the detail"
ok "the detail is in the service log"
R=$(api "${OP[@]}" -d '{"reason":"superseded"}' "$API/certs/$S2/revoke")
expect_grep "revoke over the API → 200" "^200$" "$R"
R=$(api "${OP[@]}" -d '{"reason":"superseded"}' "$API/certs/$S2/revoke")
expect_grep "revoking twice → 409" "^409$" "$R"
expect_ok "audit" "$ONECERT" ca audit --dir "$D" --json
expect_grep "API calls are audit-logged with the operator" "\"actor\": \"op:$OPS\"" "$OUT"
# Changes made through the RA API kick the OCSP cache: a certificate just
# issued is `good` (not `unknown`: Firefox hard-fails on that) and one just
# revoked is `revoked` at once, not after the next poll — here 30 s away.
kill -TERM "$SPID"; wait "$SPID"
sed -i 's/^revocation_interval = 1$/revocation_interval = 30/' "$D/ca.ini"    # below ocsp_refresh_before (60)
start
ocsp_now() {    # $1: certificate, $2: status wanted; at most ~2 s
	for _ in $(seq 10); do
		R=$(openssl ocsp -issuer "$D/issuing.pem" -cert "$1" -url "$OCSP_URL" -CAfile "$D/ca.pem" -no_nonce 2>&1)
		grep -q ": $2\$" <<<"$R" && return 0
		sleep 0.2
	done
	return 1
}
R=$(api "${OP[@]}" -d '{"name":"'"$NAME"'","uscc":"'"$USCC"'","materials":["营业执照副本","申请表"]}' "$API/enrollments")
EID=$(echo "$R" | head -1 | sed -nE 's/.*"enrollment":([0-9]+).*/\1/p')
api "${OP[@]}" -X POST "$API/enrollments/$EID/approve" >/dev/null
new_csr ec "$T/k3.pem" "$T/r3.pem"
CSRJ=$(python3 -c 'import json,sys;print(json.dumps({"csr":open(sys.argv[1]).read()}))' "$T/r3.pem")
R=$(api "${OP[@]}" -d "$CSRJ" "$API/enrollments/$EID/issue")
expect_grep "issue over the API (revocation_interval 30)" "^201$" "$R"
echo "$R" | head -1 | python3 -c 'import json,sys;print(json.load(sys.stdin)["certificate"],end="")' > "$T/c3.pem"
S3=$(serial_of "$T/c3.pem")
ocsp_now "$T/c3.pem" good || fail "a certificate issued through the API is good over OCSP within 2 s: $R"
ok "issued through the API: OCSP good at once, not unknown until the next poll"
R=$(api "${OP[@]}" -d '{"reason":"keyCompromise"}' "$API/certs/$S3/revoke")
expect_grep "revoke over the API (revocation_interval 30)" "^200$" "$R"
ocsp_now "$T/c3.pem" revoked || fail "a certificate revoked through the API is revoked over OCSP within 2 s: $R"
ok "revoked through the API: OCSP revoked at once, not after the next poll"
expect_ok "ca revoke the operator's certificate" "$ONECERT" ca revoke --dir "$D" --serial "$OPS" --reason affiliationChanged
R=$(api "${OP[@]}" "$API/certs?uscc=$USCC")
expect_grep "a revoked operator → 403" "^403$" "$R"

M=$(curl -s "$BASE/metrics")
expect_grep "/metrics has OCSP counters" "ocsp" "$M"

# graceful stop
kill -TERM "$SPID"
wait "$SPID"; RC=$?
[ "$RC" = 0 ] || fail "SIGTERM stops ca serve cleanly (exit $RC)"
ok "SIGTERM: clean exit"

# a dead signer stops the service rather than leave it half-working
start
SIG=$(pgrep -P "$SPID" | head -1)
[ -n "$SIG" ] || fail "ca serve has signer child processes"
kill -KILL "$SIG"
for _ in $(seq 50); do kill -0 "$SPID" 2>/dev/null || break; sleep 0.2; done
kill -0 "$SPID" 2>/dev/null && fail "the service stopped after its signer died"
wait "$SPID"; RC=$?
[ "$RC" != 0 ] || fail "and exited non-zero"
grep -q "signer" "$T/serve.log" || fail "and said why"
ok "a killed signer process stops the service with an error"
SPID=
done_tests
