import type pg from "pg";
import type { UnappliedEvent } from "../domain/judge-window.js";
import type { Window } from "../domain/windows.js";

// The outbox keeps each acknowledged event for the reconcile window (Service A's migration 006):
// it is the ledger. The reconciler reads it, and re-sends or forgets events only through the
// functions that migration grants it.

/** Count and sum of results, exact (numeric, as text). */
export interface Tally {
  count: number;
  sum: string;
}

export interface OutboxPosition {
  /** now(), in ms. */
  at: number;
  walLsn: bigint;
  /** Debezium's slot's confirmed_flush_lsn; null if the slot does not exist. */
  confirmedLsn: bigint | null;
}

/** The outbox database's clock, its WAL position and Debezium's, read in one statement. */
export async function readOutboxPosition(outbox: pg.Pool, slot: string): Promise<OutboxPosition> {
  const result = await outbox.query<{ at: number; wal: string; confirmed: string | null }>(
    `SELECT extract(epoch FROM clock_timestamp())::float8 * 1000 AS at,
            pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0')::text AS wal,
            (SELECT pg_wal_lsn_diff(confirmed_flush_lsn, '0/0')::text
               FROM pg_replication_slots WHERE slot_name = $1) AS confirmed`,
    [slot],
  );
  const row = result.rows[0] as { at: number; wal: string; confirmed: string | null };
  return {
    at: row.at,
    walLsn: BigInt(row.wal),
    confirmedLsn: row.confirmed === null ? null : BigInt(row.confirmed),
  };
}

export async function acknowledgedTally(outbox: pg.Pool, window: Window): Promise<Tally> {
  const result = await outbox.query<{ count: string; sum: string }>(
    `SELECT count(*) AS count, coalesce(sum((payload->>'result')::bigint), 0)::text AS sum
       FROM outbox WHERE id >= $1 AND id < $2`,
    [window.fromId, window.toId],
  );
  const row = result.rows[0] as { count: string; sum: string };
  return { count: Number(row.count), sum: row.sum };
}

/** The window's acknowledged events, with their re-sends. */
export async function acknowledgedEvents(outbox: pg.Pool, window: Window): Promise<UnappliedEvent[]> {
  const result = await outbox.query<{ id: string; attempts: number | null; resent_at: number | null }>(
    `SELECT o.id::text AS id, r.attempts, extract(epoch FROM r.resent_at)::float8 * 1000 AS resent_at
       FROM outbox o LEFT JOIN outbox_resends r ON r.event_id = o.id
      WHERE o.id >= $1 AND o.id < $2`,
    [window.fromId, window.toId],
  );
  return result.rows.map((row) => ({ id: row.id, attempts: row.attempts ?? 0, resentAt: row.resent_at }));
}

/** How many of the window's events were ever re-sent. */
export async function resentCount(outbox: pg.Pool, window: Window): Promise<number> {
  const result = await outbox.query<{ count: string }>(
    "SELECT count(*) AS count FROM outbox_resends WHERE event_id >= $1 AND event_id < $2",
    [window.fromId, window.toId],
  );
  return Number(result.rows[0]?.count ?? 0);
}

/** Sends the events again through the outbox, as they were; returns how many were. */
export async function resendEvents(outbox: pg.Pool, ids: string[]): Promise<number> {
  const result = await outbox.query("SELECT resend_events($1::uuid[])", [ids]);
  return result.rowCount ?? 0;
}

/** Forgets up to `batch` events created before `before`; returns how many. */
export async function forgetEventsBefore(outbox: pg.Pool, before: Date, batch: number): Promise<number> {
  const result = await outbox.query<{ forgotten: string }>("SELECT forget_events_before($1, $2) AS forgotten", [
    before,
    batch,
  ]);
  return Number(result.rows[0]?.forgotten ?? 0);
}
