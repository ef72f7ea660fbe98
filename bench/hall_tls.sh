#!/usr/bin/env bash
# bench/hall_tls.sh — the hall's HTTPS front beside nginx on the same
# machine, the same server certificate and key, the same client
# certificate (bench/README.md, "Hall TLS"):
#
#  1. certificate logins per second: each connection a full TLS handshake
#     (no session resumption, no tickets) presenting the company's client
#     certificate, then one POST /api/v1/login/tls, then close.  The hall
#     does its real login (chain, validity, usage, organization code,
#     revocation from its OCSP cache, a session row); nginx, with
#     ssl_verify_client on, verifies the chain during the handshake and
#     answers `return 200 '{}'`.  Also the hall with GET /healthz per
#     connection: its TLS alone, no login.  The client is the small C
#     program below (OpenSSL, P processes, a new SSL object per connection);
#     `openssl s_time` cannot POST and does not wait for the server to have
#     finished the handshake.
#  2. authenticated GET /api/v1/me per second over keep-alive connections
#     (wrk, its Lua script setting the session cookie) against nginx
#     returning a fixed 200 '{}', with p50/p99 latency.
#
#   bench/hall_tls.sh [--onecert PATH]
#
# Environment: HALL_BENCH_SECONDS (each run, default 10), HALL_BENCH_CLIENTS
# (handshake client processes, default 4 per core), HALL_BENCH_CONNECTIONS (wrk
# connections, default 32), HALL_BENCH_THREADS (wrk threads, default cores),
# BENCH_BUILD (where to build onecert when --onecert is not given).
# Everything runs on 127.0.0.1 in a temporary directory and is stopped and
# removed at the end; a run takes about a minute.  Not part of `make test`.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
bench=hall_tls
# shellcheck source=bench/lib.sh
. "$root/bench/lib.sh"
secs=${HALL_BENCH_SECONDS:-10}
procs=${HALL_BENCH_CLIENTS:-$((4 * cores))}
conns=${HALL_BENCH_CONNECTIONS:-32}
wthreads=${HALL_BENCH_THREADS:-$cores}

need nginx wrk cc curl openssl
bench_onecert "$@"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/onecert-hall-tls.XXXXXX")
pids=()
cleanup() {
	# shellcheck disable=SC2119 # stop_all takes PIDs beyond pids: none here
	stop_all
	rm -rf "$tmp"
}
trap cleanup EXIT
export ONECERT_LOG_LEVEL=${ONECERT_LOG_LEVEL:-info}

# ---- the handshake client ----
cat >"$tmp/hsclient.c" <<'EOF'
/* hsclient PORT CA CERT KEY SECONDS PROCS METHOD PATH — P processes, each
 * opening connection after connection until SECONDS have passed: TCP
 * connect, a full TLS handshake (no session cache, no tickets) with the
 * client certificate, the server's certificate verified against CA for
 * 127.0.0.1, one request with "Connection: close", the whole response
 * read; prints "ok fail seconds p50_ms p99_ms". */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

