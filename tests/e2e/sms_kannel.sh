#!/bin/bash
# sms_kannel.sh — the hall's SMS through a real Kannel: bearerbox, smsbox
# (HTTP sendsms) and kannel-extras' fakesmsc standing in for the operator's
# SMSC, all on free loopback ports.  `onecert admin send-sms` must reach
# fakesmsc with the Chinese text intact (UCS-2), the outbox must record
# it as sent with the login code masked, a wrong sendsms password must be
# refused by Kannel (403) and a stopped smsbox must fail clearly; both are
# recorded as failed.  Also: the segment import and outbox listing of
# `onecert admin`.
. "$(dirname "$0")/lib/common.sh"
BEARERBOX=/usr/sbin/bearerbox SMSBOX=/usr/sbin/smsbox FAKESMSC=/usr/lib/kannel/test/fakesmsc
for b in "$BEARERBOX" "$SMSBOX" "$FAKESMSC"; do
	[ -x "$b" ] || fail "$b is missing (apt-get install kannel kannel-extras, or scripts/bootstrap)"
done
D="$T/ca"; H="$T/hall"; K="$T/kannel"
SRC=${ONECERT_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
MOBILE=13816001234
declare -A PID=()
stop() { # name: TERM, then KILL if it lingers
	local p=${PID[$1]:-}
	[ -n "$p" ] || return 0
	kill "$p" 2>/dev/null
	for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
	kill -9 "$p" 2>/dev/null
	wait "$p" 2>/dev/null
	unset "PID[$1]"
}
trap 'stop fakesmsc; stop smsbox; stop bearerbox; rm -rf "$T"' EXIT
reserve_ports
ADMIN=$PORT; BOX=$((PORT + 1)); SMSC=$((PORT + 2)); SENDSMS=$((PORT + 3))

# --- Kannel: one configuration for bearerbox and smsbox ---------------------
mkdir -p "$K"
cat > "$K/kannel.conf" <<EOF
group = core
admin-port = $ADMIN
admin-interface = 127.0.0.1
admin-password = adminpw
admin-allow-ip = 127.0.0.1
smsbox-port = $BOX
smsbox-interface = 127.0.0.1
box-allow-ip = 127.0.0.1
log-file = "$K/bearerbox.log"
log-level = 1

group = smsc
smsc = fake
smsc-id = fake
host = 127.0.0.1
port = $SMSC
connect-allow-ip = 127.0.0.1

group = smsbox
bearerbox-host = 127.0.0.1
bearerbox-port = $BOX
sendsms-port = $SENDSMS
sendsms-interface = 127.0.0.1
log-file = "$K/smsbox.log"
log-level = 1

group = sendsms-user
username = hall
password = "s3cret-pw"

group = sms-service
keyword = default
text = "ok"
EOF
kannel_logs() { tail -n 20 "$K"/*.log "$K"/*.out >&2 2>/dev/null; }
"$BEARERBOX" "$K/kannel.conf" >"$K/bearerbox.out" 2>&1 & PID[bearerbox]=$!
for _ in $(seq 50); do curl -s "http://127.0.0.1:$ADMIN/status.txt?password=adminpw" >/dev/null && break; sleep 0.2; done
curl -s "http://127.0.0.1:$ADMIN/status.txt?password=adminpw" | grep -q "Kannel bearerbox" ||
	{ kannel_logs; fail "bearerbox is up"; }
"$SMSBOX" "$K/kannel.conf" >"$K/smsbox.out" 2>&1 & PID[smsbox]=$!
"$FAKESMSC" -H 127.0.0.1 -r "$SMSC" -m 0 "100 200 text x" >"$K/fakesmsc.out" 2>&1 & PID[fakesmsc]=$!
for _ in $(seq 50); do
	curl -s "http://127.0.0.1:$SENDSMS/" >/dev/null &&
	curl -s "http://127.0.0.1:$ADMIN/status.txt?password=adminpw" | grep -Eq "fake.*online" && break
	sleep 0.2
done
curl -s "http://127.0.0.1:$ADMIN/status.txt?password=adminpw" | grep -Eq "fake.*online" ||
	{ kannel_logs; fail "fakesmsc is connected to bearerbox"; }
ok "Kannel is up: bearerbox, smsbox (sendsms :$SENDSMS), fakesmsc online"

# --- a hall whose [sms] backend is this Kannel -------------------------------
expect_ok "a throwaway CA for the hall's trust anchor" "$ONECERT" ca init --dir "$D" --algo ec --dev-file-keys
expect_ok "hall init" "$ONECERT" hall init --dir "$H" --trust "$D/ca.pem"
printf '\n[sms]\nbackend = kannel\nkannel_url = http://127.0.0.1:%s/cgi-bin/sendsms\nkannel_user = hall\nkannel_password = s3cret-pw\nkannel_from = 10690000\ntimeout = 3s\n' \
	"$SENDSMS" >> "$H/hall.ini"
expect_ok "an empty outbox" "$ONECERT" admin outbox --dir "$H"
expect_grep "the empty outbox says so" "^no messages$" "$OUT"

expect_ok "import the segment fixture" "$ONECERT" admin import-segments --dir "$H" \
	--file "$SRC/tests/unit/data/segments_fixture.csv" --replace
expect_grep "import counts the segments" "imported 5 segments" "$OUT"
printf '1381600,上海市\n1381700,上海市,浦东\n' > "$T/bad.csv"
expect_fail "a malformed segment file is refused, naming the line" "第2行.*line 2" \
	"$ONECERT" admin import-segments --dir "$H" --file "$T/bad.csv"
expect_fail "admin on a folder that is not a hall" "not a hall directory" \
	"$ONECERT" admin outbox --dir "$T"
R=$("$ONECERT" admin send-sms --dir "$H" --text x 2>&1); rc=$?
[ "$rc" = 2 ] || { echo "$R" >&2; fail "send-sms without --to is a usage error (exit $rc)"; }
ok "send-sms without --to is a usage error (exit 2)"

# --- the message reaches the SMSC --------------------------------------------
expect_ok "admin send-sms through Kannel" "$ONECERT" admin send-sms --dir "$H" --to "$MOBILE" \
	--text '您的验证码是123456' --purpose sms_code
expect_grep "the gateway accepted it" "sent to $MOBILE via kannel \(202 0: Accepted for delivery\)" "$OUT"
for _ in $(seq 50); do grep -q "Got message" "$K/fakesmsc.out" && break; sleep 0.2; done
LINE=$(grep -m1 "Got message" "$K/fakesmsc.out") || { kannel_logs; fail "fakesmsc received a message"; }
GOT=$(printf '%s' "$LINE" | python3 -c '
import re, sys, urllib.parse
m = re.search(r"Got message \d+: <(\S+) (\S+) (\S+) (.*)>", sys.stdin.read())
frm, to, coding, text = m.groups()
if coding == "ucs-2":
    text = urllib.parse.unquote_to_bytes(text).decode("utf-16-be")
else:
    text = urllib.parse.unquote(text)
print("from=%s to=%s coding=%s text=%s" % (frm, to, coding, text))')
expect_grep "fakesmsc got it for $MOBILE from 10690000, in UCS-2, the Chinese text intact" \
	"^from=10690000 to=$MOBILE coding=ucs-2 text=您的验证码是123456$" "$GOT"

expect_ok "admin outbox --json" "$ONECERT" admin outbox --dir "$H" --json
CHECK=$(printf '%s' "$OUT" | python3 -c '
import json, re, sys
items = json.load(sys.stdin)["items"]
m = items[-1]
assert len(items) == 1, items
assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$", m["ts"]), m
print("to=%s via=%s status=%s purpose=%s text=%s" % (m["to"], m["via"], m["status"], m["purpose"], m["text"]))')
expect_grep "the outbox: via kannel, sent, the code masked" \
	"^to=$MOBILE via=kannel status=sent purpose=sms_code text=您的验证码是\*{6}$" "$CHECK"
if cat "$H"/hall.db* | grep -aq 123456; then fail "the login code is nowhere in the hall database"; fi
ok "the login code is nowhere in the hall database"
expect_ok "admin outbox (text)" "$ONECERT" admin outbox --dir "$H" --to "$MOBILE"
expect_grep "one line per message" "^#1 .* $MOBILE kannel/sent sms_code 您的验证码是\*{6} \(202 0: Accepted for delivery\)$" "$OUT"

# --- Kannel refuses a wrong password ------------------------------------------
sed -i 's/^kannel_password = .*/kannel_password = wrong/' "$H/hall.ini"
expect_fail "a wrong sendsms password: Kannel answers 403, named in the message" \
	"短信网关拒绝发送.*HTTP 403 Authorization failed" \
	"$ONECERT" admin send-sms --dir "$H" --to "$MOBILE" --text '申请已提交'
sed -i 's/^kannel_password = .*/kannel_password = s3cret-pw/' "$H/hall.ini"

# --- smsbox stops: a clear failure, recorded ----------------------------------
stop smsbox
expect_fail "send-sms with smsbox stopped fails with a clear message" \
	"无法连接短信网关 127\.0\.0\.1:$SENDSMS.*cannot reach the SMS gateway" \
	"$ONECERT" admin send-sms --dir "$H" --to 13816007777 --text '您的验证码是654321' --purpose sms_code
expect_ok "admin outbox --json --after 1" "$ONECERT" admin outbox --dir "$H" --json --after 1
CHECK=$(printf '%s' "$OUT" | python3 -c '
import json, sys
for m in json.load(sys.stdin)["items"]:
    print("%d %s %s %s %s" % (m["id"], m["to"], m["via"], m["status"], m["answer"]))')
expect_grep "the refused message is recorded as failed with Kannel's answer" \
	"^2 $MOBILE kannel failed 403 Authorization failed for sendsms$" "$CHECK"
expect_grep "the unreachable gateway is recorded as failed" \
	"^3 13816007777 kannel failed cannot connect to 127\.0\.0\.1:$SENDSMS" "$CHECK"
expect_ok "admin outbox --to" "$ONECERT" admin outbox --dir "$H" --to 13816007777 --json
expect_grep "--to lists only that number" '"to": "13816007777"' "$OUT"
if echo "$OUT" | grep -q "\"to\": \"$MOBILE\""; then fail "--to lists no other number"; fi
ok "--to lists no other number"
[ "$(grep -c "Got message" "$K/fakesmsc.out")" = 1 ] || fail "fakesmsc got exactly one message"
ok "fakesmsc got exactly one message"
done_tests
