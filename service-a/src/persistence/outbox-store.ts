import { SpanStatusCode, type Tracer } from "@opentelemetry/api";
import { encodeSumCalculated } from "@sum/contract";
import { AppError, FailureStreak, READINESS_GRACE_MS, startBatchSpan } from "@sum/service-kit";
import type pg from "pg";
import type { AppendOutcome, OriginalSum, OutboxEvent } from "../domain/calculate-sum.js";
import { newEventId } from "../domain/identifiers.js";
import { autocommit, inTransaction, isRowError, writeFailure } from "./database.js";
import type { BatchWriter } from "./group-commit.js";

/** The Kafka message value: the operands are within ±MAX_OPERAND, so exact as numbers. */
function eventPayload(event: OutboxEvent): string {
  return encodeSumCalculated({ ...event, a: Number(event.a), b: Number(event.b), result: Number(event.result) });
}

// Rows are claimed in the order given, each locking its key until commit: every batch gives its
// keys sorted, so two batches sharing keys wait for each other instead of deadlocking.
// A key's window is claimed_at on the database's clock, never created_at (the instance's clock, only
// replayed as the answer's timestamp): an instance's clock a day off must not expire keys at once.
const CLAIM_KEYS = `
  INSERT INTO idempotency_keys (key, a, b, event_id, service_id, created_at, claimed_at)
  SELECT *, now() FROM unnest($1::text[], $2::bigint[], $3::bigint[], $4::uuid[], $5::text[], $6::timestamptz[])
  ON CONFLICT (key) DO UPDATE
    SET a = excluded.a, b = excluded.b, event_id = excluded.event_id,
        service_id = excluded.service_id, created_at = excluded.created_at, claimed_at = excluded.claimed_at
    WHERE idempotency_keys.claimed_at < now() - interval '24 hours'
  RETURNING key`;

const READ_KEYS = `
  SELECT key, a, b, event_id, service_id, created_at FROM idempotency_keys WHERE key = ANY($1::text[])`;

// Inserts and deletes the events in one statement (db/migrations/002_append_events.sql): the insert
// is in the WAL for Debezium, and the table stays empty.
const APPEND_EVENTS = "SELECT append_events($1::uuid[], $2::jsonb[], $3::text[], $4::timestamptz[])";

const PURGE_EXPIRED_KEYS = `
  DELETE FROM idempotency_keys WHERE key IN (
    SELECT key FROM idempotency_keys WHERE claimed_at < now() - interval '24 hours' LIMIT $1)`;

interface KeyRow {
  key: string;
  a: bigint;
  b: bigint;
  event_id: string;
  service_id: string;
  created_at: Date;
}

function appendParameters(events: OutboxEvent[]): unknown[] {
  return [
    events.map((e) => e.eventId),
    events.map(eventPayload),
    events.map((e) => e.traceparent),
    events.map((e) => e.createdAt),
  ];
}

/** The one order in which every batch claims its keys (see CLAIM_KEYS). */
function byKey(x: OutboxEvent, y: OutboxEvent): number {
  const [first, second] = [x.idempotencyKey ?? "", y.idempotencyKey ?? ""];
  return first < second ? -1 : first > second ? 1 : 0;
}

/** Commits one transaction for the whole batch: new keys claimed, their events written to the outbox. */
async function writeTransaction(pool: pg.Pool, events: OutboxEvent[]): Promise<AppendOutcome[]> {
  const keyed = events.filter((event) => event.idempotencyKey !== undefined).sort(byKey);
  if (keyed.length === 0) {
    // No keys to claim: one statement, committed on its own.
    await autocommit(pool, APPEND_EVENTS, appendParameters(events));
    return events.map(() => ({ kind: "committed" }));
  }
  return inTransaction(pool, async (client) => {
    const claimed = await client.query<{ key: string }>(CLAIM_KEYS, [
      keyed.map((e) => e.idempotencyKey),
      keyed.map((e) => e.a.toString()),
      keyed.map((e) => e.b.toString()),
      keyed.map((e) => e.eventId),
      keyed.map((e) => e.serviceId),
      keyed.map((e) => e.createdAt),
    ]);
    const claimedKeys = new Set(claimed.rows.map((row) => row.key));
    const taken = keyed.map((e) => e.idempotencyKey as string).filter((key) => !claimedKeys.has(key));
    const originals = new Map<string, OriginalSum>();
    if (taken.length > 0) {
      const rows = await client.query<KeyRow>(READ_KEYS, [taken]);
      for (const row of rows.rows) {
        originals.set(row.key, {
          eventId: row.event_id,
          a: row.a,
          b: row.b,
          serviceId: row.service_id,
          createdAt: row.created_at,
        });
      }
    }
    const outcomes: AppendOutcome[] = events.map((event) => {
      const original = event.idempotencyKey === undefined ? undefined : originals.get(event.idempotencyKey);
      return original ? { kind: "key-already-used", original } : { kind: "committed" };
    });
    const fresh = events.filter((_, index) => outcomes[index]?.kind === "committed");
    if (fresh.length > 0) await client.query(APPEND_EVENTS, appendParameters(fresh));
    return outcomes;
  });
}

