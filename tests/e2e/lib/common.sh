# common.sh — helpers for the end-to-end tests.  Each test is a bash
# script that runs the real `onecert` binary ($ONECERT) and judges its
# output with tools nobody here wrote (openssl, pkcs11-tool).  A test
# prints "ok - …" per check and "N passed, 0 failed" at the end; the
# first failed check stops it with a non-zero exit.
set -u
: "${ONECERT:?ONECERT must point at the onecert binary}"
: "${ONECERT_TEST_TMP:=/tmp}"
mkdir -p "$ONECERT_TEST_TMP"
T=$(mktemp -d "$ONECERT_TEST_TMP/e2e.XXXXXX")
PASSED=0
SOFTHSM_MODULE=/usr/lib/softhsm/libsofthsm2.so
export ONECERT_LOG_LEVEL=error
trap 'rm -rf "$T"' EXIT

# reserve_ports — four loopback ports for this test's servers: PORT and the
# three after it.  They are taken below the kernel's ephemeral range, so no
# client connection of a test running beside this one can be given one of
# them while our server is starting, and each block of four is claimed by a
# symlink to $T under /tmp/onecert-ports: atomic to make, and stale once
# the test's EXIT trap has removed $T (every test's trap does).
reserve_ports() {
	local dir=/tmp/onecert-ports lo=10000 hi base tries
	mkdir -p "$dir" 2>/dev/null; chmod 1777 "$dir" 2>/dev/null
	hi=$(cut -f1 /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null) || hi=32768
	[ "${hi:-0}" -gt $((lo + 2000)) ] 2>/dev/null || { lo=20000; hi=40000; }
	for tries in $(seq 200); do
		base=$((lo + 4 * (RANDOM % ((hi - lo) / 4 - 1))))
		if [ -L "$dir/$base" ] && [ ! -e "$dir/$base" ]; then
			rm -f "$dir/$base"   # its test has ended
			continue
		fi
		ln -s "$T" "$dir/$base" 2>/dev/null || continue
		# nothing may listen there already (a server left over, or one
		# of another user's)
		if python3 -c '
import socket, sys
for p in range(int(sys.argv[1]), int(sys.argv[1]) + 4):
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", p)); s.close()' "$base" 2>/dev/null; then
			PORT=$base
			return 0
		fi
		rm -f "$dir/$base"
	done
	fail "four free loopback ports"
}

ok() { PASSED=$((PASSED + 1)); echo "ok - $*"; }
fail() {
	echo "FAIL - $*" >&2
	# who holds this test's ports (a server that would not start because
	# its reserved port was taken: once seen under TSan, cause not found)
	if [ -n "${PORT:-}" ] && command -v ss >/dev/null; then
		echo "sockets on ports $PORT-$((PORT + 3)):" >&2
		ss -tanp 2>/dev/null | grep -E ":($PORT|$((PORT + 1))|$((PORT + 2))|$((PORT + 3)))[[:space:]]" >&2
	fi
	echo "$PASSED passed, 1 failed"
	exit 1
}
done_tests() { echo "$PASSED passed, 0 failed"; exit 0; }

# expect_ok DESC CMD… — the command must succeed; its output is kept in $OUT.
expect_ok() {
	local desc=$1; shift
	if OUT=$("$@" 2>&1); then ok "$desc"; else echo "$OUT" >&2; fail "$desc (exit $?)"; fi
}
# expect_fail DESC PATTERN CMD… — must fail, and say PATTERN (grep -E).
expect_fail() {
	local desc=$1 pat=$2; shift 2
	if OUT=$("$@" 2>&1); then echo "$OUT" >&2; fail "$desc (succeeded)"; fi
	echo "$OUT" | grep -Eq -- "$pat" || { echo "$OUT" >&2; fail "$desc (message lacks /$pat/)"; }
	ok "$desc"
}
# expect_grep DESC PATTERN TEXT
expect_grep() {
	echo "$3" | grep -Eq -- "$2" || { echo "$3" >&2; fail "$1 (no /$2/)"; }
	ok "$1"
}

# A SoftHSM2 store standing in for the company's USB keys.
usb_softhsm() {
	mkdir -p "$T/usb/tokens"
	printf 'directories.tokendir = %s\nobjectstore.backend = file\nlog.level = ERROR\n' \
		"$T/usb/tokens" > "$T/usb/softhsm2.conf"
	export SOFTHSM2_CONF="$T/usb/softhsm2.conf"
}

# new_csr ALGO KEYFILE CSRFILE — a CSR made by openssl itself.
new_csr() {
	case $1 in
	ec) openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "$2" -subj "/CN=ignored by the CA" -out "$3" 2>/dev/null ;;
	rsa) openssl req -new -newkey rsa:2048 -nodes -keyout "$2" \
		-subj "/CN=ignored by the CA" -out "$3" 2>/dev/null ;;
	sm2) openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:SM2 -out "$2" 2>/dev/null &&
	     openssl req -new -key "$2" -sm3 -sigopt distid:1234567812345678 \
		-subj "/CN=ignored by the CA" -out "$3" 2>/dev/null ;;
	esac
}

serial_of() { openssl x509 -in "$1" -noout -serial | sed 's/serial=//'; }

# sm2_verify CERT ISSUER_CERT — the independent SM2 check of RECIPES.md:
# TBSCertificate and signature out of the DER, then openssl pkeyutl with
# the distinguishing ID.
sm2_verify() {
	local d="$T/sm2v.$$" line off hl len
	mkdir -p "$d"
	openssl x509 -in "$1" -outform DER -out "$d/c.der" || return 1
	openssl x509 -in "$2" -noout -pubkey > "$d/pub.pem" || return 1
	openssl asn1parse -inform DER -in "$d/c.der" > "$d/parse.txt" || return 1
	# the TBSCertificate: the first element at depth 1
	line=$(grep -m1 "d=1" "$d/parse.txt")
	off=$(echo "$line" | cut -d: -f1 | tr -d ' ')
	hl=$(echo "$line" | sed -E 's/.*hl= *([0-9]+).*/\1/')
	len=$(echo "$line" | sed -E 's/.* l= *([0-9]+).*/\1/')
	dd if="$d/c.der" of="$d/tbs.der" bs=1 skip="$off" count=$((hl + len)) 2>/dev/null
	# the signature: the BIT STRING at depth 1, without its unused-bits octet
	line=$(grep "d=1" "$d/parse.txt" | grep "BIT STRING" | tail -1)
	off=$(echo "$line" | cut -d: -f1 | tr -d ' ')
	hl=$(echo "$line" | sed -E 's/.*hl= *([0-9]+).*/\1/')
	len=$(echo "$line" | sed -E 's/.* l= *([0-9]+).*/\1/')
	dd if="$d/c.der" of="$d/sig.der" bs=1 skip=$((off + hl + 1)) count=$((len - 1)) 2>/dev/null
	openssl pkeyutl -verify -pubin -inkey "$d/pub.pem" -rawin -in "$d/tbs.der" \
		-sigfile "$d/sig.der" -digest sm3 -pkeyopt distid:1234567812345678 >/dev/null 2>&1
}
