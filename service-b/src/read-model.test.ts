import type pg from "pg";
import pino from "pino";
import { describe, expect, it } from "vitest";
import { beatHeartbeat, readTotal } from "./persistence/totals-store.js";
import { readModel } from "./read-model.js";
import { ReplicaLag } from "./replica-lag.js";

/** What a database holds: the heartbeat, the total and the applied event ids. */
interface Database {
  beat: bigint;
  total: bigint;
  events: Set<string>;
}

/** A pool answering the read model's statements, by the table they read, from the database `next` picks. */
function fakePool(next: () => Database): pg.Pool {
  const query = async (sql: string, params: unknown[] = []) => {
    const db = next();
    const heartbeat = String(db.beat);
    if (sql.includes("UPDATE replica_heartbeat")) {
      db.beat += 1n;
      return { rows: [{ beat: String(db.beat) }] };
    }
    if (sql.includes("FROM partition_totals")) {
      return {
        rows: [{ total: String(db.total), events_applied: String(db.events.size), updated_at: null, heartbeat }],
      };
    }
    const found = db.events.has(params[0] as string);
    const event = { event_id: params[0], result: "42", processed_at: new Date(0) };
    // findProcessed has no row for a missing event; findProcessedAndHeartbeat always one, with the heartbeat.
    if (!sql.includes("heartbeat")) return { rows: found ? [event] : [] };
    return {
      rows: [found ? { ...event, heartbeat } : { event_id: null, result: null, processed_at: null, heartbeat }],
    };
  };
  return { query } as unknown as pg.Pool;
}

/**
 * A leader and two standbys behind one read-only Service that spreads the replica's statements over
 * them in turn, standby B's streaming stopped at second 0; the leader beats and applies one event a
 * second after that, standby A replaying each at once.
 */
async function twoStandbysOneStopped() {
  const clock = { now: 0 };
  const leader: Database = { beat: 0n, total: 0n, events: new Set() };
  const copy = (db: Database): Database => ({ ...db, events: new Set(db.events) });
  const standbys = { a: copy(leader), b: copy(leader) };
  let turn = 0;
  const leaderPool = fakePool(() => leader);
  const replicaPool = fakePool(() => (turn++ % 2 === 0 ? standbys.a : standbys.b));
  const replicaLag = new ReplicaLag(
    () => beatHeartbeat(leaderPool),
    5000,
    () => clock.now,
  );
  const reads = readModel({
    leader: leaderPool,
    readLeaderTotal: () => readTotal(leaderPool),
    replica: replicaPool,
    replicaLag,
    logger: pino({ level: "silent" }),
  });

  await replicaLag.beat();
  standbys.a = copy(leader);
  standbys.b = copy(leader);
  for (let second = 1; second <= 10; second++) {
    clock.now = second * 1000;
    leader.total += 42n;
    leader.events.add(`event-${second}`);
    await replicaLag.beat();
    standbys.a = copy(leader);
  }
  clock.now = 10_200;
  return { leader, reads };
}

describe("the read model behind a read-only Service spreading reads over several standbys", () => {
  it("serves an eventually consistent read from the standby that answered only while that one is within the bound; the stopped one's turn reads the leader", async () => {
    const { leader, reads } = await twoStandbysOneStopped();
    const views = [];
    for (let i = 0; i < 4; i++) views.push(await reads.readTotal("eventual"));
    expect(views.map((view) => view.source)).toEqual(["replica", "leader", "replica", "leader"]);
    for (const view of views) expect(view.total).toBe(String(leader.total));
    expect(views[0]?.replica_lag_seconds).toBeCloseTo(0.2);
  });

  it("looks an event the stopped standby does not show up on the leader, rather than answering that it was never applied", async () => {
    const { reads } = await twoStandbysOneStopped();
    // Standby A's turn, then B's, which has not replayed event-10.
    expect(await reads.findEvent("event-10", "eventual")).toMatchObject({ event_id: "event-10" });
    expect(await reads.findEvent("event-10", "eventual")).toMatchObject({ event_id: "event-10" });
    // A's turn again: a standby within the bound that has no such event answers so.
    expect(await reads.findEvent("event-11", "eventual")).toBeUndefined();
  });
});