/**
 * Writes a batch of events. Duplicate idempotency keys inside the batch are written once and the
 * others replay it; a row the database rejects is retried alone so it fails by itself.
 */
export async function writeEvents(pool: pg.Pool, events: OutboxEvent[]): Promise<Array<AppendOutcome | Error>> {
  const firstIndexByKey = new Map<string, number>();
  const leaders: OutboxEvent[] = [];
  const slots = events.map((event) => {
    const key = event.idempotencyKey;
    const first = key === undefined ? undefined : firstIndexByKey.get(key);
    if (first !== undefined) return { leader: first, follower: true };
    if (key !== undefined) firstIndexByKey.set(key, leaders.length);
    leaders.push(event);
    return { leader: leaders.length - 1, follower: false };
  });
  const leaderOutcomes = await writeLeaders(pool, leaders);
  return slots.map(({ leader, follower }): AppendOutcome | Error => {
    const outcome = leaderOutcomes[leader] ?? new AppError("INTERNAL", "no outcome for event");
    if (!follower || outcome instanceof Error || outcome.kind === "key-already-used") return outcome;
    return { kind: "key-already-used", original: leaders[leader] as OutboxEvent };
  });
}

async function writeLeaders(pool: pg.Pool, events: OutboxEvent[]): Promise<Array<AppendOutcome | Error>> {
  try {
    return await writeTransaction(pool, events);
  } catch (error) {
    if (!isRowError(error) || events.length === 1) return events.map(() => writeFailure(error));
    // A row the database rejected fails the whole transaction: write each alone so it fails by itself.
    const outcomes: Array<AppendOutcome | Error> = [];
    for (const event of events) {
      try {
        outcomes.push(...(await writeTransaction(pool, [event])));
      } catch (rowError) {
        outcomes.push(writeFailure(rowError));
      }
    }
    return outcomes;
  }
}

/** The group committer's writer: one span and one transaction a batch; its writes tell readiness whether the instance can write. */
export class OutboxWriter {
  // Readiness follows the writes: a database that answers SELECT 1 but can write nothing (its disk
  // full) must take the instance out of service.
  private readonly writes = new FailureStreak("writing sums");
  private lastWriteAt = 0;

  constructor(
    private readonly pool: pg.Pool,
    private readonly tracer: Tracer,
  ) {}

  readonly writeBatch: BatchWriter<OutboxEvent, AppendOutcome> = async (batch) => {
    this.lastWriteAt = Date.now();
    const span = startBatchSpan(
      this.tracer,
      "outbox group commit",
      batch.map((event) => event.traceparent),
      { "db.operation.batch.size": batch.length },
    );
    try {
      const outcomes = await writeEvents(this.pool, batch);
      const failed = outcomes.filter((outcome) => outcome instanceof Error);
      if (failed.length === outcomes.length) this.writes.failed(failed[0]);
      else this.writes.succeeded();
      if (failed.length > 0) span?.setStatus({ code: SpanStatusCode.ERROR, message: `${failed.length} failed` });
      return outcomes;
    } finally {
      span?.end();
    }
  };

  /** Why the instance cannot write, or undefined when it can. */
  async whyNotWriting(): Promise<string | undefined> {
    // While sums keep coming, their writes say whether the instance can write. Failing with none
    // coming (a load balancer took the instance out), one write is tried, rolled back, so that
    // readiness comes back once writes can succeed.
    if (this.writes.failing() !== undefined && Date.now() - this.lastWriteAt > READINESS_GRACE_MS) {
      await this.writes.track(probeWrite(this.pool)).catch(() => undefined);
    }
    return this.writes.failing();
  }
}

/** Deletes up to `limit` expired idempotency keys; returns how many. */
export async function purgeExpiredKeys(pool: pg.Pool, limit: number): Promise<number> {
  const result = await pool.query(PURGE_EXPIRED_KEYS, [limit]);
  return result.rowCount ?? 0;
}

/**
 * Whether an event can be written now: one is appended and rolled back (an aborted insert is never
 * decoded, so Debezium sends nothing). Readiness asks this while writes fail, so that it comes back
 * as soon as a write can succeed, with no sums sent to find out.
 */
export async function probeWrite(pool: pg.Pool): Promise<void> {
  const client = await pool.connect();
  let failed: Error | undefined;
  try {
    await client.query("BEGIN");
    await client.query(APPEND_EVENTS, [[newEventId()], ["{}"], [null], [new Date()]]);
  } catch (error) {
    failed = error as Error;
    throw error;
  } finally {
    await client.query("ROLLBACK").catch(() => undefined);
    client.release(failed ?? false);
  }
}

export async function ping(pool: pg.Pool): Promise<void> {
  await pool.query("SELECT 1");
}
