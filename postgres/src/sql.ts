import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/**
 * The SQL that sets up roles, grants and slots on the stack's servers, the same files for the native
 * stack, Docker Compose and the tests. Each file is safe to run again and takes its passwords as psql
 * variables (`:'name'`); see PostgresServer.psqlFile.
 */
export const SQL_DIR = join(dirname(fileURLToPath(import.meta.url)), "..", "sql");

export const SQL_FILES = {
  /** Service A's roles and the outbox database (`owner_password`, `service_password`, `debezium_password`,
   *  `reconciler_password`). */
  outboxDatabase: join(SQL_DIR, "outbox-database.sql"),
  /** Service B's roles and the totals database on the leader (`owner_password`, `service_password`, `reconciler_password`). */
  totalsDatabase: join(SQL_DIR, "totals-database.sql"),
  /** The monitoring role (`exporter_password`). */
  exporterRole: join(SQL_DIR, "exporter-role.sql"),
  /** In the outbox database, after Service A's migrations: Debezium's slot, OUTBOX_SLOT. */
  outboxSlot: join(SQL_DIR, "outbox-slot.sql"),
  /** On Service B's leader: the replicator role (`replication_password`) and the replica's slot, REPLICA_SLOT. */
  replication: join(SQL_DIR, "replication.sql"),
};

/** Debezium's logical slot, as outbox-slot.sql creates it (slot.name in debezium/outbox-connector.json). */
export const OUTBOX_SLOT = "outbox_slot";

/** The replica's physical slot on the leader, as replication.sql creates it. */
export const REPLICA_SLOT = "replica_slot";

/** The role the replica streams as, as replication.sql creates it. */
export const REPLICATION_ROLE = "replicator";
