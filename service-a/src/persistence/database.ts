import pg from "pg";
import { AppError } from "../domain/errors.js";

// int8 columns come back as strings by default; the only ones read here fit a bigint exactly.
pg.types.setTypeParser(pg.types.builtins.INT8, (text) => BigInt(text));

export interface PoolOptions {
  connectionString: string;
  max: number;
  connectTimeoutMs: number;
  statementTimeoutMs: number;
}

export function createPool(options: PoolOptions, onError: (error: Error) => void): pg.Pool {
  const pool = new pg.Pool({
    connectionString: options.connectionString,
    max: options.max,
    connectionTimeoutMillis: options.connectTimeoutMs,
    statement_timeout: options.statementTimeoutMs,
    // The server-side timeout cannot fire if the server is gone; this one can.
    query_timeout: options.statementTimeoutMs + 1000,
    idle_in_transaction_session_timeout: options.statementTimeoutMs * 2,
    idleTimeoutMillis: 30_000,
    application_name: "service-a",
  });
  // An idle connection whose server went away emits an error; without a listener it would crash the process.
  pool.on("error", onError);
  return pool;
}

/** SQLSTATE classes 22 (data exception) and 23 (integrity constraint): the row is at fault, not the database. */
export function isRowError(error: unknown): boolean {
  const code = (error as { code?: unknown }).code;
  return typeof code === "string" && /^2[23][0-9A-Z]{3}$/.test(code);
}

/** Anything else that fails a write means the database cannot take it now. */
export function unavailable(error: unknown): AppError {
  return new AppError("UNAVAILABLE", "the database is unavailable; retry later", { cause: error });
}

/** Runs `work` in a transaction on its own connection; a failed connection is discarded, not reused. */
export async function inTransaction<T>(pool: pg.Pool, work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  // A connection that dies between our queries emits 'error'; the next query fails and reports it.
  const ignore = () => undefined;
  client.on("error", ignore);
  try {
    await client.query("BEGIN");
    const result = await work(client);
    await client.query("COMMIT");
    client.off("error", ignore);
    client.release();
    return result;
  } catch (error) {
    await client.query("ROLLBACK").catch(() => undefined);
    client.off("error", ignore);
    client.release(error instanceof Error ? error : true);
    throw error;
  }
}
