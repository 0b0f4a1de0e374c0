#!/usr/bin/env bash
# Writes the dev overlay's secret files (secrets/, never committed) once: fresh master
# keys, JWT secret and simulator token, and the database URL given as $1 (default: the
# dev PostgreSQL `postgresql` in the namespace, user and password `tradewind`).
set -euo pipefail
cd "$(dirname "$0")"
TRADEWIND=${TRADEWIND:-../../../../.venv/bin/tradewind}
umask 077
mkdir -p secrets
write() {  # write FILE VALUE, unless FILE exists (re-running keeps the keys)
    [ -s "secrets/$1" ] || printf '%s' "$2" > "secrets/$1"
}
write database-url "${1:-postgresql://tradewind:tradewind@postgresql:5432/tradewind}"
write master-keys "$("$TRADEWIND" keys generate)"
write jwt-secret "$("$TRADEWIND" keys generate --jwt)"
write sim-admin-token "$(head -c 24 /dev/urandom | base64 | tr -d '/+=')"
echo "dev secrets in $(pwd)/secrets"
