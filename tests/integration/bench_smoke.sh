#!/bin/bash
# `make bench` (issue 7) in miniature: one short run per row against
# pushpipe and websocketd.  The figures mean nothing at this length; what
# is checked is that the harness still works: every row of the table has a
# number for both servers and a ratio, every run counted no errors (wsload
# checks each echo and Sec-WebSocket-Accept), and the echo and connrate
# runs report where their CPU went (with 50 handlers that each use a few
# milliseconds a second, which per-process clock ticks would round away).
set -u
work=$(mktemp -d /tmp/pushpipe-bench-smoke.XXXXXX)
trap 'rm -rf "$work"' EXIT
fail() {
    echo "FAIL: $*"
    echo "--- output"; cat "$work/out"
    echo "--- errors"; cat "$work/err"
    exit 1
}

PUSHPIPE=$PUSHPIPE WSLOAD=$TOP_BUILDDIR/tests/bench/wsload \
SSE_CEILING=$TOP_BUILDDIR/tests/bench/sse_ceiling PARSE_BENCH= \
BENCH_REPS=1 BENCH_DURATION=0.5 BENCH_WARMUP=0.3 BENCH_RAW=$work/raw.txt \
    bash "$TOP_SRCDIR/tests/bench/run-bench.sh" >"$work/out" 2>"$work/err"
rc=$?
[ $rc = 0 ] || fail "run-bench.sh exited $rc"

# the table: from its header to the note under it, the last three columns
# before "higher"/"lower" are pushpipe, the other server and the ratio.
# Kernel memory is the whole machine's (/proc/meminfo), so beside the
# other tests of a parallel make check it may even come out negative.
rows=$(awk '/^row \(median\)/ { on = 1; next } /^\(the websocketd column/ { on = 0 } on' "$work/out")
[ "$(printf '%s\n' "$rows" | wc -l)" = 11 ] || fail "expected 11 rows"
bad=$(printf '%s\n' "$rows" | awk '{
    n = NF; if ($n != "higher" && $n != "lower") { print; next }
    for (k = n - 3; k < n; k++) if ($k !~ /^-?[0-9]+(\.[0-9]+)?$/) { print; next } }')
[ -z "$bad" ] || fail "rows without numbers: $bad"

[ "$(grep -c '^RESULT' "$work/raw.txt")" = 14 ] || fail "expected 14 RESULT lines"
grep '^RESULT' "$work/raw.txt" | grep -v ' errors=0' && fail "a run counted errors"
for s in pushpipe websocketd; do
    for sc in "echo label=$s conns=50 " "connrate label=$s "; do
        line=$(grep "^RESULT scenario=$sc" "$work/raw.txt")
        for f in server_cpu_us handlers_cpu_us client_cpu_us; do
            v=$(printf '%s\n' "$line" | tr ' ' '\n' | sed -n "s/^$f=//p")
            awk -v v="$v" 'BEGIN { exit !(v > 0) }' || fail "$s ${sc%% *}: $f='$v'"
        done
    done
done
[ "$(grep -c '^handlers + client alone: .* for any server' "$work/out")" = 2 ] \
    || fail "expected the CPU bound for messages and for connections"
echo "PASS: bench harness: 11 rows, 14 clean runs, CPU split reported"
