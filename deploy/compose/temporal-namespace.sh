#!/bin/sh
# One-shot step of docker-compose.yml (service temporal-namespace, image temporalio/admin-tools):
# registers Elevate's Temporal namespace once the server answers; does nothing if it exists.
# Closed elevation workflows are kept for TEMPORAL_RETENTION (the audit trail, in Elevate's own
# database, is kept independently of it).
set -eu

address="${TEMPORAL_ADDRESS:-temporal:7233}"
namespace="${TEMPORAL_NAMESPACE:-elevate}"
retention="${TEMPORAL_RETENTION:-336h}"

attempt=1
until temporal operator cluster health --address "$address" >/dev/null 2>&1; do
  [ "$attempt" -lt 60 ] || { echo "temporal-namespace: Temporal at $address did not become healthy" >&2; exit 1; }
  attempt=$((attempt + 1))
  sleep 2
done

if temporal operator namespace describe --address "$address" --namespace "$namespace" >/dev/null 2>&1; then
  echo "temporal-namespace: namespace $namespace exists"
else
  temporal operator namespace create --address "$address" --namespace "$namespace" --retention "$retention"
  echo "temporal-namespace: namespace $namespace created (retention $retention)"
fi
