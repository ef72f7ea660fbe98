#!/bin/bash
# hall_sessions.sh — a hall session's life by the clock (issue 4: "idle
# timeout"), and what is left of sessions nobody comes back to.  A real CA
# service behind the hall; hall.session_idle = 3s.
#  - a session used within session_idle goes on; one left idle longer is
#    refused (401) and its row deleted;
#  - sessions left behind (a certificate that logs in again and again and
#    walks away, as a script or a crawler would) do not pile up: each login
#    deletes up to four sessions idle past session_idle, oldest first, and
#    a hall that starts deletes every one left from while it was down;
#  - a live session is never among them.
. "$(dirname "$0")/lib/common.sh"
. "$(dirname "$0")/lib/hall.sh"
D="$T/ca"; H="$T/hall"
reserve_ports; HPORT=$((PORT + 1))
BASE="http://127.0.0.1:$PORT"
NAME="上海浦江建筑工程有限公司"; USCC=91310115MA1FL8XY7N
PIDS=()
trap 'for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done; wait 2>/dev/null; rm -rf "$T"' EXIT

expect_ok "CA" "$ONECERT" ca init --dir "$D" --algo ec --base-url "$BASE"
for u in a1 a2; do
	new_csr ec "$T/$u.key" "$T/$u.csr"
	"$ONECERT" ca issue --dir "$D" --csr "$T/$u.csr" --name "$NAME" --uscc "$USCC" --out "$T/$u.pem" >/dev/null || fail "issue $u"
done
expect_ok "TLS certificate for the hall" "$ONECERT" ca issue-tls --dir "$D" --name 127.0.0.1 --out "$T/hall-tls.pem" --key-out "$T/hall-tls.key"
"$ONECERT" ca serve --dir "$D" --listen "127.0.0.1:$PORT" >"$T/ca.log" 2>&1 & PIDS+=($!)
expect_ok "hall init" "$ONECERT" hall init --dir "$H" --trust "$D/ca.pem" \
	--tls-cert "$T/hall-tls.pem" --tls-key "$T/hall-tls.key" --tls-listen "127.0.0.1:$HPORT"
sed -i 's/^session_idle = .*/session_idle = 3s/' "$H/hall.ini"
grep -q '^session_idle = 3s$' "$H/hall.ini" || fail "session_idle set in hall.ini"

URL="https://127.0.0.1:$HPORT"
C=(--cacert "$D/ca.pem")
declare -A CSRF
q() { sqlite3 "$H/hall.db" "$1"; }
start_hall() {   # at level info: the start says how many sessions it deleted
	ONECERT_LOG_LEVEL=info "$ONECERT" hall serve --dir "$H" >>"$T/hall.log" 2>&1 & HALL=$!; PIDS+=($HALL)
	wait_up
}
# N sessions of a1 left behind long ago (last seen an hour back)
dead() {
	local now; now=$(date +%s); DEADT=$now
	q "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $1)
	   INSERT INTO sessions (id_hash, account_id, csrf, serial, created_at, last_seen, checked_at, cert)
	   SELECT lower(hex(randomblob(32))), s.account_id, 'x', s.serial, $now - 3600 - i, $now - 3600 - i,
	          $now - 3600, s.cert FROM n, (SELECT * FROM sessions WHERE serial = '$(serial_of "$T/a1.pem")' LIMIT 1) s"
}
me() { curl -s -o /dev/null -w '%{http_code}' "${C[@]}" -b "$T/jar.$1" "$URL/api/v1/me"; }
start_hall
ok "CA service and hall are up"

login a1; login a2
[ "$(me a1)" = 200 ] || fail "a1's session works"
ok "two certificates log in; /me answers"

# --- idle timeout ---------------------------------------------------------
sleep 1.5; [ "$(me a1)" = 200 ] || fail "a1 used within session_idle"
sleep 1.5; [ "$(me a1)" = 200 ] || fail "a1 used again within session_idle"
ok "a session used within session_idle (3 s) goes on past it"
sleep 4
A2ROWS=$(q "SELECT count(*) FROM sessions WHERE serial = '$(serial_of "$T/a2.pem")'")
[ "$A2ROWS" = 1 ] || fail "a2's idle session is still a row until someone acts ($A2ROWS)"
R=$(curl -s -w '\n%{http_code}' "${C[@]}" -b "$T/jar.a2" "$URL/api/v1/me")
expect_grep "a session idle longer than session_idle is refused (401)" '401$' "$(flat "$R")"
[ "$(q "SELECT count(*) FROM sessions WHERE serial = '$(serial_of "$T/a2.pem")'")" = 0 ] || fail "a2's row is gone"
ok "…and its row is deleted"

# --- sessions nobody comes back to ----------------------------------------
login a1
dead 10
N0=$(q "SELECT count(*) FROM sessions")
[ "$N0" = 11 ] || fail "a1's new session + 10 left behind (its login deleted a1's idle first one): $N0"
login a2
N1=$(q "SELECT count(*) FROM sessions")
[ "$N1" = 8 ] || fail "a login deletes four idle sessions and adds its own: 11 - 4 + 1 = 8, not $N1"
ok "a login deletes up to four sessions idle past session_idle (11 → 8)"
[ "$(q "SELECT count(*) FROM sessions WHERE last_seen < $DEADT - 3600 - 6")" = 0 ] || fail "the four oldest went"
ok "…oldest first"
for _ in 1 2; do login a2; done
N2=$(q "SELECT count(*) FROM sessions")
[ "$N2" = 4 ] || fail "two more logins delete the 6 dead ones left and add 2: 4 live, not $N2"
[ "$(me a1)" = 200 ] && [ "$(me a2)" = 200 ] || fail "the live sessions work"
ok "two more logins leave only live sessions (4); the live ones still work"

# a hall that starts deletes every session idle past session_idle
dead 25
kill "$HALL"; wait "$HALL" 2>/dev/null
sleep 4.2     # idle while the hall is down: last_seen is whole seconds, so past 3 s surely
start_hall
[ "$(q "SELECT count(*) FROM sessions")" = 0 ] || fail "every idle session deleted at start: $(q "SELECT count(*) FROM sessions") left"
expect_grep "a restarted hall deletes the sessions idle past session_idle, and says how many" \
	'hall.sessions_pruned.*n=29' "$(cat "$T/hall.log")"
login a1
[ "$(me a1)" = 200 ] || fail "logins go on"
ok "logins go on"
done_tests
