#!/usr/bin/env bash
# Install what pushpipe needs from Debian's packages.
#   tools/deps.sh build   what building and running the demo needs
#   tools/deps.sh test    that plus the real servers and clients the suite drives
# As root it runs apt-get; otherwise it prints the one command to run.
set -euo pipefail

BUILD_PKGS="gcc make autoconf automake pkg-config libfcgi-dev libssl-dev zlib1g-dev check"
TEST_PKGS="$BUILD_PKGS clang libclang-rt-dev valgrind python3 python3-websockets python3-websocket
  nodejs node-ws node-faye-websocket node-eventsource websocketd lighttpd apache2 libapache2-mod-fcgid nginx
  haproxy spawn-fcgi tinyproxy redis-server openssl curl procps chromium"
# The browser tests install playwright-core with npm: Debian's, unless
# another came with nodejs.
command -v npm >/dev/null 2>&1 || TEST_PKGS="$TEST_PKGS npm"

case "${1:-build}" in
  build) want=$BUILD_PKGS ;;
  test) want=$TEST_PKGS ;;
  *) echo "usage: $0 build|test" >&2; exit 2 ;;
esac

missing=()
for p in $want; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
  echo "pushpipe needs these Debian packages; install them with:" >&2
  echo "  sudo apt-get install -y ${missing[*]}" >&2
  exit 1
fi

echo "installing: ${missing[*]}"
# Packaged daemons (nginx, apache2, redis ...) must not start on install:
# the tests start their own, on loopback ports, with their own configs.
policy=/usr/sbin/policy-rc.d
made_policy=0
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' > "$policy"
  chmod 755 "$policy"
  made_policy=1
fi
trap '[ $made_policy = 1 ] && rm -f "$policy"' EXIT
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq || true
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
