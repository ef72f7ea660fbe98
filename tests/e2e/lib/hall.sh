# tests/e2e/lib/hall.sh — calling the hall's API as one of the test's
# certificates, shared by the hall's e2e scripts.  Uses the caller's
# globals: C (curl's TLS options, e.g. --cacert), T (the temp folder, where
# $T/WHO.pem and $T/WHO.key are the certificate and key of WHO and
# $T/jar.WHO its cookie jar), URL (the hall's https://host:port) and
# CSRF (declare -A CSRF: WHO → the session's CSRF token).

# login WHO — log in over TLS with WHO's certificate; keeps its cookie and
# CSRF token, fails the test if no session came back
login() {
	local r
	r=$(curl -s "${C[@]}" -c "$T/jar.$1" --cert "$T/$1.pem" --key "$T/$1.key" -X POST "$URL/api/v1/login/tls")
	CSRF[$1]=$(echo "$r" | sed -nE 's/.*"csrf":"([^"]+)".*/\1/p')
	[ -n "${CSRF[$1]}" ] || { echo "$r" >&2; fail "login $1"; }
}
# api WHO METHOD PATH [JSON] — the body, then the status on the last line
api() {
	local who=$1 m=$2 p=$3
	shift 3
	if [ $# -gt 0 ]; then
		curl -s -w '\n%{http_code}' "${C[@]}" -b "$T/jar.$who" -H "X-CSRF-Token: ${CSRF[$who]}" \
			-H 'Content-Type: application/json' -X "$m" --data-binary "$1" "$URL/api/v1/$p"
	else
		curl -s -w '\n%{http_code}' "${C[@]}" -b "$T/jar.$who" -H "X-CSRF-Token: ${CSRF[$who]}" -X "$m" "$URL/api/v1/$p"
	fi
}
# upload WHO APP_ID FILE [CONTENT_TYPE] — PUT the scan of an application
upload() {
	curl -s -w '\n%{http_code}' "${C[@]}" -b "$T/jar.$1" -H "X-CSRF-Token: ${CSRF[$1]}" \
		-H "Content-Type: ${4:-image/jpeg}" -X PUT --data-binary "@$3" "$URL/api/v1/applications/$2/scan"
}
# flat TEXT — on one line (for expect_grep on a body and its status)
flat() { tr -d '\n' <<<"$1"; }
# scan WHO APP_ID NAME — the application's PDF form ($T/NAME.pdf), printed,
# signed and "scanned" by pdftoppm into $T/NAME.jpg
scan() {
	curl -sf "${C[@]}" -b "$T/jar.$1" -o "$T/$3.pdf" "$URL/api/v1/applications/$2/form.pdf" || fail "download the PDF of $2"
	pdftoppm -jpeg -r 100 -jpegopt quality=75 -singlefile "$T/$3.pdf" "$T/$3" || fail "render the scan of $2"
}
# sms_code MOBILE — the last SMS code sent to MOBILE, from the hall's outbox
# (uses ONECERT and H, the hall's folder)
sms_code() {
	"$ONECERT" admin outbox --dir "$H" --to "$1" --json | grep -oE '验证码为[0-9]{6}' | tail -1 | grep -oE '[0-9]{6}'
}
# wait_up — until the hall ($URL) and the CA service ($BASE) answer
# /healthz (10 s at most), else fail the test with the hall's log
# ($T/hall.log)
wait_up() {
	for _ in $(seq 50); do curl -sf "${C[@]}" "$URL/healthz" >/dev/null 2>&1 &&
		curl -sf "$BASE/healthz" >/dev/null 2>&1 && return 0; sleep 0.2; done
	cat "$T/hall.log" >&2; fail "the hall and the CA service are up"
}
