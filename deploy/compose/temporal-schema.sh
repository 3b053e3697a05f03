#!/bin/sh
# One-shot step of docker-compose.yml (service temporal-schema, image temporalio/admin-tools):
# creates Temporal's two PostgreSQL databases if they are missing and brings both schemas up to
# the version this admin-tools image carries, with Temporal's own temporal-sql-tool. Safe to run
# again: existing databases are kept, and update-schema applies only the versions not yet applied.
# Upgrading Temporal: raise the admin-tools and server tags together; this step runs before the
# new server starts (docs/operations.md, "Production: Docker Compose").
set -eu

SQL_PASSWORD="$(cat /run/secrets/temporal-db-password)"
export SQL_PASSWORD
schemas=/etc/temporal/schema/postgresql/v12

for db in temporal temporal_visibility; do
  case "$db" in
    temporal) dir="$schemas/temporal/versioned" ;;
    *) dir="$schemas/visibility/versioned" ;;
  esac
  temporal-sql-tool --db "$db" create-database
  temporal-sql-tool --db "$db" setup-schema -v 0.0
  temporal-sql-tool --db "$db" update-schema -d "$dir"
done
echo "temporal-schema: databases temporal and temporal_visibility are up to date"
