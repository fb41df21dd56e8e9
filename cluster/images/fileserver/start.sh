#!/bin/sh
# Entrypoint of modelship.local/fileserver: busybox httpd serving a folder (default /srv) on $PORT (default 8080).
# httpd runs as a child rather than as PID 1: PID 1 ignores every signal it has no handler for, so a bare
# `httpd -f` would ignore SIGTERM and each pod delete would wait out its whole grace period. Here the shell traps
# TERM/INT, stops httpd and exits 0.
root="${1:-/srv}"
port="${PORT:-8080}"
trap 'kill "$pid" 2>/dev/null; wait "$pid"; exit 0' TERM INT
/bin/busybox httpd -f -v -p "$port" -h "$root" &
pid=$!
wait "$pid"
