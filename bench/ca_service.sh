#!/usr/bin/env bash
# bench/ca_service.sh — `onecert ca serve` beside its peers on this machine,
# in one run (issue 3, "Benchmarks"; bench/README.md, "CA service"):
#
#  1. issuance: onecert's RA API (HTTPS, the operator's client certificate,
#     POST /api/v1/enrollments/{id}/issue on enrollments enrolled and
#     approved beforehand, every certificate durably stored before its
#     answer) against Cloudflare's cfssl (`cfssl serve`, POST
#     /api/v1/cfssl/sign, stores nothing) — over HTTPS with a required
#     client certificate (the like-for-like row), over plain HTTP, and
#     with its SQLite certdb (-db-config; then it stores every certificate
#     too).  Same CSR (ECDSA P-256), same CA key type (ECDSA P-256), same
#     client (bench/ca_load.c: C keep-alive connections).  onecert runs
#     with serve.revocation_interval = 1 s here, so the OCSP responses it
#     pre-signs for every new certificate are signed inside the measured
#     window (with the default 60 s they would be signed after it).
#  2. OCSP responses per second for one known certificate (no nonce):
#     onecert's /ocsp (POST, and GET with the request in the path) against
#     `openssl ocsp -port` (signs every response, closes every connection)
#     — both measured with `ab` (a new connection per request, the same
#     settings for both) — and against nginx serving onecert's own
#     pre-signed DER as a static file, both measured with wrk (keep-alive).
#  3. resident memory of `ca serve` (the process and its signer children:
#     VmRSS, VmHWM, PSS from /proc) idle and under the OCSP load.
#
#   bench/ca_service.sh [--onecert PATH]
#
# Environment: CA_BENCH_ROUNDS (default 3: every comparison is measured
# that many times, onecert and its peer back to back, alternating which
# goes first; the medians are printed), CA_BENCH_ISSUE_N (certificates per
# onecert issuance round, default 3000), CA_BENCH_CFSSL_N (per cfssl round,
# default 20000; 3000 with its certdb), CA_BENCH_CLIENTS (issuance
# connections, default 16), CA_BENCH_SECONDS (each wrk run, default 6),
# CA_BENCH_AB_N (requests per ab run, default 40000), CA_BENCH_CONNECTIONS
# (ab and wrk concurrency, default 32),
# CA_BENCH_THREADS (wrk threads, default cores), BENCH_BUILD (where to build
# onecert when --onecert is not given).  Everything listens on 127.0.0.1
# (except `openssl ocsp`, which cannot be told an address and listens on
# all interfaces while it runs) in a temporary directory, and is stopped
# and removed at the end.  About five minutes.  Not part of `make test`.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
bench=ca_service
# shellcheck source=bench/lib.sh
. "$root/bench/lib.sh"
rounds=${CA_BENCH_ROUNDS:-3}
issue_n=${CA_BENCH_ISSUE_N:-3000}
cfssl_n=${CA_BENCH_CFSSL_N:-20000}
cfssl_db_n=3000
clients=${CA_BENCH_CLIENTS:-16}
secs=${CA_BENCH_SECONDS:-6}
ab_n=${CA_BENCH_AB_N:-40000}
conns=${CA_BENCH_CONNECTIONS:-32}
wthreads=${CA_BENCH_THREADS:-$cores}

need cfssl nginx wrk ab openssl sqlite3 curl cc python3
bench_onecert "$@"
onecert=$(cd "$(dirname "$onecert")" && pwd)/$(basename "$onecert")

tmp=$(mktemp -d "${TMPDIR:-/tmp}/onecert-ca-bench.XXXXXX")
# "Stored" must mean on a disk: fsync on tmpfs returns at once.
if [ "$(stat -f -c %T "$tmp")" = tmpfs ]; then
	say "ca_service: $tmp is on tmpfs, where fsync costs nothing; set TMPDIR to a disk"
	rm -rf "$tmp"
	exit 1
fi
pids=()
serve_pid=
cleanup() {
	stop_all ${serve_pid:+"$serve_pid"}
	if [ -n "${CA_BENCH_KEEP:-}" ]; then say "ca_service: kept $tmp"; else rm -rf "$tmp"; fi
}
trap cleanup EXIT
export ONECERT_LOG_LEVEL=${ONECERT_LOG_LEVEL:-info}   # ca serve's default: one line per request

cc -O2 -Wall -o "$tmp/ca_load" "$root/bench/ca_load.c" -lssl -lcrypto -lpthread

# ---- measuring (ticks, cpustat, timed, mem, mb: bench/lib.sh) ----
field() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<" $2"; }

