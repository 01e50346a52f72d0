import pg from "pg";
import type { SumEvent } from "../domain/sum-event.js";

// The total and counters are exact: numeric and bigint come back as strings, never as floats.
pg.types.setTypeParser(pg.types.builtins.INT8, (text) => text);

/**
 * One statement, one transaction: record the ids (a conflict means seen before), then add the
 * results of the newly recorded ids alone. The row lock on running_total and the unique index on
 * processed_events keep concurrent instances exact.
 */
const APPLY = `
  WITH incoming AS (
    SELECT * FROM unnest($1::uuid[], $2::bigint[]) AS e(event_id, result)
  ), recorded AS (
    INSERT INTO processed_events (event_id, result)
    SELECT event_id, result FROM incoming
    ON CONFLICT (event_id) DO NOTHING
    RETURNING event_id, result
  )
  UPDATE running_total
     SET total = total + coalesce((SELECT sum(result) FROM recorded), 0),
         events_applied = events_applied + (SELECT count(*) FROM recorded),
         updated_at = now()
   WHERE id = 1
  RETURNING total::text AS total,
            (SELECT coalesce(array_agg(event_id::text), '{}') FROM recorded) AS applied_ids`;

const PRUNE = `
  DELETE FROM processed_events WHERE event_id IN (
    SELECT event_id FROM processed_events WHERE processed_at < now() - make_interval(secs => $1) LIMIT $2)`;

export interface TotalRow {
  total: string;
  events_applied: string;
  updated_at: Date | null;
}

/** Applies events whose ids are distinct; returns those that were new, and the new total. */
export async function applyEvents(
  pool: pg.Pool,
  events: SumEvent[],
): Promise<{ applied: SumEvent[]; duplicates: number; total: string }> {
  const result = await pool.query<{ applied_ids: string[]; total: string }>(APPLY, [
    events.map((e) => e.eventId),
    events.map((e) => e.result.toString()),
  ]);
  const appliedIds = new Set(result.rows[0]?.applied_ids ?? []);
  const applied = events.filter((e) => appliedIds.has(e.eventId));
  return { applied, duplicates: events.length - applied.length, total: result.rows[0]?.total ?? "0" };
}

export async function readTotal(pool: pg.Pool): Promise<TotalRow> {
  const result = await pool.query<TotalRow>(
    "SELECT total::text AS total, events_applied, updated_at FROM running_total WHERE id = 1",
  );
  const row = result.rows[0];
  if (!row) throw new Error("running_total has no row: were the migrations applied?");
  return row;
}

export interface ProcessedRow {
  event_id: string;
  result: string;
  processed_at: Date;
}

/** The record of one applied event, or undefined if it was never applied (or was pruned). */
export async function findProcessed(pool: pg.Pool, eventId: string): Promise<ProcessedRow | undefined> {
  const result = await pool.query<ProcessedRow>(
    "SELECT event_id::text AS event_id, result, processed_at FROM processed_events WHERE event_id = $1",
    [eventId],
  );
  return result.rows[0];
}

/** Bumps the replica heartbeat on the leader; returns the value written. */
export async function beatHeartbeat(leader: pg.Pool): Promise<bigint> {
  const result = await leader.query<{ beat: string }>(
    "UPDATE replica_heartbeat SET beat = beat + 1 WHERE id = 1 RETURNING beat",
  );
  return BigInt(result.rows[0]?.beat ?? 0);
}

/** The replica heartbeat as the replica shows it. */
export async function readHeartbeat(replica: pg.Pool): Promise<bigint> {
  const result = await replica.query<{ beat: string }>("SELECT beat FROM replica_heartbeat WHERE id = 1");
  return BigInt(result.rows[0]?.beat ?? 0);
}

/** Deletes up to `limit` processed ids older than the retention; returns how many. */
export async function pruneProcessed(pool: pg.Pool, retentionSeconds: number, limit: number): Promise<number> {
  const result = await pool.query(PRUNE, [retentionSeconds, limit]);
  return result.rowCount ?? 0;
}
