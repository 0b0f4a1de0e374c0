#!/bin/sh
# Make the secret files deploy/compose.yaml mounts, under deploy/secrets/ (not committed).
# An existing file is kept, never overwritten: a new master key would make every stored
# exchange key unreadable (rotate with `tradewind keys rotate`, see docs/security.md).
#
#   deploy/make-secrets.sh            # in the repository, after `./dev up` or with the image built
#
# Master keys and the JWT secret come from `tradewind keys generate`: the first of
# $TRADEWIND_CLI, .venv/bin/tradewind, `tradewind` on the PATH, or the image
# ${TRADEWIND_IMAGE:-tradewind:local} run with docker. Passwords and tokens come from
# openssl (or python3).
set -eu
umask 077

here=$(cd "$(dirname "$0")" && pwd)
secrets="$here/secrets"
mkdir -p "$secrets"
chmod 0700 "$secrets"

tradewind() {
    if [ -n "${TRADEWIND_CLI:-}" ]; then
        $TRADEWIND_CLI "$@"
    elif [ -x "$here/../.venv/bin/tradewind" ]; then
        "$here/../.venv/bin/tradewind" "$@"
    elif command -v tradewind > /dev/null 2>&1; then
        command tradewind "$@"
    elif command -v docker > /dev/null 2>&1; then
        docker run --rm --read-only --network none "${TRADEWIND_IMAGE:-tradewind:local}" "$@"
    else
        echo "make-secrets: no tradewind found: run ./dev up once, or build the image" \
            "(docker build -t tradewind:local .), or set TRADEWIND_CLI" >&2
        exit 2
    fi
}

random_token() { # 32 random bytes, URL-safe: fits in a URL and a header as is
    if command -v openssl > /dev/null 2>&1; then
        openssl rand -base64 32 | tr '+/' '-_' | tr -d '=\n'
    else
        python3 -c 'import secrets; print(secrets.token_urlsafe(32), end="")'
    fi
}

# make_secret NAME COMMAND...: write COMMAND's output to deploy/secrets/NAME unless it exists.
make_secret() {
    name=$1
    shift
    target="$secrets/$name"
    if [ -s "$target" ]; then
        echo "kept    deploy/secrets/$name"
        return
    fi
    value=$("$@")
    [ -n "$value" ] || { echo "make-secrets: $name came out empty" >&2; exit 1; }
    printf '%s\n' "$value" > "$target.tmp"
    # Readable inside the containers, which run as other users (tradewind 10001,
    # postgres 70, grafana 472) and see the file, not this 0700 directory.
    chmod 0644 "$target.tmp"
    mv "$target.tmp" "$target"
    echo "made    deploy/secrets/$name"
}

database_url() {
    password=$(cat "$secrets/postgres_password")
    printf 'postgresql://tradewind:%s@postgres:5432/tradewind' "$password"
}

make_secret postgres_password random_token
make_secret TRADEWIND_DATABASE_URL database_url
make_secret TRADEWIND_MASTER_KEYS tradewind keys generate
make_secret TRADEWIND_JWT_SECRET tradewind keys generate --jwt
make_secret TRADEWIND_HEALTH_TOKEN random_token
make_secret TRADEWIND_SIM_ADMIN_TOKEN random_token
make_secret grafana_admin_password random_token
