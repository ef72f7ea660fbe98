#!/bin/bash
# hall_proxy.sh — the hall behind a real nginx (RFC 9440, SPEC §4.1): nginx
# terminates TLS, asks for the client certificate and passes it on in a
# Client-Cert header built by docs/nginx-hall.conf's map block (taken from
# that file, so the shipped example is what runs here); the hall believes
# the header only from nginx's address (hall.ini [hall] proxies).  A
# company logs in through nginx, a revoked or untrusted certificate is
# refused by the hall behind it, and a Client-Cert a client forges is
# dropped by nginx or, sent straight to the hall, ignored.
. "$(dirname "$0")/lib/common.sh"
SRC=${ONECERT_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
CONF="$SRC/docs/nginx-hall.conf"
command -v nginx >/dev/null || fail "nginx is installed (scripts/bootstrap installs nginx-light)"
D="$T/ca"; D2="$T/other"; H="$T/hall"; N="$T/nginx"
reserve_ports; HPORT=$((PORT + 1)); NPORT=$((PORT + 2))
BASE="http://127.0.0.1:$PORT"
PROXY=127.0.0.2          # nginx connects to the hall from here, and only nginx does
NAME="上海浦江建筑工程有限公司"; USCC=91310115MA1FL8XY7N
PIDS=()
trap 'for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done; wait 2>/dev/null; rm -rf "$T"' EXIT

expect_ok "CA" "$ONECERT" ca init --dir "$D" --algo ec --base-url "$BASE"
printf '\n[serve]\nrevocation_interval = 1\nocsp_validity = 120\nocsp_refresh_before = 60\n' >> "$D/ca.ini"
expect_ok "another CA the hall does not trust" "$ONECERT" ca init --dir "$D2" --algo ec --name "Untrusted CA" --dev-file-keys
issue() { # dir file name uscc
	new_csr ec "$T/$2.key" "$T/$2.csr"
	"$ONECERT" ca issue --dir "$1" --csr "$T/$2.csr" --name "$3" --uscc "$4" --out "$T/$2.pem" >/dev/null || fail "issue $2"
}
issue "$D" company "$NAME" "$USCC"
issue "$D" revoked "$NAME" "$USCC"
issue "$D2" foreign "$NAME" "$USCC"
# the hall's certificate names a DNS name: nginx checks the upstream's
# name with X509_check_host, which matches DNS names only, not IP SANs
expect_ok "TLS certificate (hall.test) for the hall and nginx" "$ONECERT" ca issue-tls --dir "$D" \
	--name hall.test --out "$T/tls.pem" --key-out "$T/tls.key"
"$ONECERT" ca serve --dir "$D" --listen "127.0.0.1:$PORT" >"$T/ca.log" 2>&1 & PIDS+=($!)
expect_ok "hall init" "$ONECERT" hall init --dir "$H" --trust "$D/ca.pem" \
	--tls-cert "$T/tls.pem" --tls-key "$T/tls.key" --tls-listen "127.0.0.1:$HPORT"
sed -i "/^\[hall\]/a proxies = $PROXY" "$H/hall.ini"
grep -q "^proxies = $PROXY" "$H/hall.ini" || fail "hall.ini names the proxy"
"$ONECERT" hall serve --dir "$H" >"$T/hall.log" 2>&1 & PIDS+=($!)

# ---- nginx, everything it writes inside $N ----
mkdir -p "$N/tmp"
sed -n '/client-cert-map:begin/,/client-cert-map:end/p' "$CONF" > "$N/map.conf"
grep -q 'map $ssl_client_raw_cert $client_cert_rfc9440' "$N/map.conf" || fail "docs/nginx-hall.conf has the Client-Cert map"
# the header lines and the client-certificate request exactly as the example has them
HDRS=$(grep -E '^\s*proxy_set_header (Host|Client-Cert|Client-Cert-Chain) ' "$CONF")
VERIFY=$(grep -E '^\s*ssl_verify_client ' "$CONF" | sed 's/#.*//')
[ "$(echo "$HDRS" | wc -l)" = 3 ] && [ -n "$VERIFY" ] || fail "docs/nginx-hall.conf sets Host, Client-Cert, Client-Cert-Chain and ssl_verify_client"
USER_LINE=""
[ "$(id -u)" = 0 ] && USER_LINE="user root;"   # workers write $N/tmp, inside a 0700 temp dir
cat > "$N/nginx.conf" <<EOF
$USER_LINE
daemon off;
worker_processes 1;
pid $N/nginx.pid;
error_log $N/error.log warn;
events { worker_connections 256; }
http {
    access_log $N/access.log;
    client_body_temp_path $N/tmp/body;
    proxy_temp_path $N/tmp/proxy;
    fastcgi_temp_path $N/tmp/fastcgi;
    uwsgi_temp_path $N/tmp/uwsgi;
    scgi_temp_path $N/tmp/scgi;
    include $N/map.conf;
    server {
        listen 127.0.0.1:$NPORT ssl;
        ssl_certificate $T/tls.pem;
        ssl_certificate_key $T/tls.key;
$VERIFY
        ssl_client_certificate $D/ca.pem;
        location / {
            proxy_pass https://127.0.0.1:$HPORT;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
$HDRS
            proxy_bind $PROXY;
            proxy_ssl_trusted_certificate $D/ca.pem;
            proxy_ssl_verify on;
            proxy_ssl_verify_depth 2;
            proxy_ssl_name hall.test;
            proxy_ssl_server_name on;
        }
    }
}
EOF
expect_ok "nginx -t accepts the configuration" nginx -t -p "$N" -c "$N/nginx.conf" -e "$N/error.log"
nginx -p "$N" -c "$N/nginx.conf" -e "$N/error.log" & PIDS+=($!)

NX=(--cacert "$D/ca.pem" --resolve "hall.test:$NPORT:127.0.0.1")
NURL="https://hall.test:$NPORT"
HX=(--cacert "$D/ca.pem" --resolve "hall.test:$HPORT:127.0.0.1")
HURL="https://hall.test:$HPORT"
for _ in $(seq 50); do curl -sf "${NX[@]}" "$NURL/healthz" >/dev/null 2>&1 &&
	curl -sf "$BASE/healthz" >/dev/null 2>&1 && break; sleep 0.2; done
curl -sf "${NX[@]}" "$NURL/healthz" >/dev/null || { cat "$T/hall.log" "$N/error.log" >&2; fail "the hall answers through nginx"; }
ok "CA service, hall and nginx in front of it are up"
expect_ok "revoke one certificate" "$ONECERT" ca revoke --dir "$D" --serial "$(serial_of "$T/revoked.pem")" --reason keyCompromise
sleep 2

# ---- through nginx ----
login() { # who [curl options…]
	local who=$1; shift
	curl -s -w '\n%{http_code}' "${NX[@]}" -c "$T/jar.$who" -b "$T/jar.$who" \
		--cert "$T/$who.pem" --key "$T/$who.key" "$@" -X POST "$NURL/api/v1/login/tls"
}
R=$(login company)
expect_grep "a company certificate logs in through nginx → 200" "^200$" "$R"
ME=$(curl -s "${NX[@]}" -b "$T/jar.company" "$NURL/api/v1/me")
expect_grep "me through nginx: 企业名称" "\"company_name\":\"$NAME\"" "$ME"
expect_grep "me through nginx: 机构代码证" "\"org_code\":\"$USCC\"" "$ME"
expect_grep "me through nginx: 证书序列号 of the certificate given to nginx" "\"serial\":\"$(serial_of "$T/company.pem")\"" "$ME"
SRC_ADDR=$(sqlite3 "$H/hall.db" "SELECT source FROM audit WHERE action = 'login' ORDER BY id DESC LIMIT 1")
[ "$SRC_ADDR" = "$PROXY" ] || fail "the hall saw the login come from nginx ($SRC_ADDR)"
ok "the hall saw the login arrive from nginx's address $PROXY"
grep -q '"POST /api/v1/login/tls HTTP/1.1" 200' "$N/access.log" || fail "nginx logged the login"
ok "nginx's access log shows the login it proxied"
R=$(login company -H "Origin: https://hall.test:$NPORT")
expect_grep "a same-origin browser login through nginx → 200 (Host passed on with its port)" "^200$" "$R"
R=$(login company -H "Origin: https://evil.example")
expect_grep "a cross-site login through nginx → 403" "^403$" "$R"

R=$(login revoked)
expect_grep "a revoked certificate through nginx → 403 in Chinese (the hall judged it)" "(吊销|撤销).*403$" "$(echo "$R" | tr -d '\n')"
R=$(login foreign)
expect_grep "a certificate of an untrusted CA through nginx → 403 in Chinese" "受信任.*403$" "$(echo "$R" | tr -d '\n')"

B64=$(openssl x509 -in "$T/company.pem" -outform DER | base64 -w0)
R=$(curl -s -w '\n%{http_code}' "${NX[@]}" -H "Client-Cert: :$B64:" -X POST "$NURL/api/v1/login/tls")
expect_grep "a Client-Cert a client sends to nginx without a certificate is dropped → 401" "未收到数字证书.*401$" "$(echo "$R" | tr -d '\n')"
R=$(login revoked -H "Client-Cert: :$B64:")
expect_grep "nginx replaces a forged Client-Cert with the connection's own certificate (revoked → 403)" "(吊销|撤销).*403$" "$(echo "$R" | tr -d '\n')"
R=$(login company -H "Client-Cert-Chain: :bm90IGEgY2VydGlmaWNhdGU=:")
expect_grep "a client's Client-Cert-Chain is dropped by nginx (no 400 from the hall) → 200" "^200$" "$R"

# ---- straight to the hall, not through nginx ----
R=$(curl -s -w '\n%{http_code}' "${HX[@]}" -H "Client-Cert: :$B64:" -X POST "$HURL/api/v1/login/tls")
expect_grep "a forged Client-Cert sent straight to the hall from 127.0.0.1 (not a proxy) is ignored → 401" \
	"未收到数字证书.*401$" "$(echo "$R" | tr -d '\n')"
R=$(curl -s -w '\n%{http_code}' "${HX[@]}" --interface "$PROXY" -H "Client-Cert: :$B64:" -X POST "$HURL/api/v1/login/tls")
expect_grep "the same header from the proxy's address is believed (the 401 above is the address check)" "^200$" "$R"
R=$(curl -s -w '\n%{http_code}' "${HX[@]}" --interface "$PROXY" -H "Client-Cert: $(openssl x509 -in "$T/company.pem" | tr -d '\n')" -X POST "$HURL/api/v1/login/tls")
expect_grep "a PEM (not RFC 9440) Client-Cert from the proxy → 400" "Client-Cert.*400$" "$(echo "$R" | tr -d '\n')"
done_tests