static double now(void) {
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}
static int cmp(const void *a, const void *b) {
	unsigned x = *(const unsigned *)a, y = *(const unsigned *)b;
	return x < y ? -1 : x > y;
}
static int one(SSL_CTX *ctx, int port, const char *req) {
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port) };
	char buf[16384];
	int fd, n, one = 1, ok = 0, got = 0;
	SSL *ssl;

	inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
	if ((fd = socket(AF_INET, SOCK_STREAM, 0)) < 0)
		return 0;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		close(fd);
		return 0;
	}
	ssl = SSL_new(ctx);
	SSL_set_fd(ssl, fd);
	X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), "127.0.0.1");
	if (SSL_connect(ssl) == 1 && SSL_write(ssl, req, (int)strlen(req)) > 0) {
		while ((n = SSL_read(ssl, buf + got, (int)(sizeof(buf) - 1 - got))) > 0) {
			got += n;
			if (got >= (int)sizeof(buf) - 1)
				got = 16;   /* keep the status line, drop the rest */
		}
		buf[got] = '\0';
		ok = strncmp(buf, "HTTP/1.1 200", 12) == 0;
		SSL_shutdown(ssl);
	}
	ERR_clear_error();
	SSL_free(ssl);
	close(fd);
	return ok;
}
int main(int argc, char **argv) {
	if (argc != 9) {
		fprintf(stderr, "usage: hsclient PORT CA CERT KEY SECONDS PROCS METHOD PATH\n");
		return 2;
	}
	int port = atoi(argv[1]), procs = atoi(argv[6]);
	double secs = atof(argv[5]), t0 = now();
	char req[512];
	int fds[64][2];
	unsigned long tok = 0, tfail = 0;
	size_t nlat = 0, cap = 1 << 20;
	unsigned *lat = malloc(cap * sizeof(*lat));

	snprintf(req, sizeof(req), "%s %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
	    "Content-Length: 0\r\nConnection: close\r\n\r\n", argv[7], argv[8], port);
	if (procs < 1 || procs > 64 || lat == NULL)
		return 2;
	for (int p = 0; p < procs; p++) {
		if (pipe(fds[p]) != 0)
			return 1;
		if (fork() == 0) {
			SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
			unsigned long ok = 0, fail = 0;
			double end = t0 + secs;

			close(fds[p][0]);
			if (ctx == NULL || SSL_CTX_load_verify_locations(ctx, argv[2], NULL) != 1 ||
			    SSL_CTX_use_certificate_chain_file(ctx, argv[3]) != 1 ||
			    SSL_CTX_use_PrivateKey_file(ctx, argv[4], SSL_FILETYPE_PEM) != 1) {
				ERR_print_errors_fp(stderr);
				_exit(1);
			}
			SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
			SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
			SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
			for (double t = now(); t < end; ) {
				int r = one(ctx, port, req);
				double t2 = now();
				unsigned us = (unsigned)((t2 - t) * 1e6);

				if (r) {
					ok++;
					if (write(fds[p][1], &us, sizeof(us)) != sizeof(us))
						_exit(1);
				} else {
					fail++;
				}
				t = t2;
			}
			unsigned mark = 0xffffffffu;
			if (write(fds[p][1], &mark, sizeof(mark)) != sizeof(mark) ||
			    write(fds[p][1], &ok, sizeof(ok)) != sizeof(ok) ||
			    write(fds[p][1], &fail, sizeof(fail)) != sizeof(fail))
				_exit(1);
			_exit(0);
		}
		close(fds[p][1]);
	}
	for (int p = 0; p < procs; p++) {
		unsigned v;
		unsigned long ok = 0, fail = 0;

		while (read(fds[p][0], &v, sizeof(v)) == sizeof(v)) {
			if (v == 0xffffffffu) {
				if (read(fds[p][0], &ok, sizeof(ok)) != sizeof(ok) ||
				    read(fds[p][0], &fail, sizeof(fail)) != sizeof(fail))
					return 1;
				break;
			}
			if (nlat == cap && (lat = realloc(lat, (cap *= 2) * sizeof(*lat))) == NULL)
				return 1;
			lat[nlat++] = v;
		}
		tok += ok;
		tfail += fail;
		close(fds[p][0]);
	}
	while (wait(NULL) > 0)
		;
	double el = now() - t0;
	qsort(lat, nlat, sizeof(*lat), cmp);
	printf("%lu %lu %.3f %.2f %.2f\n", tok, tfail, el,
	    nlat ? lat[nlat / 2] / 1000.0 : 0, nlat ? lat[(nlat * 99) / 100] / 1000.0 : 0);
	return 0;
}
EOF
cc -O2 -Wall -o "$tmp/hsclient" "$tmp/hsclient.c" -lssl -lcrypto

# ---- a CA, a company certificate, the hall and nginx ----
port=$((20000 + RANDOM % 20000)); hport=$((port + 1)); nport=$((port + 2)); mport=$((port + 3))
D=$tmp/ca; H=$tmp/hall; N=$tmp/nginx
say "hall_tls: CA, certificates, hall on :$hport, nginx on :$nport (verify on) and :$mport"
log=$tmp/setup.log      # the setup commands' own log lines
"$onecert" ca init --dir "$D" --algo ec --base-url "http://127.0.0.1:$port" >/dev/null 2>>"$log"
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$tmp/company.key" \
	-subj "/CN=x" -out "$tmp/company.csr" 2>/dev/null
"$onecert" ca issue --dir "$D" --csr "$tmp/company.csr" --name "上海浦江建筑工程有限公司" \
	--uscc 91310115MA1FL8XY7N --out "$tmp/company.pem" >/dev/null 2>>"$log"
"$onecert" ca issue-tls --dir "$D" --name 127.0.0.1 --out "$tmp/tls.pem" --key-out "$tmp/tls.key" >/dev/null 2>>"$log"
"$onecert" ca serve --dir "$D" --listen "127.0.0.1:$port" >"$tmp/ca.log" 2>&1 & pids+=($!)
"$onecert" hall init --dir "$H" --trust "$D/ca.pem" --tls-cert "$tmp/tls.pem" --tls-key "$tmp/tls.key" \
	--tls-listen "127.0.0.1:$hport" >/dev/null 2>>"$log"