# Every result is one line "rate p50_ms p99_ms errors count cpu_ms_per other"
# in $tmp/res/ROW.ROUND.
mkdir -p "$tmp/res"
put() { echo "$3" >"$tmp/res/$1.$2"; }
# from ca_load's output
from_load() {
	local r
	r=$(grep '^result ' "$1")
	awk -v rate="$(field rate "$r")" -v p50="$(field p50_ms "$r")" -v p99="$(field p99_ms "$r")" \
		-v bad="$(field fail "$r")" -v n="$(field ok "$r")" -v cpu="$T_CPU_MS" -v o="$T_OTHER" \
		'BEGIN { printf "%.0f %s %s %s %s %.3f %s\n", rate, p50, p99, bad, n, n ? cpu / n : 0, o }'
}
# from wrk --latency's output
from_wrk() {
	awk -v cpu="$T_CPU_MS" -v o="$T_OTHER" '
		function ms(v) { if (v ~ /us$/) return v / 1000; if (v ~ /ms$/) return v + 0; if (v ~ /s$/) return v * 1000; return v }
		/requests in/ { n = $1 }
		/Requests\/sec:/ { rps = $2 }
		/^ +50%/ { p50 = ms($2) }
		/^ +99%/ { p99 = ms($2) }
		/Non-2xx/ { bad += $NF }
		/Socket errors/ { gsub(/[^0-9 ]/, " "); bad += $1 + $2 + $3 + $4 }
		END { printf "%.0f %.2f %.2f %d %d %.3f %s\n", rps, p50, p99, bad, n, n ? cpu / n : 0, o }' "$1"
}
# from ab's output (Length "failures" are not counted: a live ECDSA
# signature's length varies by a byte or two, which ab reports as failed)
from_ab() {
	awk -v cpu="$T_CPU_MS" -v o="$T_OTHER" '
		/^Complete requests:/ { n = $3 }
		/^Requests per second:/ { rps = $4 }
		/^Non-2xx responses:/ { bad += $3 }
		/^Failed requests:/ { f = $3 }
		/Connect: [0-9]+, Receive: [0-9]+, Length: [0-9]+, Exceptions: [0-9]+/ {
			gsub(/[(),]/, " "); bad += $2 + $4 + $8 }
		/^ +50%/ { p50 = $2 }
		/^ +99%/ { p99 = $2 }
		END { printf "%.0f %s %s %d %d %.3f %s\n", rps, p50, p99, bad, n, n ? cpu / n : 0, o }' "$1"
}
# median over the rounds of row $1: the line of the round with the median rate
median() {
	cat "$tmp/res/$1".* 2>/dev/null | sort -n -k1,1 | awk '{ l[NR] = $0 } END { if (NR) print l[int((NR + 1) / 2)] }'
}
# ratio of two rows' median rates, and the range of the per-round ratios
ratio() {
	local a b r lo=999 hi=0 x
	a=$(median "$1" | cut -d' ' -f1); b=$(median "$2" | cut -d' ' -f1)
	r=$(awk -v a="$a" -v b="$b" 'BEGIN { printf "%.2f", b ? a / b : 0 }')
	for f in "$tmp/res/$1".*; do
		x=$(awk -v a="$(cut -d' ' -f1 "$f")" -v b="$(cut -d' ' -f1 "$tmp/res/$2.${f##*.}" 2>/dev/null || echo 0)" \
			'BEGIN { printf "%.2f", b ? a / b : 0 }')
		lo=$(awk -v a="$lo" -v b="$x" 'BEGIN { print (b < a) ? b : a }')
		hi=$(awk -v a="$hi" -v b="$x" 'BEGIN { print (b > a) ? b : a }')
	done
	echo "$r $lo $hi"
}
answer() { # URL … — every URL answers
	local u
	for u in "$@"; do curl -sf -o /dev/null "$u" 2>/dev/null || return 1; done
}
up() { retry 600 answer "$@"; } # URL … — wait until every URL answers
metric() { curl -s "http://127.0.0.1:$port/metrics" | awk -v m="$1" '$1 ~ "^" m "[{ ]" && v == "" { v = $2 } END { print v }'; }

# ---- the onecert CA ----
port=$((20000 + RANDOM % 20000)); tport=$((port + 1))
cf_tls=$((port + 2)); cf_http=$((port + 3)); cf_db=$((port + 4))
nport=$((port + 5)); oport=$((port + 6))
D=$tmp/ca
log=$tmp/setup.log
say "ca_service: onecert CA (ECDSA P-256 on SoftHSM2) and its service on :$port / https :$tport"
"$onecert" ca init --dir "$D" --algo ec --base-url "http://127.0.0.1:$port" >/dev/null 2>>"$log"
# the CSR both sides sign, and the operator's certificate
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$tmp/ee.key" \
	-subj "/CN=bench" -out "$tmp/ee.csr" 2>/dev/null
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$tmp/op.key" \
	-subj "/CN=x" -out "$tmp/op.csr" 2>/dev/null
"$onecert" ca issue --dir "$D" --profile personal --csr "$tmp/op.csr" --name 柜员甲 \
	--id-number 110101199003074514 --out "$tmp/op.pem" >/dev/null 2>>"$log"
"$onecert" ca grant-operator --dir "$D" \
	--serial "$(openssl x509 -in "$tmp/op.pem" -noout -serial | cut -d= -f2)" >/dev/null 2>>"$log"
python3 - "$tmp" <<'PY'
import json, sys
t = sys.argv[1]
csr = open(t + "/ee.csr").read()
open(t + "/issue.json", "w").write(json.dumps({"csr": csr}))
open(t + "/sign.json", "w").write(json.dumps({"certificate_request": csr}))
open(t + "/enroll.json", "w").write(json.dumps({"name": "上海浦江建筑工程有限公司",
    "uscc": "91310115MA1FL8XY7N", "materials": ["营业执照副本", "申请表"]}, ensure_ascii=False))
PY
printf '\n[serve]\n' >>"$D/ca.ini"
cp "$D/ca.ini" "$tmp/ca.ini.default"
printf 'revocation_interval = 1\n' >>"$D/ca.ini"

start_serve() {
	"$onecert" ca serve --dir "$D" --listen "127.0.0.1:$port" --tls-listen "127.0.0.1:$tport" \
		>>"$tmp/serve.log" 2>&1 &
	serve_pid=$!
	up "http://127.0.0.1:$port/healthz" || { tail -20 "$tmp/serve.log" >&2; say "ca_service: ca serve did not start"; exit 1; }
}
start_serve
sleep 2
mem_fresh=$(mem "$serve_pid")
OP=(--tls "$D/ca.pem" --cert "$tmp/op.pem" --key "$tmp/op.key")

# ---- cfssl: its own P-256 CA; TLS material for its mutual-TLS server ----
# (onecert's certificates cannot serve here: Go 1.19's x509, which cfssl is
# built with, refuses their 2.25.<UUID> policy OIDs, "invalid certificate
# policies")
C=$tmp/cfssl
mkdir -p "$C"
osslcert() { # NAME SUBJECT EXTENSIONS CA-NAME — a P-256 key and certificate
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$C/$1.key" \
		-subj "$2" -out "$C/$1.csr" 2>/dev/null
	openssl x509 -req -in "$C/$1.csr" -CA "$C/$4.pem" -CAkey "$C/$4.key" -set_serial "0x$(openssl rand -hex 8)" \
		-days 30 -extfile <(printf '%b' "$3") -out "$C/$1.pem" 2>/dev/null
}
openssl req -new -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$C/ca.key" \
	-subj "/C=CN/O=bench/CN=cfssl P-256 CA" -days 3650 -addext basicConstraints=critical,CA:TRUE \
	-addext keyUsage=critical,keyCertSign,cRLSign -out "$C/ca.pem" 2>/dev/null
openssl req -new -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$C/tlsca.key" \
	-subj "/CN=bench TLS CA" -days 30 -addext basicConstraints=critical,CA:TRUE -out "$C/tlsca.pem" 2>/dev/null
osslcert srv "/CN=127.0.0.1" 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' tlsca
osslcert cli "/CN=operator" 'extendedKeyUsage=clientAuth\n' tlsca
echo '{"signing":{"default":{"usages":["digital signature","client auth"],"expiry":"8760h"}}}' >"$C/config.json"
sqlite3 -cmd ".timeout 10000" "$C/certdb.sqlite" "CREATE TABLE certificates (serial_number blob NOT NULL,
  authority_key_identifier blob NOT NULL, ca_label blob, status blob NOT NULL, reason int,
  expiry timestamp, revoked_at timestamp, pem blob NOT NULL,
  PRIMARY KEY(serial_number, authority_key_identifier));
