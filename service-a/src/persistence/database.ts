import { AppError } from "@sum/service-kit";
import pg from "pg";
import { RETRY_WITH_THE_SAME_KEY } from "../domain/outcome-unknown.js";

// int8 columns come back as strings by default; the only ones read here fit a bigint exactly. Set
// on Service A's pools alone, so that no other pg user in the process has its int8 changed.
const TYPES = new pg.TypeOverrides();
TYPES.setTypeParser(pg.types.builtins.INT8, (text) => BigInt(text));

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
    types: TYPES,
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

/**
 * What a failed write means for the client. Only a statement that commits can fail with an unknown
 * outcome (see committing()); every other failure happened before anything could commit.
 */
export function writeFailure(error: unknown): AppError {
  if (error instanceof AppError) return error;
  if (isRowError(error)) {
    return new AppError("INTERNAL", "the database rejected this event; nothing was committed", { cause: error });
  }
  return new AppError("UNAVAILABLE", "the database is unavailable; nothing was committed; retry later", {
    cause: error,
  });
}

/**
 * Runs a statement that commits (COMMIT, or a statement in autocommit). PostgreSQL answers ERROR only
 * before the commit is durable, and then rolls back. Any other failure (the connection lost, a FATAL
 * such as pg_terminate_backend, the client's own query timeout) may come after the commit: the
 * transaction may or may not be committed, and only a retry with the same idempotency key can tell.
 * (A server with translated messages never says "ERROR", so there every failure counts as unknown:
 * the safe side.)
 */
async function committing<T>(statement: Promise<T>): Promise<T> {
  try {
    return await statement;
  } catch (error) {
    if ((error as { severity?: unknown }).severity === "ERROR") throw error;
    throw new AppError(
      "OUTCOME_UNKNOWN",
      `the commit was cut off (connection lost or timed out), so the sum may or may not be recorded; ${RETRY_WITH_THE_SAME_KEY}`,
      { cause: error },
    );
  }
}

/** Runs `work` on a connection of its own; a connection that failed is discarded (and with it any open transaction). */
async function onConnection<T>(pool: pg.Pool, work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  // A connection that dies between our queries emits 'error'; the next query fails and reports it.
  const ignore = () => undefined;
  client.on("error", ignore);
  try {
    const result = await work(client);
    client.off("error", ignore);
    client.release();
    return result;
  } catch (error) {
    client.off("error", ignore);
    client.release(error instanceof Error ? error : true);
    throw error;
  }
}

/** Runs `work` in a transaction; only a failure of the COMMIT itself leaves the outcome unknown. */
export function inTransaction<T>(pool: pg.Pool, work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  return onConnection(pool, async (client) => {
    await client.query("BEGIN");
    const result = await work(client);
    await committing(client.query("COMMIT"));
    return result;
  });
}

/** Runs one statement in autocommit: it commits by itself, so its failure may leave the outcome unknown. */
export function autocommit(pool: pg.Pool, sql: string, parameters: unknown[]): Promise<pg.QueryResult> {
  return onConnection(pool, (client) => committing(client.query(sql, parameters)));
}
