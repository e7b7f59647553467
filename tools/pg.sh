#!/usr/bin/env bash
# A throwaway PostgreSQL server for the tests: `make test` starts one, runs the suites, stops it.
#
#   tools/pg.sh start DIR   initdb in DIR (a fresh temporary directory), start the server on a free
#                           loopback port with its unix socket in DIR, print its SQLAlchemy URL
#   tools/pg.sh stop DIR    stop the server in DIR (fast shutdown) and delete DIR
#   tools/pg.sh install     apt-get install postgresql when no initdb is found (needs root)
#
# The server never runs as root: when started by root it runs as the `postgres` user (created by the
# Debian package), or as `nobody` when that user does not exist. Durability is switched off (fsync,
# synchronous_commit): the cluster lives for one test session.
set -euo pipefail

find_bin() {
    local dir
    if command -v pg_config >/dev/null 2>&1 && [ -x "$(pg_config --bindir)/initdb" ]; then
        pg_config --bindir
        return 0
    fi
    for dir in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
        if [ -x "$dir/initdb" ]; then
            echo "$dir"
            return 0
        fi
    done
    if command -v initdb >/dev/null 2>&1; then
        dirname "$(command -v initdb)"
        return 0
    fi
    return 1
}

install() {
    if find_bin >/dev/null; then
        return 0
    fi
    if [ "$(id -u)" != 0 ]; then
        echo "pg.sh: PostgreSQL is not installed; run as root or: sudo apt-get install -y postgresql" >&2
        exit 1
    fi
    echo "pg.sh: installing PostgreSQL from the Debian packages" >&2
    DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >&2
    find_bin >/dev/null
}

server_user() {
    if id postgres >/dev/null 2>&1; then echo postgres; else echo nobody; fi
}

# Run a server binary as the unprivileged owner of DIR when we are root.
as_owner() {
    if [ "$(id -u)" = 0 ]; then
        runuser -u "$(server_user)" -- "$@"
    else
        "$@"
    fi
}

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

start() {
    local dir=$1 bin port
    install
    bin=$(find_bin)
    mkdir -p "$dir"
    if [ "$(id -u)" = 0 ]; then
        chown "$(server_user)" "$dir"
    fi
    chmod 700 "$dir"
    as_owner "$bin/initdb" -D "$dir/data" -U listwatch -A trust -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 \
        || as_owner "$bin/initdb" -D "$dir/data" -U listwatch -A trust -E UTF8 --no-locale >"$dir/initdb.log" 2>&1 \
        || { cat "$dir/initdb.log" >&2; exit 1; }
    for _ in 1 2 3 4 5; do
        port=$(free_port)
        if as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 start -o \
            "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off \
             -c full_page_writes=off -c max_connections=100" >/dev/null; then
            echo "$port" >"$dir/port"
            echo "postgresql+psycopg://listwatch@127.0.0.1:$port/postgres"
            return 0
        fi
    done
    cat "$dir/server.log" >&2
    exit 1
}

stop() {
    local dir=$1 bin
    if [ -f "$dir/data/postmaster.pid" ]; then
        bin=$(find_bin)
        as_owner "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null || true
    fi
    if [ -d "$dir/data" ] || [ -f "$dir/initdb.log" ]; then  # only a folder `start` made
        rm -rf "$dir"
    else
        rmdir "$dir" 2>/dev/null || true
    fi
}

case "${1:-}" in
    start) start "${2:?usage: pg.sh start DIR}" ;;
    stop) stop "${2:?usage: pg.sh stop DIR}" ;;
    install) install ;;
    *)
        echo "usage: pg.sh start DIR | stop DIR | install" >&2
        exit 2
        ;;
esac
