#!/bin/bash
# The CI variant of the soak test (tests/soak/soak.py, 5 minutes by default):
# 1,000 concurrent connections exchanging messages for 30 seconds, then the
# supervisor's memory, children and descriptors must be back where they were.
exec /usr/bin/python3 "$TOP_SRCDIR/tests/soak/soak.py" --connections 1000 --duration "${SOAK_SECONDS:-30}" --pushpipe "$PUSHPIPE"
