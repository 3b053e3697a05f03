#!/bin/sh
# Creates the files docker-compose.yml takes its secrets from, in ./secrets (or the directory given
# as the first argument), and keeps every file that already exists. Needs openssl.
#
#   deploy/compose/init-secrets.sh
#
# The directory is private to you (0700); the files in it are mode 0644 because Compose bind-mounts
# them unchanged and each container reads them as its own unprivileged user (postgres 999, node
# 1000, temporal 1000, openldap 1001). Never commit them: .gitignore excludes secrets/.
set -eu

dir="${1:-secrets}"
umask 077
mkdir -p "$dir"
chmod 700 "$dir"

missing() {
  if [ -e "$dir/$1" ]; then
    echo "kept    $dir/$1"
    return 1
  fi
  echo "created $dir/$1"
}

for name in temporal-db-password audit-db-password ldap-elevate-password metrics-token; do
  # Hex needs no escaping anywhere (URLs, LDIF, shell).
  if missing "$name"; then openssl rand -hex 32 | tr -d '\n' >"$dir/$name"; fi
done
if missing database-url; then
  printf 'postgres://elevate:%s@audit-db:5432/elevate' "$(cat "$dir/audit-db-password")" >"$dir/database-url"
fi
# Ed25519: the API signs every human decision with the private key; the workers hold only the public one.
if missing decision-signing.pem; then
  openssl genpkey -algorithm ed25519 -out "$dir/decision-signing.pem"
fi
if missing decision-public.pem; then
  openssl pkey -in "$dir/decision-signing.pem" -pubout -out "$dir/decision-public.pem"
fi
# Ed25519: signs the audit checkpoints and keys the MACs of the single-use and bot-state rows. The API
# and every worker share this one key; its public half (openssl pkey -pubout) is for verifiers.
if missing audit-checkpoint.pem; then
  openssl genpkey -algorithm ed25519 -out "$dir/audit-checkpoint.pem"
fi
chmod 644 "$dir"/*