CREATE TABLE ocsp_responses (serial_number blob NOT NULL, authority_key_identifier blob NOT NULL,
  body blob NOT NULL, expiry timestamp, PRIMARY KEY(serial_number, authority_key_identifier));"
echo "{\"driver\":\"sqlite3\",\"data_source\":\"$C/certdb.sqlite\"}" >"$C/db.json"
cfssl serve -address 127.0.0.1 -port "$cf_tls" -ca "$C/ca.pem" -ca-key "$C/ca.key" -config "$C/config.json" \
	-tls-cert "$C/srv.pem" -tls-key "$C/srv.key" -mutual-tls-ca "$C/tlsca.pem" >"$C/tls.log" 2>&1 & pids+=($!)
cfssl_tls_pid=$!
cfssl serve -address 127.0.0.1 -port "$cf_http" -ca "$C/ca.pem" -ca-key "$C/ca.key" -config "$C/config.json" \
	>"$C/http.log" 2>&1 & pids+=($!)
cfssl_http_pid=$!
cfssl serve -address 127.0.0.1 -port "$cf_db" -ca "$C/ca.pem" -ca-key "$C/ca.key" -config "$C/config.json" \
	-db-config "$C/db.json" >"$C/db.log" 2>&1 & pids+=($!)
cfssl_db_pid=$!
CF=(--tls "$C/tlsca.pem" --cert "$C/cli.pem" --key "$C/cli.key")
cfssl_up() {
	curl -s -o /dev/null "http://127.0.0.1:$cf_db/" && curl -s -o /dev/null "http://127.0.0.1:$cf_http/" &&
		curl -sk -o /dev/null "https://127.0.0.1:$cf_tls/"
}
retry 50 cfssl_up || true

