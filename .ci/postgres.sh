#!/bin/sh
# A throw-away PostgreSQL cluster for the tests: initdb in a temporary folder,
# listening on 127.0.0.1 on a free port and on a Unix socket in that folder;
# no system service. Run as root, the server runs as the `postgres` user.
#
#   eval "$(.ci/postgres.sh start)"   # exports TARJAMA_TEST_PG_URL and PGDATA_DIR
#   .ci/postgres.sh stop "$PGDATA_DIR"
set -eu
BIN=${PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)}
as_pg() {
    if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}
case "${1:-}" in
start)
    dir=$(mktemp -d /tmp/tarjama-pg.XXXXXX)
    [ "$(id -u)" = 0 ] && chown postgres "$dir"
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null || shuf -i 20000-60000 -n 1)
    as_pg "$BIN/initdb" -D "$dir/data" -U tarjama --auth=trust -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1
    as_pg "$BIN/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w \
        -o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c fsync=off -c max_connections=200" start >/dev/null
    as_pg "$BIN/createdb" -h 127.0.0.1 -p "$port" -U tarjama tarjama
    echo "export TARJAMA_TEST_PG_URL=postgres://tarjama@127.0.0.1:$port/tarjama"
    echo "export PGDATA_DIR=$dir"
    ;;
stop)
    dir=${2:?usage: postgres.sh stop DIR}
    as_pg "$BIN/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null || true
    rm -rf "$dir"
    ;;
*)
    echo "usage: $0 start | stop DIR" >&2
    exit 2
    ;;
esac
