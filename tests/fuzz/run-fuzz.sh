#!/usr/bin/env bash
# run-fuzz.sh - build the libFuzzer targets with clang and run each one.
#
#   tests/fuzz/run-fuzz.sh [TARGET...]        (default: every fuzz_*.c)
#
# For each target: compile the sans-I/O core and the target with
# -fsanitize=fuzzer,address,undefined into $FUZZ_WORKDIR, replay the
# committed regressions and seed corpus (a failure there fails at once),
# then fuzz for $FUZZ_SECONDS.  New inputs go to $FUZZ_WORKDIR/corpus/NAME
# (kept between runs; the committed corpus is never written), crashes to
# $FUZZ_WORKDIR/crashes/.  The last line of output is
# "fuzz: N passed, M failed" for .ci/run.
#
# Environment:
#   FUZZ_SECONDS  seconds of fuzzing per target (default 60)
#   FUZZ_JOBS     targets fuzzed at the same time (default: number of CPUs, at most 2)
#   FUZZ_WORKDIR  build and work directory (default ./fuzz-work)
#   FUZZ_CC       compiler (default clang)
#   FUZZ_FLAGS    extra libFuzzer flags for the fuzzing run (e.g. -max_len=65536)
#
# A crash: reproduce with  $FUZZ_WORKDIR/bin/fuzz_NAME FILE , minimize with
#   $FUZZ_WORKDIR/bin/fuzz_NAME -minimize_crash=1 -runs=100000 FILE
# then fix the parser and keep the input as tests/fuzz/regressions/NAME/<why>
# (replayed first here and by `make check`).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
top=${TOP_SRCDIR:-$(cd "$here/../.." && pwd)}
fuzzdir=$top/tests/fuzz
seconds=${FUZZ_SECONDS:-60}
ncpu=$(nproc 2>/dev/null || echo 1)
jobs=${FUZZ_JOBS:-$(( ncpu < 2 ? 1 : 2 ))}
work=${FUZZ_WORKDIR:-$PWD/fuzz-work}
cc=${FUZZ_CC:-clang}
extra=${FUZZ_FLAGS:-}

if ! command -v "$cc" >/dev/null 2>&1; then
  echo "run-fuzz.sh: $cc not found (Debian: apt-get install clang libclang-rt-dev)" >&2
  echo "fuzz: 0 passed, 1 failed"
  exit 1
fi

if [ $# -gt 0 ]; then
  targets=("$@")
else
  targets=()
  for f in "$fuzzdir"/fuzz_*.c; do
    n=$(basename "$f" .c); targets+=("${n#fuzz_}")
  done
fi

mkdir -p "$work/obj" "$work/bin" "$work/corpus" "$work/crashes" "$work/log"
work=$(cd "$work" && pwd)

libs=$(pkg-config --libs libssl libcrypto zlib 2>/dev/null || echo "-lssl -lcrypto -lz")
cflags_dep=$(pkg-config --cflags libssl libcrypto zlib 2>/dev/null || true)
common="-std=c11 -D_GNU_SOURCE -g -O1 -fno-omit-frame-pointer -Wall -Wextra
  -fno-sanitize-recover=all -I$top/gateway -I$fuzzdir $cflags_dep"

# The core: every gateway/core/*.c, instrumented but without libFuzzer's main.
# A file that does not compile (work in progress elsewhere) is left out; a
# target that needs it then fails to link, and says so.
echo "== building fuzz targets ($cc) in $work"
objs=()
for src in "$top"/gateway/core/*.c; do
  o=$work/obj/$(basename "$src" .c).o
  # shellcheck disable=SC2086
  if $cc $common -fsanitize=fuzzer-no-link,address,undefined -c "$src" -o "$o"; then
    objs+=("$o")
  else
    echo "run-fuzz.sh: warning: $src does not compile; left out" >&2
  fi
done
for t in "${targets[@]}"; do
  rm -f "$work/log/$t.result"
  # shellcheck disable=SC2086
  if ! $cc $common -Werror -fsanitize=fuzzer,address,undefined "$fuzzdir/fuzz_$t.c" \
       "${objs[@]}" $libs -o "$work/bin/fuzz_$t"; then
    rm -f "$work/bin/fuzz_$t"
  fi
done

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:allocator_may_return_null=1:quarantine_size_mb=64}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}

# Replays regressions and the seed corpus, then fuzzes; writes a summary to
# $work/log/NAME.result.
fuzz_one() {
  local t=$1 bin=$work/bin/fuzz_$1 log=$work/log/$1.log res=$work/log/$1.result
  local seeds=() dict=()
  [ -d "$fuzzdir/regressions/$t" ] && seeds+=("$fuzzdir/regressions/$t")
  [ -d "$fuzzdir/corpus/$t" ] && seeds+=("$fuzzdir/corpus/$t")
  [ -f "$fuzzdir/dict/$t.dict" ] && dict=(-dict="$fuzzdir/dict/$t.dict")
  mkdir -p "$work/corpus/$t"
  if [ ! -x "$bin" ]; then
    echo "FAIL $t: does not build" >"$res"
    return 0
  fi
  if [ ${#seeds[@]} -gt 0 ] &&
     ! "$bin" -runs=0 -artifact_prefix="$work/crashes/$t-replay-" "${seeds[@]}" \
       >"$log.replay" 2>&1; then
    echo "FAIL $t: a committed regression or seed input fails (see $log.replay)" >"$res"
    return 0
  fi
  # shellcheck disable=SC2086
  if "$bin" -max_total_time="$seconds" -timeout=10 -print_final_stats=1 \
       -artifact_prefix="$work/crashes/$t-" "${dict[@]}" $extra \
       "$work/corpus/$t" "${seeds[@]}" >"$log" 2>&1; then
    local done execs rate cov ft corp
    done=$(grep -E '^#[0-9]+' "$log" | tail -1)
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
    cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$done")
    ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$done")
    corp=$(sed -n 's/.* corp: \([0-9]*\/[0-9a-zA-Z]*\).*/\1/p' <<<"$done")
    echo "PASS $t: ${seconds}s, $execs execs, $rate exec/s, cov $cov, ft $ft, corpus $corp" >"$res"
  else
    echo "FAIL $t: crash, see $log; input in $work/crashes/" >"$res"
    grep -E 'ERROR: |invariant violated|runtime error|SUMMARY' "$log" | head -5 >>"$res" || true
  fi
}

echo "== fuzzing ${#targets[@]} targets, ${seconds}s each, $jobs at a time"
running=0
for t in "${targets[@]}"; do
  if [ "$running" -ge "$jobs" ]; then
    wait -n || true
    running=$((running - 1))
  fi
  fuzz_one "$t" &
  running=$((running + 1))
done
wait

passed=0; failed=0
for t in "${targets[@]}"; do
  if [ -f "$work/log/$t.result" ]; then
    cat "$work/log/$t.result"
    if grep -q '^PASS' "$work/log/$t.result"; then
      passed=$((passed + 1))
    else
      failed=$((failed + 1))
    fi
  else
    echo "FAIL $t: no result"
    failed=$((failed + 1))
  fi
done
echo "fuzz: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
