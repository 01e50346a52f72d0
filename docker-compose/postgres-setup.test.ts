import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import { SQL_DIR } from "@sum/postgres";
import { recordingPostgresBin, TemporaryPostgres } from "@sum/test-support";
import pg from "pg";
import { expect, it } from "vitest";
import { COMPOSE_DIR } from "./render-config.js";

/** Compose's set-up script, run here against a real PostgreSQL with the repository's postgres/sql. */
it("postgres-setup.sh sets every role's password exactly, and puts none on a command line", async () => {
  const bin = await recordingPostgresBin();
  const server = await TemporaryPostgres.start({ settings: ["wal_level = logical"] });
  try {
    const unique = Math.random().toString(36).slice(2);
    // Quote, backslash and space: what reaches the role is the password exactly.
    const passwords = {
      OUTBOX_DB_OWNER_PASSWORD: `outbox-owner-${unique}'\\ x`,
      SERVICE_A_DB_PASSWORD: `service-a-${unique}`,
      DEBEZIUM_DB_PASSWORD: `debezium-${unique}`,
      TOTALS_DB_OWNER_PASSWORD: `totals-owner-${unique}`,
      SERVICE_B_DB_PASSWORD: `service-b-${unique}`,
      RECONCILER_DB_PASSWORD: `reconciler-${unique}`,
      REPLICATION_PASSWORD: `replicator-${unique}`,
      EXPORTER_DB_PASSWORD: `exporter-${unique}`,
    };
    const env = {
      ...process.env,
      ...passwords,
      PATH: `${bin.dir}:${process.env.PATH}`,
      SQL_DIR,
      PGHOST: "127.0.0.1",
      PGPORT: String(server.port),
      PGUSER: "postgres",
      PGPASSWORD: server.superuserPassword,
    };
    // The order Compose runs them in (Service A's migrations, before the slot, are not needed here).
    for (const step of ["outbox", "outbox-slot", "leader"]) {
      await promisify(execFile)("bash", [join(COMPOSE_DIR, "postgres", "postgres-setup.sh"), step], { env });
    }

    const logins: Array<[string, string, string]> = [
      ["outbox", "outbox_owner", passwords.OUTBOX_DB_OWNER_PASSWORD],
      ["outbox", "service_a", passwords.SERVICE_A_DB_PASSWORD],
      ["outbox", "debezium", passwords.DEBEZIUM_DB_PASSWORD],
      ["totals", "totals_owner", passwords.TOTALS_DB_OWNER_PASSWORD],
      ["totals", "service_b", passwords.SERVICE_B_DB_PASSWORD],
      // Its one role, let into both databases.
      ["outbox", "reconciler", passwords.RECONCILER_DB_PASSWORD],
      ["totals", "reconciler", passwords.RECONCILER_DB_PASSWORD],
      ["postgres", "replicator", passwords.REPLICATION_PASSWORD],
      ["postgres", "exporter", passwords.EXPORTER_DB_PASSWORD],
    ];
    for (const [database, user, password] of logins) {
      const client = new pg.Client({ connectionString: server.url(database, user, password) });
      await client.connect();
      await client.end();
    }
    const slots = await server.query<{ slot_name: string }>("SELECT slot_name FROM pg_replication_slots ORDER BY 1");
    expect(slots.map((slot) => slot.slot_name)).toEqual(["outbox_slot", "replica_slot"]);
    const commands = await bin.commandLines();
    expect(commands.filter((line) => line.startsWith("psql ")).length).toBe(6);
    const secrets = Object.values(passwords);
    expect(commands.filter((line) => secrets.some((secret) => line.includes(secret)))).toEqual([]);
  } finally {
    await server.destroy();
    await bin.destroy();
  }
});
