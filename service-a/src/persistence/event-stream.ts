import { AppError } from "@sum/service-kit";
import type pg from "pg";

/**
 * The state of Debezium's replication slot on the outbox, which is the only way a committed sum
 * reaches Kafka. PostgreSQL keeps WAL for the slot up to max_slot_wal_keep_size; past that it
 * invalidates the slot and every event not yet streamed is gone. So Service A refuses new sums
 * before that point (behind) and after it (lost, missing): fail closed rather than acknowledge
 * a sum that cannot be delivered.
 */
export type EventStreamState =
  | { kind: "ok"; retainedBytes: number; capBytes: number | undefined }
  | { kind: "behind"; retainedBytes: number; capBytes: number }
  | { kind: "lost" }
  | { kind: "missing" };

export const EVENT_STREAM_STATES = ["ok", "behind", "lost", "missing"] as const;

const READ_SLOT = `
  SELECT s.wal_status,
         pg_wal_lsn_diff(pg_current_wal_lsn(), s.restart_lsn)::bigint AS retained_bytes,
         pg_size_bytes(current_setting('max_slot_wal_keep_size')) AS cap_bytes,
         s.slot_name IS NOT NULL AS present
    FROM (SELECT 1) AS one
    LEFT JOIN pg_replication_slots AS s ON s.slot_name = $1`;

/** Reads the slot's state; `refuseAt` is the fraction of the WAL cap past which sums are refused. */
export async function readEventStreamState(pool: pg.Pool, slot: string, refuseAt: number): Promise<EventStreamState> {
  const { rows } = await pool.query<{
    wal_status: string | null;
    retained_bytes: bigint | null;
    cap_bytes: bigint;
    present: boolean;
  }>(READ_SLOT, [slot]);
  const row = rows[0];
  if (!row?.present) return { kind: "missing" };
  if (row.wal_status === "lost") return { kind: "lost" };
  const retainedBytes = Number(row.retained_bytes ?? 0n);
  // -1 (the default) keeps WAL without limit: the slot can fill the disk, but never be lost.
  const capBytes = row.cap_bytes < 0n ? undefined : Number(row.cap_bytes);
  if (capBytes !== undefined && retainedBytes >= refuseAt * capBytes)
    return { kind: "behind", retainedBytes, capBytes };
  return { kind: "ok", retainedBytes, capBytes };
}

const MIB = 1024 * 1024;

/** Why a sum is refused in this state, or undefined when it may be written. */
export function refusal(state: EventStreamState, slot: string): AppError | undefined {
  switch (state.kind) {
    case "ok":
      return undefined;
    case "behind":
      return new AppError(
        "UNAVAILABLE",
        `the event stream is behind: replication slot ${slot} holds ${Math.round(state.retainedBytes / MIB)} MiB of ` +
          `WAL of the ${Math.round(state.capBytes / MIB)} MiB it may keep (Kafka Connect or Kafka is down or slow); ` +
          "nothing was written; sums are taken again once it catches up",
      );
    case "lost":
      return new AppError(
        "UNAVAILABLE",
        `the event stream is broken: replication slot ${slot} was invalidated (its WAL passed max_slot_wal_keep_size), ` +
          "so no new sum could be delivered; nothing was written; an operator must recover it (README, Troubleshooting)",
      );
    case "missing":
      return new AppError(
        "UNAVAILABLE",
        `the event stream is broken: replication slot ${slot} does not exist, so no new sum could be delivered; ` +
          "nothing was written; an operator must recover it (README, Troubleshooting)",
      );
  }
}
