#!/bin/sh
# Starts slapd for docker-compose.yml, as the unprivileged user the image runs as.
#
# On every start it writes slapd.conf (into the run directory, a tmpfs in Compose), then:
# - with an empty database: loads seed.ldif plus Elevate's account cn=elevate,ou=services with the
#   password from the ldap-elevate-password secret;
# - otherwise: sets that account's password again from the secret (so rotating it is: change the
#   file, restart this container and Elevate's).
# The password is stored only as a salted {SSHA} hash.
#
# Who may do what (the access rules below, first match wins):
# - cn=elevate,ou=services may write `member` of the groups directly under ou=groups (grant,
#   revoke, read back) and read everything else (approver groups, people's `mail`), but change
#   nothing else: not the approver groups, not people, not its own rights;
# - other authenticated accounts read; anonymous clients may only bind and read the root DSE;
# - the root DN is this container's own user over the local socket (SASL EXTERNAL), with no
#   password and no network access:
#     docker compose exec openldap ldapmodify -Y EXTERNAL -H ldapi://%2Frun%2Fslapd%2Fldapi -f change.ldif
#
# Every path can be overridden by the environment (the tests run this script with Debian's slapd).
set -eu

SUFFIX='dc=example,dc=org'
ELEVATE_DN="cn=elevate,ou=services,${SUFFIX}"
PORT="${LDAP_PORT:-1389}"
LISTEN_HOST="${LDAP_LISTEN_HOST:-0.0.0.0}"
DATA_DIR="${LDAP_DATA_DIR:-/var/lib/elevate-ldap}"
RUN_DIR="${LDAP_RUN_DIR:-/run/slapd}"
SEED_FILE="${LDAP_SEED_FILE:-/etc/elevate-ldap/seed.ldif}"
PASSWORD_FILE="${LDAP_ELEVATE_PASSWORD_FILE:-/run/secrets/ldap-elevate-password}"
SCHEMA_DIR="${LDAP_SCHEMA_DIR:-/etc/ldap/schema}"
MODULE_DIR="${LDAP_MODULE_DIR:-/usr/lib/ldap}"
SBIN="${LDAP_SBIN_DIR:-/usr/sbin}"
LOG_LEVEL="${LDAP_LOG_LEVEL:-0}"

fail() {
  echo "openldap: $*" >&2
  exit 1
}

[ -r "$PASSWORD_FILE" ] || fail "cannot read Elevate's password file $PASSWORD_FILE (the ldap-elevate-password secret)"
password="$(cat "$PASSWORD_FILE")"
[ -n "$password" ] || fail "$PASSWORD_FILE is empty"
# Trailing newlines are dropped, as Elevate drops them from LDAP_BIND_PASSWORD_FILE.
hash="$(printf '%s' "$password" | "$SBIN/slappasswd" -n -h '{SSHA}' -T /dev/stdin)"
unset password

mkdir -p "$RUN_DIR" "$DATA_DIR"
umask 077
conf="$RUN_DIR/slapd.conf"
socket="$RUN_DIR/ldapi"
socket_url="ldapi://$(printf '%s' "$socket" | sed 's|/|%2F|g')"
cat >"$conf" <<EOF
# Written by entrypoint.sh on every start; edits are lost.
include ${SCHEMA_DIR}/core.schema
include ${SCHEMA_DIR}/cosine.schema
include ${SCHEMA_DIR}/inetorgperson.schema
include ${SCHEMA_DIR}/nis.schema
pidfile ${RUN_DIR}/slapd.pid
argsfile ${RUN_DIR}/slapd.args
modulepath ${MODULE_DIR}
moduleload back_mdb

access to dn.base=""
  by * read
access to dn.base="cn=Subschema"
  by * read
access to attrs=userPassword
  by self write
  by anonymous auth
  by * none
access to dn.one="ou=groups,${SUFFIX}" attrs=member
  by dn.exact="${ELEVATE_DN}" write
  by users read
  by * none
access to *
  by users read
  by * none

database mdb
maxsize 1073741824
suffix "${SUFFIX}"
rootdn "gidNumber=$(id -g)+uidNumber=$(id -u),cn=peercred,cn=external,cn=auth"
directory ${DATA_DIR}
index objectClass eq
index mail eq
index member eq
EOF

if [ ! -f "$DATA_DIR/data.mdb" ]; then
  echo "openldap: empty database: loading $SEED_FILE and $ELEVATE_DN"
  {
    cat "$SEED_FILE"
    printf '\ndn: %s\nobjectClass: organizationalRole\nobjectClass: simpleSecurityObject\ncn: elevate\n' "$ELEVATE_DN"
    printf 'description: Elevate (grants and revokes membership of the groups under ou=groups)\n'
    printf 'userPassword: %s\n' "$hash"
  } | "$SBIN/slapadd" -q -f "$conf" -l /dev/stdin
else
  printf 'dn: %s\nchangetype: modify\nreplace: userPassword\nuserPassword: %s\n' "$ELEVATE_DN" "$hash" \
    | "$SBIN/slapmodify" -q -f "$conf" -l /dev/stdin
fi

echo "openldap: listening on ldap://${LISTEN_HOST}:${PORT}/ and ${socket_url}"
exec "$SBIN/slapd" -d "$LOG_LEVEL" -f "$conf" -h "ldap://${LISTEN_HOST}:${PORT}/ ${socket_url}"
