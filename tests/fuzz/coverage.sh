#!/usr/bin/env bash
# coverage.sh - how much of each parser the fuzz corpora reach.
#
#   tests/fuzz/coverage.sh [TARGET...]        (after run-fuzz.sh)
#
# Builds replay.c + fuzz_NAME.c + the core with clang source-based coverage
# (-fprofile-instr-generate -fcoverage-mapping), replays the committed seeds
# and regressions plus what run-fuzz.sh found ($FUZZ_WORKDIR/corpus/NAME),
# and prints line and branch coverage of the core files the target is
# about.  Needs llvm-profdata and llvm-cov (Debian: llvm).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
top=${TOP_SRCDIR:-$(cd "$here/../.." && pwd)}
fuzzdir=$top/tests/fuzz
work=${FUZZ_WORKDIR:-$PWD/fuzz-work}
cc=${FUZZ_CC:-clang}
mkdir -p "$work/cov"
work=$(cd "$work" && pwd)

# The core files each target is about (the rest it reaches on the way).
files_for() {
  case $1 in
    http_request) echo "http_request.c request_env.c ws_handshake.c" ;;
    ws_frame) echo "ws_frame.c ws_close.c" ;;
    ws_hixie) echo "ws_hixie.c" ;;
    ws_deflate) echo "ws_deflate.c" ;;
    handler_codec) echo "handler_codec.c" ;;
    sse) echo "sse.c" ;;
    fcgi_record) echo "fcgi_record.c cgi_env.c" ;;
    http_response) echo "http_response.c" ;;
    sse_parse) echo "sse_parse.c" ;;
    ws_client) echo "ws_client.c ws_deflate.c" ;;
    *) echo "" ;;
  esac
}

if [ $# -gt 0 ]; then
  targets=("$@")
else
  targets=()
  for f in "$fuzzdir"/fuzz_*.c; do n=$(basename "$f" .c); targets+=("${n#fuzz_}"); done
fi

libs=$(pkg-config --libs libssl libcrypto zlib 2>/dev/null || echo "-lssl -lcrypto -lz")
flags="-std=c11 -D_GNU_SOURCE -O0 -g -fprofile-instr-generate -fcoverage-mapping
  -I$top/gateway -I$fuzzdir $(pkg-config --cflags libssl libcrypto zlib 2>/dev/null || true)"

for t in "${targets[@]}"; do
  bin=$work/cov/cov_$t
  # shellcheck disable=SC2086
  $cc $flags -DFUZZ_NAME="\"$t\"" "$fuzzdir/replay.c" "$fuzzdir/fuzz_$t.c" \
    "$top"/gateway/core/*.c $libs -o "$bin"
  dirs=()
  for d in "$fuzzdir/regressions/$t" "$fuzzdir/corpus/$t" "$work/corpus/$t"; do
    [ -d "$d" ] && dirs+=("$d")
  done
  rm -f "$work/cov/$t.profraw"
  LLVM_PROFILE_FILE="$work/cov/$t.profraw" "$bin" "${dirs[@]}" >/dev/null
  llvm-profdata merge -sparse "$work/cov/$t.profraw" -o "$work/cov/$t.profdata"
  srcs=()
  for f in $(files_for "$t"); do srcs+=("$top/gateway/core/$f"); done
  echo "== $t ($(find "${dirs[@]}" -type f | wc -l) inputs)"
  llvm-cov report "$bin" -instr-profile="$work/cov/$t.profdata" "${srcs[@]}" |
    awk '/\.c / || /^TOTAL/ {
           # Filename Regions Missed Cover Functions Missed Executed Lines Missed Cover Branches Missed Cover
           name = $1; sub(".*/", "", name)
           printf "  %-18s lines %7s  branches %7s  regions %7s\n", name, $10, $13, $4 }'
done