"$onecert" hall serve --dir "$H" >"$tmp/hall.log" 2>&1 & pids+=($!)

nginx_conf "$N"
cat >>"$N/nginx.conf" <<EOF
    ssl_certificate $tmp/tls.pem;
    ssl_certificate_key $tmp/tls.key;
    ssl_client_certificate $D/ca.pem;
    ssl_session_cache off;
    ssl_session_tickets off;
    keepalive_requests 1000000;
    default_type application/json;
    # handshakes: the client certificate is required and its chain verified
    server {
        listen 127.0.0.1:$nport ssl;
        ssl_verify_client on;
        ssl_verify_depth 2;
        location / { return 200 '{}'; }
    }
    # /api/v1/me: asked for, not required, as the hall does
    server {
        listen 127.0.0.1:$mport ssl;
        ssl_verify_client optional;
        ssl_verify_depth 2;
        location / { return 200 '{}'; }
    }
}
EOF
nginx_start "$N"

C=(--cacert "$D/ca.pem" --cert "$tmp/company.pem" --key "$tmp/company.key")
all_up() {
	curl -sf --cacert "$D/ca.pem" "https://127.0.0.1:$hport/healthz" >/dev/null 2>&1 &&
		curl -sf "${C[@]}" "https://127.0.0.1:$nport/" >/dev/null 2>&1 &&
		curl -sf "http://127.0.0.1:$port/healthz" >/dev/null 2>&1
}
retry 100 all_up || { cat "$log" "$tmp/ca.log" "$tmp/hall.log" "$N/error.log" >&2; say "hall_tls: services did not start"; exit 1; }
# a first login fetches the OCSP answer the hall then caches (trust.ocsp_max_age 5m)
code=$(curl -s -o /dev/null -w '%{http_code}' "${C[@]}" -c "$tmp/jar" -X POST "https://127.0.0.1:$hport/api/v1/login/tls")
[ "$code" = 200 ] || { say "hall_tls: the warm-up login failed ($code)"; exit 1; }
cookie=$(awk '$6 == "oc_session" { print $7 }' "$tmp/jar")
[ -n "$cookie" ] || { say "hall_tls: no session cookie"; exit 1; }
curl -sf --cacert "$D/ca.pem" -b "$tmp/jar" "https://127.0.0.1:$hport/api/v1/me" | grep -q company_name ||
	{ say "hall_tls: /api/v1/me does not answer with the session"; exit 1; }

# CPU time: ticks (bench/lib.sh) counts a process and its children
# (nginx's workers, the hall's threads are in its own line)
hall_pid=${pids[1]}; nginx_pid=${pids[2]}
# server CPU ms per request between two tick counts and a request count
per() { awk -v a="$1" -v b="$2" -v n="$3" -v hz="$hz" 'BEGIN { printf "%.3f", n ? (b - a) * 1000 / hz / n : 0 }'; }

# ---- 1. handshakes ----
hs() { # port server_pid method path -> "ok fail secs p50 p99 cpu_ms_per_conn"
	local t0 t1 r
	t0=$(ticks "$2")
	r=$("$tmp/hsclient" "$1" "$D/ca.pem" "$tmp/company.pem" "$tmp/company.key" "$secs" "$procs" "$3" "$4")
	t1=$(ticks "$2")
	echo "$r $(per "$t0" "$t1" "$(cut -d' ' -f1 <<<"$r")")"
}
say "hall_tls: full handshakes + login, hall ($procs client processes, ${secs}s)"
h_login=$(hs "$hport" "$hall_pid" POST /api/v1/login/tls)
sleep 1
say "hall_tls: full handshakes (client certificate verified) + 200, nginx"
n_login=$(hs "$nport" "$nginx_pid" POST /api/v1/login/tls)
sleep 1
say "hall_tls: full handshakes + GET /healthz (no login), hall"
h_health=$(hs "$hport" "$hall_pid" GET /healthz)
sleep 1

