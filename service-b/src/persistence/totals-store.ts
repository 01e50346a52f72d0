import pg from "pg";
import type { SumEvent } from "../domain/sum-event.js";

// The total and counters are exact: numeric and bigint come back as strings, never as floats.
pg.types.setTypeParser(pg.types.builtins.INT8, (text) => text);

/**
 * One statement, one transaction: record the ids (a conflict means seen before), add the results of
 * the newly recorded ids alone to the partition's row, and move its last applied offset to the
 * slice's end. The unique index on processed_events and the partition's row lock keep concurrent
 * instances, and slices of different partitions applied at once, exact.
 */
const APPLY = `
  WITH incoming AS (
    SELECT * FROM unnest($1::uuid[], $2::bigint[]) AS e(event_id, result)
  ), recorded AS (
    INSERT INTO processed_events (event_id, result)
    SELECT event_id, result FROM incoming
    ON CONFLICT (event_id) DO NOTHING
    RETURNING event_id, result
  ), partition_row AS (
    INSERT INTO partition_totals AS p (topic, partition, last_offset, total, events_applied, updated_at)
    VALUES ($3, $4, $5, coalesce((SELECT sum(result) FROM recorded), 0), (SELECT count(*) FROM recorded), now())
    ON CONFLICT (topic, partition) DO UPDATE
       SET last_offset = greatest(p.last_offset, excluded.last_offset),
           total = p.total + excluded.total,
           events_applied = p.events_applied + excluded.events_applied,
           updated_at = excluded.updated_at
  )
  SELECT coalesce(array_agg(event_id::text), '{}') AS applied_ids FROM recorded`;

const PRUNE = `
  DELETE FROM processed_events WHERE event_id IN (
    SELECT event_id FROM processed_events WHERE processed_at < now() - make_interval(secs => $1) LIMIT $2)`;

export interface TotalRow {
  total: string;
  events_applied: string;
  updated_at: Date | null;
}

/** The last message of a slice: where its partition stands once the slice is applied. */
export interface SliceEnd {
  topic: string;
  partition: number;
  offset: string;
}

/**
 * Applies events whose ids are distinct (possibly none) and records `end` as the partition's last
 * applied offset; returns the events that were new.
 */
export async function applyEvents(
  pool: pg.Pool,
  events: SumEvent[],
  end: SliceEnd,
): Promise<{ applied: SumEvent[]; duplicates: number }> {
  const result = await pool.query<{ applied_ids: string[] }>(APPLY, [
    events.map((e) => e.eventId),
    events.map((e) => e.result.toString()),
    end.topic,
    end.partition,
    end.offset,
  ]);
  const appliedIds = new Set(result.rows[0]?.applied_ids ?? []);
  const applied = events.filter((e) => appliedIds.has(e.eventId));
  return { applied, duplicates: events.length - applied.length };
}

const TOTAL = `coalesce(sum(total), 0)::text AS total, coalesce(sum(events_applied), 0)::text AS events_applied,
  max(updated_at) AS updated_at`;
/** The replica heartbeat, as a column beside a replica read's data: one statement, one snapshot. */
const HEARTBEAT = "(SELECT beat FROM replica_heartbeat WHERE id = 1) AS heartbeat";

/** The total: the sum over the partitions' rows (and the row carried over from before them). */
export async function readTotal(pool: pg.Pool): Promise<TotalRow> {
  const result = await pool.query<TotalRow>(`SELECT ${TOTAL} FROM partition_totals`);
  return result.rows[0] as TotalRow;
}

/** The total and the replica heartbeat the same standby shows with it (replica-lag.ts). */
export async function readTotalAndHeartbeat(pool: pg.Pool): Promise<TotalRow & { heartbeat: bigint }> {
  const result = await pool.query<TotalRow & { heartbeat: string }>(
    `SELECT ${TOTAL}, ${HEARTBEAT} FROM partition_totals`,
  );
  const row = result.rows[0] as TotalRow & { heartbeat: string };
  return { ...row, heartbeat: BigInt(row.heartbeat) };
}

/** The offset of the partition's last message applied, or undefined if none ever was. */
export async function lastAppliedOffset(pool: pg.Pool, topic: string, partition: number): Promise<bigint | undefined> {
  const result = await pool.query<{ last_offset: string }>(
    "SELECT last_offset FROM partition_totals WHERE topic = $1 AND partition = $2",
    [topic, partition],
  );
  const row = result.rows[0];
  return row && BigInt(row.last_offset);
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

/** findProcessed, and the replica heartbeat the same standby shows with it (replica-lag.ts). */
export async function findProcessedAndHeartbeat(
  pool: pg.Pool,
  eventId: string,
): Promise<{ row: ProcessedRow | undefined; heartbeat: bigint }> {
  // Left-joined to one row, so the heartbeat comes back whether the event is there or not.
  const result = await pool.query<Partial<ProcessedRow> & { heartbeat: string }>(
    `SELECT ${HEARTBEAT}, p.event_id::text AS event_id, p.result, p.processed_at
       FROM (SELECT 1) AS one LEFT JOIN processed_events p ON p.event_id = $1`,
    [eventId],
  );
  const { heartbeat, ...processed } = result.rows[0] as Partial<ProcessedRow> & { heartbeat: string };
  return { row: processed.event_id ? (processed as ProcessedRow) : undefined, heartbeat: BigInt(heartbeat) };
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
