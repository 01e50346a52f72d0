import pg from "pg";
import type { Logger } from "pino";

// The total and counters are exact: numeric and bigint come back as strings, never as floats. Set on
// the pool's own types, not pg's global ones, which another module in the process may set its way.
const types = new pg.TypeOverrides();
types.setTypeParser(pg.types.builtins.INT8, (text: string) => text);

/** A pool of Service B's connections to `connectionString`; a lost idle connection is logged, not thrown. */
export function servicePool(connectionString: string, max: number, connectTimeoutMs: number, logger: Logger): pg.Pool {
  const created = new pg.Pool({
    connectionString,
    max,
    connectionTimeoutMillis: connectTimeoutMs,
    statement_timeout: 10_000,
    query_timeout: 11_000,
    application_name: "service-b",
    types,
  });
  created.on("error", (error) => logger.warn({ err: error }, "idle database connection lost"));
  return created;
}