# ---- 2. GET /api/v1/me, keep-alive ----
cat >"$tmp/me.lua" <<EOF
wrk.method = "GET"
wrk.headers["Cookie"] = "oc_session=$cookie"
EOF
wrkrun() { # url server_pid -> "req/s p50_ms p99_ms non2xx cpu_ms_per_req"
	local t0 t1 r
	t0=$(ticks "$2")
	wrk -t "$wthreads" -c "$conns" -d "${secs}s" --latency -s "$tmp/me.lua" "$1" >"$tmp/wrk.out" 2>&1 || true
	awk '
		function ms(v) { if (v ~ /us$/) return v / 1000; if (v ~ /ms$/) return v + 0; if (v ~ /s$/) return v * 1000; return v }
		/Requests\/sec:/ { rps = $2 }
		/^ +50%/ { p50 = ms($2) }
		/^ +99%/ { p99 = ms($2) }
		/Non-2xx/ { bad = $NF }
		/Socket errors/ { bad = bad "+" $0 }
		END { printf "%.0f %.2f %.2f %s\n", rps, p50, p99, bad == "" ? 0 : bad }' "$tmp/wrk.out" >"$tmp/wrk.row"
	t1=$(ticks "$2")
	r=$(cat "$tmp/wrk.row")
	echo "$r $(per "$t0" "$t1" "$(awk -v s="$secs" '{ printf "%.0f", $1 * s }' <<<"$r")")"
}
say "hall_tls: GET /api/v1/me keep-alive, hall (wrk -t$wthreads -c$conns)"
h_me=$(wrkrun "https://127.0.0.1:$hport/api/v1/me" "$hall_pid")
sleep 1
say "hall_tls: GET /api/v1/me keep-alive, nginx return 200"
n_me=$(wrkrun "https://127.0.0.1:$mport/api/v1/me" "$nginx_pid")

# the hall's logins were real: sessions in its database
sessions=$(sqlite3 "$H/hall.db" "SELECT count(*) FROM sessions" 2>/dev/null || echo "?")

# ---- the table ----
rate() { awk '{ printf "%.0f", $1 / $3 }' <<<"$1"; }
f() { awk -v i="$2" '{ print $i }' <<<"$1"; }
hr=$(rate "$h_login"); nr=$(rate "$n_login"); hh=$(rate "$h_health")
r1=$(awk -v a="$hr" -v b="$nr" 'BEGIN { printf "%.2f", b ? a / b : 0 }')
r1h=$(awk -v a="$hh" -v b="$nr" 'BEGIN { printf "%.2f", b ? a / b : 0 }')
r2=$(awk -v a="$(f "$h_me" 1)" -v b="$(f "$n_me" 1)" 'BEGIN { printf "%.2f", b ? a / b : 0 }')
cpu=$(cpu_model)
ngv=$(nginx_version)
wrkv=$(deb_version wrk)
row() { printf '%-44s %9s %8s %8s %6s %9s %6s\n' "$@"; }
echo
row "full TLS handshake + request per connection" "conn/s" "p50 ms" "p99 ms" fails "cpu ms" ratio
row "hall: POST /api/v1/login/tls (real login)" "$hr" "$(f "$h_login" 4)" "$(f "$h_login" 5)" "$(f "$h_login" 2)" "$(f "$h_login" 6)" "$r1"
row "nginx: ssl_verify_client on, return 200" "$nr" "$(f "$n_login" 4)" "$(f "$n_login" 5)" "$(f "$n_login" 2)" "$(f "$n_login" 6)" "1.00"
row "hall: GET /healthz (TLS only, no login)" "$hh" "$(f "$h_health" 4)" "$(f "$h_health" 5)" "$(f "$h_health" 2)" "$(f "$h_health" 6)" "$r1h"
echo
row "GET /api/v1/me, keep-alive" "req/s" "p50 ms" "p99 ms" "non2xx" "cpu ms" ratio
row "hall: session cookie, JSON of the account" "$(f "$h_me" 1)" "$(f "$h_me" 2)" "$(f "$h_me" 3)" "$(f "$h_me" 4)" "$(f "$h_me" 5)" "$r2"
row "nginx: return 200 '{}'" "$(f "$n_me" 1)" "$(f "$n_me" 2)" "$(f "$n_me" 3)" "$(f "$n_me" 4)" "$(f "$n_me" 5)" "1.00"
cat <<EOT

$cores × $cpu; OpenSSL $(openssl_version), nginx $ngv ($cores workers), wrk $wrkv
handshakes: $procs client processes (bench/hall_tls.sh's C client), ${secs}s each, TLS 1.3,
  ECDSA P-256 server and client certificates, no resumption; clients share the cores
me: wrk -t$wthreads -c$conns -d${secs}s; hall sessions stored during the run: $sessions
cpu ms    = the server's own CPU time (all its threads or worker processes) per
            connection or request during the run: what the rate costs it
ratio     = hall rate / nginx rate; targets (issue 4): logins ≥ 1.0, me ≥ 0.6
EOT
