#!/bin/bash
# The replica's entrypoint. On first start (no data yet) it copies the leader with pg_basebackup and
# makes the copy a hot standby that streams from the leader through its slot, as native/src/stack.ts
# does; then the image's own entrypoint runs PostgreSQL as usual.
set -euo pipefail
if [ ! -s "$PGDATA/PG_VERSION" ]; then
  install -d -o postgres -g postgres -m 700 "$PGDATA"
  # The password in the environment, not on a command line (env's would show in ps).
  PGPASSWORD="$REPLICATION_PASSWORD" gosu postgres pg_basebackup --host=postgres-leader --username=replicator \
    --pgdata="$PGDATA" --wal-method=stream --checkpoint=fast --write-recovery-conf --slot=replica_slot
  cat >>"$PGDATA/postgresql.auto.conf" <<CONF
hot_standby = on
primary_conninfo = 'host=postgres-leader port=5432 user=replicator password=$REPLICATION_PASSWORD application_name=postgres-replica'
primary_slot_name = 'replica_slot'
CONF
fi
exec docker-entrypoint.sh "$@"
