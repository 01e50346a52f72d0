import type pg from "pg";
import type { Window } from "../domain/windows.js";
import type { Tally } from "./ledger.js";

// What Service B applied, read on its leader (read-only: Service B's migration 005).

export async function appliedTally(totals: pg.Pool, window: Window): Promise<Tally> {
  const result = await totals.query<{ count: string; sum: string }>(
    `SELECT count(*) AS count, coalesce(sum(result), 0)::text AS sum
       FROM processed_events WHERE event_id >= $1 AND event_id < $2`,
    [window.fromId, window.toId],
  );
  const row = result.rows[0] as { count: string; sum: string };
  return { count: Number(row.count), sum: row.sum };
}

/** Which of `ids` Service B applied. */
export async function appliedAmong(totals: pg.Pool, ids: string[]): Promise<Set<string>> {
  const result = await totals.query<{ id: string }>(
    "SELECT event_id::text AS id FROM processed_events WHERE event_id = ANY($1::uuid[])",
    [ids],
  );
  return new Set(result.rows.map((row) => row.id));
}

/** Each partition's last applied offset. */
export async function appliedOffsets(totals: pg.Pool, topic: string): Promise<Map<number, bigint>> {
  const result = await totals.query<{ partition: number; last_offset: string }>(
    "SELECT partition, last_offset::text AS last_offset FROM partition_totals WHERE topic = $1",
    [topic],
  );
  return new Map(result.rows.map((row) => [row.partition, BigInt(row.last_offset)]));
}