# ---- 1. issuance ----
cver=$(cfssl version 2>/dev/null | awk '/^Version/ { print $2 }')
say "ca_service: issuance, $rounds rounds: onecert $issue_n certificates, cfssl $cfssl_n ($cfssl_db_n with its certdb); $clients connections"
stored_ok=0; stored_want=0; presigned=0; presigns=0
for r in $(seq "$rounds"); do
	# untimed: N enrollments, enrolled and approved over the same API
	"$tmp/ca_load" -p "$tport" "${OP[@]}" -c "$clients" -m POST -T application/json -b "$tmp/enroll.json" \
		-u /api/v1/enrollments -n "$issue_n" -s 201 >/dev/null
	sqlite3 -cmd ".timeout 10000" "$D/ca.db" "SELECT '/api/v1/enrollments/' || id || '/approve' FROM enrollments
		WHERE status = 'pending' ORDER BY id" >"$tmp/approve.txt"
	"$tmp/ca_load" -p "$tport" "${OP[@]}" -c "$clients" -m POST -U "$tmp/approve.txt" -s 200 >/dev/null
	sed 's/approve$/issue/' "$tmp/approve.txt" >"$tmp/issue.txt"
	before=$(sqlite3 -cmd ".timeout 10000" "$D/ca.db" "SELECT count(*) FROM certificates")
	sleep 1
	one() {
		local c0 c1 p0 p1
		# certificates with pre-signed OCSP responses, and certificates
		# signed ahead (the counter counts certificates: each gets two
		# responses, one per CertID hash, docs/ocsp.md)
		c0=$(metric onecert_ocsp_cached_certificates)
		p0=$(metric onecert_ocsp_presigns_total)
		timed "$serve_pid" "$tmp/out" "$tmp/ca_load" -p "$tport" "${OP[@]}" -c "$clients" -m POST \
			-T application/json -b "$tmp/issue.json" -U "$tmp/issue.txt" -s 201 \
			-g 'BEGIN CERTIFICATE' -o "$tmp/onecert.json"
		c1=$(metric onecert_ocsp_cached_certificates)
		presigned=$((presigned + c1 - c0))
		put issue_onecert "$r" "$(from_load "$tmp/out")"
		# Until the pre-signing of their OCSP responses is done too (it
		# must not run into a peer's window either): that rate and the
		# server's CPU per certificate including it.
		for _ in $(seq 600); do
			[ "$(metric onecert_ocsp_cached_certificates)" -ge $((c0 + issue_n)) ] && break
			sleep 0.1
		done
		p1=$(metric onecert_ocsp_presigns_total)
		presigns=$((presigns + p1 - p0))
		awk -v t0="$T_START" -v t1="$(date +%s.%N)" -v n="$issue_n" -v c0="$T_S0" \
			-v c1="$(ticks "$serve_pid")" -v hz="$hz" -v o="$T_OTHER" \
			'BEGIN { printf "%.0f - - 0 %d %.3f %s\n", n / (t1 - t0), n, (c1 - c0) * 1000 / hz / n, o }' \
			>"$tmp/res/issue_onecert_ocsp.$r"
	}
	cf() { # ROW PID PORT N TLS…
		local row=$1 pid=$2 p=$3 n=$4
		shift 4
		sleep 1
		timed "$pid" "$tmp/out" "$tmp/ca_load" -p "$p" "$@" -c "$clients" -m POST -T application/json \
			-b "$tmp/sign.json" -u /api/v1/cfssl/sign -n "$n" -g 'BEGIN CERTIFICATE' -o "$tmp/$row.json"
		put "$row" "$r" "$(from_load "$tmp/out")"
	}
	if [ $((r % 2)) = 1 ]; then
		one; cf issue_cfssl_tls "$cfssl_tls_pid" "$cf_tls" "$cfssl_n" "${CF[@]}"
	else
		cf issue_cfssl_tls "$cfssl_tls_pid" "$cf_tls" "$cfssl_n" "${CF[@]}"; sleep 1; one
	fi
	cf issue_cfssl_http "$cfssl_http_pid" "$cf_http" "$cfssl_n"
	cf issue_cfssl_db "$cfssl_db_pid" "$cf_db" "$cfssl_db_n"
	after=$(sqlite3 -cmd ".timeout 10000" "$D/ca.db" "SELECT count(*) FROM certificates")
	stored_ok=$((stored_ok + after - before)); stored_want=$((stored_want + issue_n))
	say "ca_service:   round $r: onecert $(cut -d' ' -f1 "$tmp/res/issue_onecert.$r")/s," \
		"cfssl https $(cut -d' ' -f1 "$tmp/res/issue_cfssl_tls.$r")/s"
