#!/bin/bash
# One-shot set-up of the stack's PostgreSQL servers, run by Compose at every start with the SQL the
# native stack runs (postgres/sql, mounted at /sql); every step is safe to repeat. PGHOST, PGUSER and
# PGPASSWORD say where to connect.
#   outbox       roles and the outbox database, the monitoring role
#   outbox-slot  Debezium's logical replication slot, once Service A's migrations have run
#   leader       roles and the totals database, the replication role and the replica's slot, the
#                monitoring role
set -euo pipefail
SQL_DIR=${SQL_DIR:-/sql}

# run_sql DATABASE FILE [PSQL_VARIABLE=ENVIRONMENT_VARIABLE]...: runs FILE in DATABASE, each psql
# variable set from the named environment variable. They are passwords, so they go on psql's
# standard input, never on a command line (which every user of the machine can read).
run_sql() {
  local database=$1 file=$2 pair name value
  shift 2
  {
    for pair in "$@"; do
      name=${pair#*=}
      value=${!name}
      value=${value//\\/\\\\}
      value=${value//\'/\\\'}
      printf '\\set %s '\''%s'\''\n' "${pair%%=*}" "$value"
    done
    printf '\\i %s\n' "$SQL_DIR/$file"
  } | psql -X -q -v ON_ERROR_STOP=1 -d "$database"
}

case "${1:-}" in
  outbox)
    run_sql postgres outbox-database.sql owner_password=OUTBOX_DB_OWNER_PASSWORD \
      service_password=SERVICE_A_DB_PASSWORD debezium_password=DEBEZIUM_DB_PASSWORD \
      reconciler_password=RECONCILER_DB_PASSWORD
    run_sql postgres exporter-role.sql exporter_password=EXPORTER_DB_PASSWORD
    ;;
  outbox-slot)
    run_sql outbox outbox-slot.sql
    ;;
  leader)
    run_sql postgres totals-database.sql owner_password=TOTALS_DB_OWNER_PASSWORD \
      service_password=SERVICE_B_DB_PASSWORD reconciler_password=RECONCILER_DB_PASSWORD
    run_sql postgres replication.sql replication_password=REPLICATION_PASSWORD
    run_sql postgres exporter-role.sql exporter_password=EXPORTER_DB_PASSWORD
    ;;
  *)
    echo "usage: $0 outbox|outbox-slot|leader" >&2
    exit 2
    ;;
esac
