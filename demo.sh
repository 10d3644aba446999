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
make -s -j"$(nproc 2>/dev/null || echo 2)" pushpipe handlers/broadcast handlers/.scripts-stamp
port=${PORT:-8080}
echo
echo "pushpipe demo: open http://127.0.0.1:$port/ in a browser (Ctrl-C to stop)"
echo "  chat: /chat.html   live: /live.html   console: /console"
echo
# pushpipe will not run handlers as root: as root, the demo's handlers run
# as nobody when nobody can reach them, otherwise root is allowed explicitly.
who=()
if [ "$(id -u)" -eq 0 ]; then
  if runuser -u nobody -- test -x "$PWD/handlers/echo" 2>/dev/null; then
    who=(--user nobody)
  else
    who=(--allow-root)
  fi
fi
# The live page's tail follows pushpipe's own log: it goes to the terminal
# and to demo-logs/pushpipe.log.
mkdir -p demo-logs
export PUSHPIPE_TAIL_DIR=$PWD/demo-logs
exec ./pushpipe --listen "127.0.0.1:$port" --static ../examples/site --dir handlers --console \
  --sse raw --sse-retry 2000 --passenv PUSHPIPE_TAIL_DIR "${who[@]}" \
  2> >(tee -a demo-logs/pushpipe.log >&2)