done
cfdb_rows=$(sqlite3 -cmd ".timeout 10000" "$C/certdb.sqlite" "SELECT count(*) FROM certificates")
# the certificates are what they should be
pem_of() { python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); d=d.get("result",d); print(d["certificate"],end="")' "$1"; }
pem_of "$tmp/onecert.json" >"$tmp/onecert.pem"
pem_of "$tmp/issue_cfssl_tls.json" >"$tmp/cfssl.pem"
openssl verify -CAfile "$D/ca.pem" "$tmp/onecert.pem" >/dev/null ||
	{ say "ca_service: onecert's certificate does not verify"; exit 1; }
openssl verify -CAfile "$C/ca.pem" "$tmp/cfssl.pem" >/dev/null ||
	{ say "ca_service: cfssl's certificate does not verify"; exit 1; }
csrkey=$(openssl req -in "$tmp/ee.csr" -pubkey -noout)
for f in onecert cfssl; do
	[ "$(openssl x509 -in "$tmp/$f.pem" -pubkey -noout)" = "$csrkey" ] ||
		{ say "ca_service: $f's certificate is not for the CSR's key"; exit 1; }
done
"$onecert" ca audit --dir "$D" --verify >/dev/null 2>>"$log" ||
	{ say "ca_service: the audit chain does not verify"; exit 1; }
ncerts=$(sqlite3 -cmd ".timeout 10000" "$D/ca.db" "SELECT count(*) FROM certificates")

# ---- 2. OCSP: restart with the default [serve] settings ----
say "ca_service: ca serve again with the default [serve] settings ($ncerts certificates to pre-sign at start)"
kill "$serve_pid"; wait "$serve_pid" 2>/dev/null || true; serve_pid=
cp "$tmp/ca.ini.default" "$D/ca.ini"
t0=$(date +%s.%N)
start_serve
start_secs=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
sleep 3
mem_idle=$(mem "$serve_pid")

# requests for a known certificate (no nonce: the pre-signed answer)
openssl ocsp -issuer "$D/issuing.pem" -cert "$tmp/onecert.pem" -no_nonce -reqout "$tmp/oc.req" >/dev/null 2>&1
openssl ocsp -issuer "$D/issuing.pem" -cert "$tmp/onecert.pem" -reqout "$tmp/oc-nonce.req" >/dev/null 2>&1
b64=$(base64 -w0 "$tmp/oc.req" | sed 's/+/%2B/g; s/\//%2F/g; s/=/%3D/g')
curl -sf -o "$tmp/oc.resp" -H 'Content-Type: application/ocsp-request' --data-binary @"$tmp/oc.req" \
	"http://127.0.0.1:$port/ocsp"
openssl ocsp -respin "$tmp/oc.resp" -issuer "$D/issuing.pem" -cert "$tmp/onecert.pem" -CAfile "$D/ca.pem" \
	-no_nonce 2>&1 | grep -q ': good' || { say "ca_service: onecert's OCSP answer is not good"; exit 1; }

