import type pg from "pg";
import type { Logger } from "pino";
import { readFailure } from "./persistence/read-failure.js";
import {
  findProcessed,
  findProcessedAndHeartbeat,
  readTotalAndHeartbeat,
  type TotalRow,
} from "./persistence/totals-store.js";
import type { ReplicaLag } from "./replica-lag.js";
import type { Consistency, EventView, TotalView } from "./transport/http/http.js";

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
 * What clients read: an eventually consistent read goes to the replica, and its answer is served
 * when the standby that gave it is within the bound (the heartbeat read in the same statement says
 * so, replica-lag.ts); otherwise, or when the replica cannot be read, the leader answers. A strong
 * read always goes to the leader.
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
  /** A replica's answer with its lag when that is within the bound; undefined when it is not, or unreadable. */
  const fromFreshReplica = async <T extends { heartbeat: bigint }>(read: () => Promise<T>) => {
    try {
      const answer = await read();
      const lag = replicaLag.freshLag(answer.heartbeat);
      return lag === undefined ? undefined : { answer, lag };
    } catch (error) {
      logger.debug({ err: error }, "replica unreadable; reading the leader");
      return undefined;
    }
  };
  return {
    async readTotal(consistency) {
      if (consistency === "strong") return fromLeader();
      const fresh = await fromFreshReplica(() => readTotalAndHeartbeat(replica));
      return fresh ? { ...view(fresh.answer), source: "replica", replica_lag_seconds: fresh.lag } : fromLeader();
    },
    async findEvent(eventId, consistency) {
      const fresh =
        consistency === "eventual"
          ? await fromFreshReplica(() => findProcessedAndHeartbeat(replica, eventId))
          : undefined;
      const row = fresh ? fresh.answer.row : await findProcessed(leader, eventId).catch(leaderFailure);
      return row && { event_id: row.event_id, result: Number(row.result), applied_at: row.processed_at.toISOString() };
    },
  };
}
