import type pg from "pg";
import type { Logger } from "pino";
import { readFailure } from "./persistence/read-failure.js";
import { findProcessed, readTotal, type TotalRow } from "./persistence/totals-store.js";
import type { ReplicaLag } from "./replica-lag.js";
import type { Consistency, EventView, TotalView } from "./transport/http.js";

export interface ReadModel {
  readTotal(consistency: Consistency): Promise<TotalView>;
  findEvent(eventId: string, consistency: Consistency): Promise<EventView | undefined>;
}

function view(row: { total: string; events_applied: string; updated_at: Date | null }) {
  return {
    total: row.total,
    events_applied: Number(row.events_applied),
    updated_at: row.updated_at?.toISOString() ?? null,
  };
}

/**
 * What clients read: an eventually consistent read goes to the replica while its lag is within the
 * bound (and to the leader when the replica fails it); a strong one always to the leader.
 */
export function readModel(deps: {
  leader: pg.Pool;
  /** The total, read from the leader. */
  readLeaderTotal: () => Promise<TotalRow>;
  replica: pg.Pool;
  replicaLag: ReplicaLag;
  logger: Logger;
}): ReadModel {
  const { leader, readLeaderTotal, replica, replicaLag, logger } = deps;
  // The leader is the last resort of every read: its failure is the answer.
  const leaderFailure = (error: unknown): never => {
    throw readFailure(error);
  };
  const fromLeader = async (): Promise<TotalView> => {
    const row = await readLeaderTotal().catch(leaderFailure);
    return { ...view(row), source: "leader", replica_lag_seconds: null };
  };
  return {
    async readTotal(consistency) {
      const lag = replicaLag.freshLag();
      if (consistency === "strong" || lag === undefined) return fromLeader();
      try {
        const row = await readTotal(replica);
        return { ...view(row), source: "replica", replica_lag_seconds: lag };
      } catch (error) {
        logger.debug({ err: error }, "replica unreadable; reading the leader");
        return fromLeader();
      }
    },
    async findEvent(eventId, consistency) {
      const fromLeaderOnly = () => findProcessed(leader, eventId).catch(leaderFailure);
      const fromReplica = consistency === "eventual" && replicaLag.freshLag() !== undefined;
      const row = fromReplica ? await findProcessed(replica, eventId).catch(fromLeaderOnly) : await fromLeaderOnly();
      return row && { event_id: row.event_id, result: Number(row.result), applied_at: row.processed_at.toISOString() };
    },
  };
}