# nginx: the same pre-signed DER as a static file, at the GET path
N=$tmp/nginx
mkdir -p "$N/www"
cp "$tmp/oc.resp" "$N/www/ocsp.der"
nginx_conf "$N"
cat >>"$N/nginx.conf" <<EOF
    sendfile on;
    keepalive_requests 1000000;
    server {
        listen 127.0.0.1:$nport;
        root $N/www;
        location /ocsp/ { default_type application/ocsp-response; try_files /ocsp.der =404; }
    }
}
EOF
nginx_start "$N"
nginx_pid=$!

# openssl ocsp: a responder certificate of cfssl's P-256 CA, a certificate
# from the same CSR in an index file; it signs every response (nextUpdate
# an hour ahead, as onecert's).  One process: `-multi` was no faster on
# two cores, and in OpenSSL 3.0.19 its children spin at full CPU after a
# load run and its parent ignores SIGTERM.
osslcert ocsp "/CN=bench OCSP responder" 'extendedKeyUsage=OCSPSigning\nkeyUsage=critical,digitalSignature\n' ca
openssl x509 -req -in "$tmp/ee.csr" -CA "$C/ca.pem" -CAkey "$C/ca.key" -set_serial 0x1001 -days 30 \
	-out "$C/ee.pem" 2>/dev/null
printf 'V\t%s\t\t1001\tunknown\t/CN=bench\n' "$(date -u -d '+30 days' +%y%m%d%H%M%SZ)" >"$C/index.txt"
openssl ocsp -index "$C/index.txt" -port "$oport" -rsigner "$C/ocsp.pem" -rkey "$C/ocsp.key" \
	-CA "$C/ca.pem" -nmin 60 >"$C/ocsp.log" 2>&1 & pids+=($!)
ossl_pid=$!
openssl ocsp -issuer "$C/ca.pem" -cert "$C/ee.pem" -no_nonce -reqout "$tmp/os.req" >/dev/null 2>&1
ossl_good() {
	openssl ocsp -issuer "$C/ca.pem" -cert "$C/ee.pem" -no_nonce -url "http://127.0.0.1:$oport" \
		-CAfile "$C/ca.pem" 2>&1 | grep -q ': good'
}
retry 50 ossl_good || { say "ca_service: openssl ocsp does not answer good"; exit 1; }
cmp -s <(curl -s "http://127.0.0.1:$nport/ocsp/$b64") "$tmp/oc.resp" ||
	{ say "ca_service: nginx does not serve the DER"; exit 1; }

for l in post:oc nonce:oc-nonce; do   # wrk scripts NAME.lua posting REQ.req
	cat >"$tmp/${l%%:*}.lua" <<EOF
