import { SQL_FILES, TemporaryPostgres } from "@sum/test-support";

export const PASSWORDS = {
  owner: "owner-test",
  service: "service-a-test",
  debezium: "debezium-test",
  reconciler: "reconciler-test",
};

/**
 * A real PostgreSQL set up exactly as the stack sets it up: logical WAL, bootstrap roles and database,
 * and Debezium's replication slot (without a Debezium reading it; `slotWalCap` caps what it may keep);
 * its data directory at `dataDir` when given (see PostgresOptions).
 */
export async function startOutboxDatabase(
  options: { durable?: boolean; slotWalCap?: string; dataDir?: string } = {},
): Promise<TemporaryPostgres> {
  const postgres = await TemporaryPostgres.start({
    settings: [
      "wal_level = logical",
      "max_replication_slots = 8",
      "max_wal_senders = 4",
      ...(options.slotWalCap ? [`max_slot_wal_keep_size = '${options.slotWalCap}'`] : []),
    ],
    durable: options.durable ?? false,
    dataDir: options.dataDir,
  });
  await postgres.psqlFile(SQL_FILES.outboxDatabase, {
    owner_password: PASSWORDS.owner,
    service_password: PASSWORDS.service,
    debezium_password: PASSWORDS.debezium,
    reconciler_password: PASSWORDS.reconciler,
  });
  await postgres.psqlFile(SQL_FILES.outboxSlot, {}, "outbox");
  return postgres;
}
