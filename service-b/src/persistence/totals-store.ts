import type pg from "pg";
import type { SumEvent } from "../domain/sum-event.js";

/**
 * One statement, one transaction: record the ids (a conflict means seen before), add the results of
 * the newly recorded ids alone to the partition's row, and move its last applied offset (with the
 * digest of the record there) to the slice's end. The unique index on processed_events and the
 * partition's row lock keep concurrent instances, and slices of different partitions applied at
 * once, exact.
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
    INSERT INTO partition_totals AS p (topic, partition, last_offset, last_record_digest, total, events_applied, updated_at)
    VALUES ($3, $4, $5, $6, coalesce((SELECT sum(result) FROM recorded), 0), (SELECT count(*) FROM recorded), now())
    ON CONFLICT (topic, partition) DO UPDATE
       SET last_offset = greatest(p.last_offset, excluded.last_offset),
           last_record_digest = CASE WHEN excluded.last_offset >= p.last_offset
                                     THEN excluded.last_record_digest ELSE p.last_record_digest END,
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
  /** The digest of the record at `offset`, by which the log is known again (record-digest.ts). */
  digest: Buffer;
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
    end.digest,
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

/** Where a partition's consumption stands, as the database holds it. */
export interface AppliedPosition {
  /** The offset of the last message applied. */
  offset: bigint;
  /** The digest of the record at that offset; null before it was kept, or once the log was replaced. */
  digest: Buffer | null;
  /** The end offset of a replaced log's successor when it was found: caught up with it once past. */
  replacedLogEnd: bigint | null;
}

/** The partition's position, or undefined if none of its messages was ever applied. */
export async function appliedPosition(
  pool: pg.Pool,
  topic: string,
  partition: number,
): Promise<AppliedPosition | undefined> {
  const result = await pool.query<{
    last_offset: string;
    last_record_digest: Buffer | null;
    replaced_log_end: string | null;
  }>(
    "SELECT last_offset, last_record_digest, replaced_log_end FROM partition_totals WHERE topic = $1 AND partition = $2",
    [topic, partition],
  );
  const row = result.rows[0];
  return (
    row && {
      offset: BigInt(row.last_offset),
      digest: row.last_record_digest,
      replacedLogEnd: row.replaced_log_end === null ? null : BigInt(row.replaced_log_end),
    }
  );
}

/**
 * The partition's log was replaced: its position moves to just before the new log's start, and the
 * replacement is counted. Only from the position `from` read before (another instance may have moved
 * it since); says whether it did.
 */
export async function startAgainOnNewLog(
  pool: pg.Pool,
  replaced: { topic: string; partition: number; from: bigint; newLogStart: bigint; newLogEnd: bigint },
): Promise<boolean> {
  const result = await pool.query(
    `UPDATE partition_totals
        SET last_offset = $3, last_record_digest = NULL, log_replacements = log_replacements + 1,
            log_replaced_at = now(), replaced_log_end = $4
      WHERE topic = $1 AND partition = $2 AND last_offset = $5`,
    [
      replaced.topic,
      replaced.partition,
      (replaced.newLogStart - 1n).toString(),
      replaced.newLogEnd.toString(),
      replaced.from.toString(),
    ],
  );
  return result.rowCount === 1;
}

/** When each partition's log was last found replaced, in seconds since the epoch; 0 if never. */
export async function logReplacements(pool: pg.Pool, topic: string): Promise<Map<number, number>> {
  const result = await pool.query<{ partition: number; replaced_at: number }>(
    `SELECT partition, coalesce(extract(epoch FROM log_replaced_at), 0)::float8 AS replaced_at
       FROM partition_totals WHERE topic = $1`,
    [topic],
  );
  return new Map(result.rows.map((row) => [row.partition, row.replaced_at]));
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