local f = io.open("$tmp/${l#*:}.req", "rb"); local b = f:read("*all"); f:close()
wrk.method = "POST"; wrk.body = b; wrk.headers["Content-Type"] = "application/ocsp-request"
EOF
done
# ab runs a fixed number of requests, not for a time (-t): at its deadline
# ab drops connections in mid-request, and OpenSSL 3.0's `openssl ocsp`
# responder then loops for ever on the EOF (read() = 0, 100 % of a core),
# answering nobody again.
loadrun() { # ab|wrk ROW ROUND PID [ab or wrk args…] URL
	local tool=$1 row=$2 rr=$3 pid=$4
	shift 4
	sleep 1
	case $tool in
	ab)  timed "$pid" "$tmp/ab.out" ab -q -n "$ab_n" -c "$conns" "$@" ;;
	wrk) timed "$pid" "$tmp/wrk.out" wrk -t "$wthreads" -c "$conns" -d "${secs}s" --latency "$@" ;;
	esac
	put "$row" "$rr" "$("from_$tool" "$tmp/$tool.out")"
}
abrun() { loadrun ab "$@"; }
wrkrun() { loadrun wrk "$@"; }
mem_load=
say "ca_service: OCSP, $rounds rounds: ab -n $ab_n -c $conns, wrk -t $wthreads -c $conns -d ${secs}s"
tl0=$(metric onecert_ocsp_try_later_total); live0=$(metric onecert_ocsp_live_signs_total)
for r in $(seq "$rounds"); do
	oc_post() { abrun ab_onecert_post "$r" "$serve_pid" -p "$tmp/oc.req" -T application/ocsp-request "http://127.0.0.1:$port/ocsp"; }
	os_post() {
		curl -sf -m 5 -o /dev/null -H 'Content-Type: application/ocsp-request' \
			--data-binary @"$tmp/os.req" "http://127.0.0.1:$oport/" ||
			{ say "ca_service: openssl ocsp stopped answering"; exit 1; }
		abrun ab_openssl_post "$r" "$ossl_pid" -p "$tmp/os.req" -T application/ocsp-request "http://127.0.0.1:$oport/"
	}
	oc_get() {
		if [ -z "$mem_load" ]; then   # sample memory halfway through the first run
			( sleep "$(awk -v s="$secs" 'BEGIN { print s / 2 + 1 }')"; mem "$serve_pid" >"$tmp/mem_load" ) &
			mem_load=pending
		fi
		wrkrun wrk_onecert_get "$r" "$serve_pid" "http://127.0.0.1:$port/ocsp/$b64"
	}
	ng_get() { wrkrun wrk_nginx_get "$r" "$nginx_pid" "http://127.0.0.1:$nport/ocsp/$b64"; }
	if [ $((r % 2)) = 1 ]; then
		oc_post; os_post; oc_get; ng_get
	else
		os_post; oc_post; ng_get; oc_get
	fi
	abrun ab_onecert_get "$r" "$serve_pid" "http://127.0.0.1:$port/ocsp/$b64"
	abrun ab_nginx_get "$r" "$nginx_pid" "http://127.0.0.1:$nport/ocsp/$b64"
	wrkrun wrk_onecert_post "$r" "$serve_pid" -s "$tmp/post.lua" "http://127.0.0.1:$port/ocsp"
	[ "$r" = 1 ] && wrkrun wrk_onecert_nonce "$r" "$serve_pid" -s "$tmp/nonce.lua" "http://127.0.0.1:$port/ocsp"
	say "ca_service:   round $r: ab onecert $(cut -d' ' -f1 "$tmp/res/ab_onecert_post.$r")/s," \
		"openssl $(cut -d' ' -f1 "$tmp/res/ab_openssl_post.$r")/s; wrk onecert" \
		"$(cut -d' ' -f1 "$tmp/res/wrk_onecert_get.$r")/s, nginx $(cut -d' ' -f1 "$tmp/res/wrk_nginx_get.$r")/s"
done
wait_mem=0
while [ ! -s "$tmp/mem_load" ] && [ "$wait_mem" -lt 20 ]; do sleep 0.5; wait_mem=$((wait_mem + 1)); done
mem_load=$(cat "$tmp/mem_load" 2>/dev/null || echo "0 0 0 0")
mem_end=$(mem "$serve_pid")
tl1=$(metric onecert_ocsp_try_later_total); live1=$(metric onecert_ocsp_live_signs_total)
mem_nginx=$(mem "$nginx_pid")

# ---- the tables ----
row() { printf '%-52s %9s %8s %8s %6s %8s %5s %6s\n' "$@"; }
line() { # LABEL ROW RATIO
	local m
	m=$(median "$2")
	read -r rate p50 p99 bad n cpu other <<<"$m"
	row "$1" "$rate" "$p50" "$p99" "$bad" "$cpu" "$other" "$3"
}
rr() { read -r R LO HI <<<"$(ratio "$1" "$2")"; echo "$R"; }
range() { read -r R LO HI <<<"$(ratio "$1" "$2")"; echo "$LO–$HI"; }
verdict() { awk -v r="$1" -v t="$2" 'BEGIN { print (r >= t) ? "met" : "NOT met" }'; }

echo
echo "Issuance, ECDSA P-256 CA, one P-256 CSR; $clients keep-alive connections (bench/ca_load.c); medians of $rounds rounds"
row "" "certs/s" "p50 ms" "p99 ms" errors "cpu ms" other ratio
r_tls=$(rr issue_onecert issue_cfssl_tls); r_http=$(rr issue_onecert issue_cfssl_http); r_db=$(rr issue_onecert issue_cfssl_db)
line "onecert RA API, HTTPS + operator cert, stored" issue_onecert ""
line "  the same, until its OCSP responses are pre-signed" issue_onecert_ocsp "$(rr issue_onecert_ocsp issue_cfssl_tls)"
line "cfssl serve, HTTPS + client cert, stores nothing" issue_cfssl_tls "$r_tls"
line "cfssl serve, plain HTTP, stores nothing" issue_cfssl_http "$r_http"
line "cfssl serve, plain HTTP, SQLite certdb (stored)" issue_cfssl_db "$r_db"
cat <<EOT
ratio = onecert / that row (per-round ratios vs HTTPS cfssl: $(range issue_onecert issue_cfssl_tls));
  target (issue 3) ≥ 2.00 × cfssl: $(verdict "$r_tls" 2) ($r_tls vs cfssl over HTTPS, $r_http vs plain HTTP)
