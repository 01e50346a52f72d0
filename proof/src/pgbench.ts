import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { EVENTS_TOPIC, SUM_CALCULATED } from "@sum/contract";
import { run } from "@sum/native/process";
import type { Settings } from "@sum/native/settings";
import { postgresBinDir } from "@sum/postgres";

function outboxPsql(settings: Settings): (sql: string) => Promise<string> {
  const env = { ...process.env, PGPASSWORD: settings.POSTGRES_SUPERUSER_PASSWORD };
  const connection = ["-h", "127.0.0.1", "-p", String(settings.OUTBOX_DB_PORT), "-U", "postgres"];
  return (sql) => run(join(postgresBinDir(), "psql"), [...connection, "-d", "outbox", "-qAt", "-c", sql], { env });
}

/** The outbox as it stands: the reconciler's ledger, each acknowledged event kept for its window. */
export async function outboxLedger(settings: Settings): Promise<{ events: number; bytes: number }> {
  const [events = "0", bytes = "0"] = (
    await outboxPsql(settings)("SELECT count(*), pg_total_relation_size('outbox') FROM outbox")
  )
    .trim()
    .split("|");
  return { events: Number(events), bytes: Number(bytes) };
}

/**
 * pgbench's single-row INSERT transactions on the outbox database, into a copy of the outbox table
 * (not the outbox itself: Debezium would stream those rows and Service B would count them).
 */
export async function pgbench(settings: Settings, clients: number, seconds: number): Promise<number> {
  const bin = postgresBinDir();
  const env = { ...process.env, PGPASSWORD: settings.POSTGRES_SUPERUSER_PASSWORD };
  const connection = ["-h", "127.0.0.1", "-p", String(settings.OUTBOX_DB_PORT), "-U", "postgres"];
  const psql = outboxPsql(settings);
  await psql("DROP TABLE IF EXISTS bench_outbox; CREATE TABLE bench_outbox (LIKE outbox INCLUDING ALL)");
  const dir = await mkdtemp(join(tmpdir(), "pgbench-"));
  try {
    const script = join(dir, "insert.sql");
    await writeFile(
      script,
      `\\set a random(1, 1000000)
INSERT INTO bench_outbox (id, aggregatetype, aggregateid, type, payload)
  VALUES (gen_random_uuid(), '${EVENTS_TOPIC}', 'bench', '${SUM_CALCULATED}', jsonb_build_object('a', :a, 'b', 1, 'result', :a + 1));
`,
    );
    const args = [...connection, "-n", "-c", String(clients), "-j", "2", "-T", String(seconds), "-f", script, "outbox"];
    const output = await run(join(bin, "pgbench"), args, { env });
    const tps = /tps = ([\d.]+)/.exec(output)?.[1];
    if (!tps) throw new Error(`pgbench printed no rate: ${output}`);
    return Number(tps);
  } finally {
    await psql("DROP TABLE bench_outbox");
    await rm(dir, { recursive: true, force: true });
  }
}
