# bench/lib.sh — the helpers bench/ca_service.sh and bench/hall_tls.sh share.
# Sourced, not run: `. "$root/bench/lib.sh"` after setting root (the source
# tree) and bench (the script's name, the prefix of its messages).  Sets
# cores and hz; the scripts set tmp and pids (background processes to stop).
# shellcheck shell=bash
# shellcheck disable=SC2034,SC2154 # set here for, or by, the script sourcing this

cores=$(nproc 2>/dev/null || echo 2)
hz=$(getconf CLK_TCK)
say() { printf '%s\n' "$*" >&2; }

# ---- setting up ----
# need TOOL… — exit unless every TOOL is installed
need() {
	local t
	for t in "$@"; do
		command -v "$t" >/dev/null || { say "$bench: $t is missing (scripts/bootstrap)"; exit 1; }
	done
}
# bench_onecert [--onecert PATH] — sets onecert: PATH, or a Release build
# in $BENCH_BUILD (default build-bench)
bench_onecert() {
	onecert=
	if [ "${1:-}" = --onecert ]; then onecert=$2; fi
	if [ -z "$onecert" ]; then
		build=${BENCH_BUILD:-$root/build-bench}
		say "$bench: building onecert (Release) in $build"
		cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
		cmake --build "$build" --target onecert -j "$cores" >/dev/null
		onecert=$build/onecert
	fi
}
# stop_all [PID…] — stop the background processes (pids and PIDs), wait for them
stop_all() {
	local p
	for p in "${pids[@]}" "$@"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
}
# retry N CMD… — run CMD until it succeeds, at most N times 0.2 s apart
retry() {
	local n=$1 _
	shift
	for _ in $(seq "$n"); do
		"$@" && return 0
		sleep 0.2
	done
	return 1
}

# ---- nginx, everything it writes inside its directory ----
# nginx_conf DIR — writes DIR/nginx.conf up to the inside of http { }:
# the caller appends the rest
nginx_conf() {
	local n=$1 user_line=""
	mkdir -p "$n/tmp"
	[ "$(id -u)" = 0 ] && user_line="user root;"
	cat >"$n/nginx.conf" <<EOF
$user_line
daemon off;
worker_processes $cores;
pid $n/nginx.pid;
error_log $n/error.log warn;
events { worker_connections 4096; }
http {
    access_log $n/access.log;
    client_body_temp_path $n/tmp/body;
    proxy_temp_path $n/tmp/proxy;
    fastcgi_temp_path $n/tmp/fastcgi;
    uwsgi_temp_path $n/tmp/uwsgi;
    scgi_temp_path $n/tmp/scgi;
EOF
}
# nginx_start DIR — check DIR/nginx.conf and start nginx in the background
# (added to pids; $! is its pid)
nginx_start() {
	nginx -t -q -p "$1" -c "$1/nginx.conf" -e "$1/error.log"
	nginx -p "$1" -c "$1/nginx.conf" -e "$1/error.log" & pids+=($!)
}

# ---- measuring ----
# CPU clock ticks (user + system) of a process and its children
ticks() {
	local t=0 p
	for p in "$1" $(pgrep -P "$1" || true); do
		t=$((t + $(awk '{ print $14 + $15 }' "/proc/$p/stat" 2>/dev/null || echo 0)))
	done
	echo "$t"
}
# busy and total jiffies of all cores
cpustat() {
	awk '/^cpu / { t = 0; for (i = 2; i <= 9; i++) t += $i; print t - $5 - $6, t; exit }' /proc/stat
}
# timed SERVER_PID OUT CMD… — runs the client CMD, stdout to OUT, stderr
# to $tmp/client.err; sets T_CPU_MS (server CPU ms during the run) and
# T_OTHER (share of all cores that neither the server nor the client used:
# other work on the machine), T_S0 and T_START (the server's ticks and the
# time at the start).
timed() {
	local spid=$1 out=$2 s0 s1 b0 t0 b1 t1 cu cs cr
	shift 2
	s0=$(ticks "$spid")
	T_S0=$s0
	T_START=$(date +%s.%N)
	read -r b0 t0 < <(cpustat)
	read -r cu cs cr < <( { TIMEFORMAT='%U %S %R'; time "$@" >"$out" 2>>"$tmp/client.err"; } 2>&1 )
	read -r b1 t1 < <(cpustat)
	s1=$(ticks "$spid")
	T_CPU_MS=$(( (s1 - s0) * 1000 / hz ))
	# /proc/stat counts in the same clock ticks as /proc/PID/stat
	T_OTHER=$(awk -v b="$((b1 - b0))" -v t="$((t1 - t0))" -v s="$((s1 - s0))" -v u="$cu" \
		-v k="$cs" -v hz="$hz" 'BEGIN {
		o = t ? (b - s - (u + k) * hz) / t : 0; printf "%.2f", o < 0 ? 0 : o }')
}
# memory of a process and its children: "procs rss_kB hwm_kB pss_kB"
mem() {
	local p n=0 rss=0 hwm=0 pss=0 v
	for p in "$1" $(pgrep -P "$1" || true); do
		[ -r "/proc/$p/status" ] || continue
		n=$((n + 1))
		v=$(awk '/^VmRSS:/ { print $2 }' "/proc/$p/status"); rss=$((rss + ${v:-0}))
		v=$(awk '/^VmHWM:/ { print $2 }' "/proc/$p/status"); hwm=$((hwm + ${v:-0}))
		v=$(awk '/^Pss:/ { print $2; exit }' "/proc/$p/smaps_rollup" 2>/dev/null); pss=$((pss + ${v:-0}))
	done
	echo "$n $rss $hwm $pss"
}
mb() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }

# ---- the machine, for the notes under the tables ----
cpu_model() { awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo; }
openssl_version() { openssl version | awk '{ print $2 }'; }
nginx_version() { nginx -v 2>&1 | sed 's/.*nginx\///'; }
deb_version() { dpkg-query -W -f='${Version}' "$1" 2>/dev/null || echo "?"; }