onecert stored $stored_ok of $stored_want certificates (SQLite WAL, synchronous=FULL, group
  commit), audit chain verified; it pre-signs the OCSP response of every new certificate
  in the background ($presigns of $stored_want certificates pre-signed: two responses each, one
  per CertID hash, SHA-1 and SHA-256), $presigned of the $stored_want inside the windows
  (serve.revocation_interval = 1 s here; 60 s by default); cfssl's certdb holds $cfdb_rows rows
cfssl $cver (Debian golang-cfssl), in-process P-256 key; onecert's CA key on SoftHSM2 via its
  signer processes

EOT
echo "OCSP, one known certificate, no nonce; medians of $rounds rounds"
ocsp_table() { # HEADER BASE LABEL ROW [LABEL ROW…] — ratio = ROW / BASE
	local base=$2 r
	row "$1" "resp/s" "p50 ms" "p99 ms" errors "cpu ms" other ratio
	shift 2
	while [ $# -gt 0 ]; do
		r=1.00
		[ "$2" = "$base" ] || r=$(rr "$2" "$base")
		line "$1" "$2" "$r"
		shift 2
	done
}
r_post=$(rr ab_onecert_post ab_openssl_post); r_get=$(rr ab_onecert_get ab_openssl_post)
w_get=$(rr wrk_onecert_get wrk_nginx_get); w_post=$(rr wrk_onecert_post wrk_nginx_get)
pre="onecert POST /ocsp (pre-signed)"; gre="onecert GET /ocsp/{base64} (pre-signed)"
ngx="nginx GET, the pre-signed DER as a static file"
ocsp_table "new connection per request: ab -n $ab_n -c $conns" ab_openssl_post "$pre" ab_onecert_post \
	"$gre" ab_onecert_get "openssl ocsp -port, POST (signs each response)" ab_openssl_post "$ngx" ab_nginx_get
echo
ocsp_table "keep-alive: wrk -t $wthreads -c $conns, ${secs}s" wrk_nginx_get "$gre" wrk_onecert_get \
	"$pre" wrk_onecert_post "$ngx" wrk_nginx_get "onecert POST with a nonce (signed live; 1 round)" wrk_onecert_nonce
cat <<EOT
ab ratios = onecert / openssl ocsp (per-round POST: $(range ab_onecert_post ab_openssl_post)); target ≥ 3.00:
  $(verdict "$r_post" 3) (POST $r_post, GET $r_get)
wrk ratios = onecert / nginx (per-round GET: $(range wrk_onecert_get wrk_nginx_get)); target ≥ 0.80:
  $(verdict "$w_get" 0.8) (GET $w_get, POST $w_post)
nonce run: $((live1 - live0)) live signatures, $((tl1 - tl0)) tryLater answers (both counted as 2xx by wrk)

EOT
memrow() { read -r n rss hwm pss <<<"$2"; printf '%-52s %5s %9s %9s %9s\n' "$1" "$n" "$(mb "$rss")" "$(mb "$hwm")" "$(mb "$pss")"; }
echo "Memory of ca serve (the process and its signer children), MiB"
printf '%-52s %5s %9s %9s %9s\n' "" procs VmRSS VmHWM PSS
memrow "idle, fresh CA (2 certificates)" "$mem_fresh"
memrow "idle, $ncerts certificates pre-signed (start: ${start_secs}s)" "$mem_idle"
memrow "under wrk GET load (sampled mid-run)" "$mem_load"
memrow "after the OCSP runs" "$mem_end"
memrow "nginx, master + $cores workers, after its runs" "$mem_nginx"
cpu=$(cpu_model)
cat <<EOT
VmHWM is each process's peak; VmRSS and VmHWM count pages shared between
the forked processes once per process, PSS shares them out.

$cores × $cpu; OpenSSL $(openssl_version), nginx $(nginx_version) ($cores workers),
wrk $(deb_version wrk), ab $(deb_version apache2-utils); onecert $("$onecert" --version | awk '{ print $2 }') ($(cd "$root" && git rev-parse --short HEAD 2>/dev/null || echo "?")$(cd "$root" && git diff --quiet HEAD -- src include 2>/dev/null || echo "+local changes"))
cpu ms = the server's CPU time (all its threads and processes) per certificate or response;
other  = share of all cores neither the server nor the client used during the run (another
         program on the machine): rows with other well above 0 are noisy; load average
         $(cut -d' ' -f1-3 /proc/loadavg)
EOT
