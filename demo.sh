#!/usr/bin/env bash
# Build pushpipe and run the demo site with the stock handlers on
# http://127.0.0.1:8080/ (PORT=... to change).  Ctrl-C stops it.
set -euo pipefail
cd "$(dirname "$0")"
tools/deps.sh build
[ -x configure ] || autoreconf -fi
mkdir -p build
cd build
[ -f Makefile ] || ../configure -q
make -s -j"$(nproc 2>/dev/null || echo 2)" pushpipe
port=${PORT:-8080}
echo
echo "pushpipe demo: open http://127.0.0.1:$port/ in a browser (Ctrl-C to stop)"
echo
exec ./pushpipe --listen "127.0.0.1:$port" --static ../examples/site --dir ../handlers
