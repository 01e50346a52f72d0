#!/bin/bash
# One-shot set-up of the stack's PostgreSQL servers, run by Compose at every start as the native
# stack runs it (native/src/stack.ts); every step is safe to repeat. PGHOST, PGUSER and PGPASSWORD
# say where to connect.
#   outbox       roles and the outbox database (service-a/db/bootstrap.sql), the monitoring role
#   outbox-slot  Debezium's logical replication slot, once Service A's migrations have run
#   leader       roles and the totals database (service-b/db/bootstrap.sql), the replication role
#                and the replica's slot, the monitoring role
set -euo pipefail
cd "$(dirname "$0")"

run_sql() { psql -X -q -v ON_ERROR_STOP=1 "$@"; }

case "${1:-}" in
  outbox)
    run_sql -d postgres -v owner_password="$OUTBOX_DB_OWNER_PASSWORD" -v service_password="$SERVICE_A_DB_PASSWORD" \
      -v debezium_password="$DEBEZIUM_DB_PASSWORD" -f /sql/service-a-bootstrap.sql
    run_sql -d postgres -v exporter_password="$EXPORTER_DB_PASSWORD" -f exporter-role.sql
    ;;
  outbox-slot)
    run_sql -d outbox -f outbox-slot.sql
    ;;
  leader)
    run_sql -d postgres -v owner_password="$TOTALS_DB_OWNER_PASSWORD" -v service_password="$SERVICE_B_DB_PASSWORD" \
      -f /sql/service-b-bootstrap.sql
    run_sql -d postgres -v replication_password="$REPLICATION_PASSWORD" -f replication.sql
    run_sql -d postgres -v exporter_password="$EXPORTER_DB_PASSWORD" -f exporter-role.sql
    ;;
  *)
    echo "usage: $0 outbox|outbox-slot|leader" >&2
    exit 2
    ;;
esac
