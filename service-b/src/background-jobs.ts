import type pg from "pg";
import type { Logger } from "pino";
import type { Config } from "./config.js";
import type { EventConsumer } from "./consume-events.js";
import type { ServiceMetrics } from "./metrics.js";
import { pruneProcessed, readHeartbeat } from "./persistence/totals-store.js";
import type { ReplicaLag } from "./replica-lag.js";

const LAG_INTERVAL_MS = 5000;
/** How often a heartbeat is written on the leader: a replica read's lag is known to about this. */
const HEARTBEAT_INTERVAL_MS = 1000;

/**
 * What runs on timers beside the event path: pruning event ids past their retention, the replica
 * heartbeat (which replica reads are measured by) with a look at a standby's for the lag metric, and
 * the consumer's lag (for the metrics).
 */
export function startBackgroundJobs(deps: {
  config: Pick<Config, "PRUNE_BATCH" | "PRUNE_INTERVAL_MS" | "PROCESSED_RETENTION_DAYS">;
  leader: pg.Pool;
  replica: pg.Pool;
  replicaLag: ReplicaLag;
  consumer: EventConsumer;
  metrics: ServiceMetrics;
  logger: Logger;
}): { stop(): void } {
  const { config, leader, replica, replicaLag, consumer, metrics, logger } = deps;
  let stopping = false;
  const prune = setInterval(() => {
    void (async () => {
      let deleted = config.PRUNE_BATCH;
      while (deleted === config.PRUNE_BATCH && !stopping) {
        deleted = await pruneProcessed(leader, config.PROCESSED_RETENTION_DAYS * 86_400, config.PRUNE_BATCH);
      }
    })().catch((error: unknown) => logger.warn({ err: error }, "pruning processed events failed"));
  }, config.PRUNE_INTERVAL_MS);
  // The heartbeat the last look at a standby found; undefined when it failed.
  let seen: bigint | undefined;
  metrics.replicaLagFrom(() => (seen === undefined ? undefined : replicaLag.lagOf(seen)));
  const heartbeat = () => {
    replicaLag.beat().catch((error: unknown) => logger.debug({ err: error }, "replica heartbeat not written"));
    void readHeartbeat(replica).then(
      (beat) => {
        seen = beat;
      },
      () => {
        seen = undefined;
      },
    );
  };
  heartbeat();
  const heartbeatTimer = setInterval(heartbeat, HEARTBEAT_INTERVAL_MS);
  const lagProbe = setInterval(() => {
    consumer.lag().then(
      (lags) => {
        metrics.recordConsumerLag(lags);
        // 0 for every partition not stopped, so the alerts' series exist before they are needed.
        for (const partition of lags.keys()) {
          if (!consumer.hasGap(partition)) metrics.partitionGap.set({ partition: String(partition) }, 0);
          if (!consumer.hasTooOldEvent(partition))
            metrics.partitionTooOldEvent.set({ partition: String(partition) }, 0);
        }
      },
      (error: unknown) => {
        metrics.recordConsumerLag(undefined);
        logger.debug({ err: error }, "consumer lag unavailable");
      },
    );
  }, LAG_INTERVAL_MS);
  prune.unref();
  heartbeatTimer.unref();
  lagProbe.unref();
  return {
    stop() {
      stopping = true;
      clearInterval(prune);
      clearInterval(heartbeatTimer);
      clearInterval(lagProbe);
    },
  };
}
