import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import pg from "pg";

// Any constant works; it only has to be the same for every instance of a service.
const DEFAULT_LOCK = 7_423_001;

/**
 * Applies the pending *.sql files of `directory` in name order, each in its own transaction, as the
 * schema owner. An advisory lock makes instances that start together take turns; the later ones
 * find nothing left to do. Returns the names it applied.
 */
export async function migrate(
  connectionString: string,
  directory: string,
  options: { lock?: number; applicationName?: string } = {},
): Promise<string[]> {
  const files = (await readdir(directory)).filter((name) => name.endsWith(".sql")).sort();
  const client = new pg.Client({ connectionString, application_name: options.applicationName ?? "migrate" });
  await client.connect();
  try {
    await client.query("SELECT pg_advisory_lock($1)", [options.lock ?? DEFAULT_LOCK]);
    await client.query(
      "CREATE TABLE IF NOT EXISTS schema_migrations (name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())",
    );
    const done = new Set(
      (await client.query<{ name: string }>("SELECT name FROM schema_migrations")).rows.map((r) => r.name),
    );
    const applied: string[] = [];
    for (const name of files.filter((file) => !done.has(file))) {
      const sql = await readFile(join(directory, name), "utf8");
      try {
        await client.query("BEGIN");
        await client.query(sql);
        await client.query("INSERT INTO schema_migrations (name) VALUES ($1)", [name]);
        await client.query("COMMIT");
      } catch (error) {
        await client.query("ROLLBACK");
        throw new Error(`migration ${name} failed: ${(error as Error).message}`, { cause: error });
      }
      applied.push(name);
    }
    return applied;
  } finally {
    await client.end();
  }
}
