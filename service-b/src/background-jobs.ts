import type pg from "pg";
import type { Logger } from "pino";
import type { Config } from "./config.js";
import type { EventConsumer } from "./consume-events.js";
import type { ServiceMetrics } from "./metrics.js";
import { pruneProcessed } from "./persistence/totals-store.js";
import type { ReplicaLag } from "./replica-lag.js";

const LAG_INTERVAL_MS = 5000;
/** How often the replica's lag is measured: the reads' choice of replica or leader is this fresh. */
const REPLICA_PROBE_INTERVAL_MS = 1000;

/**
 * What runs on timers beside the event path: pruning event ids past their retention, measuring the
 * replica's lag (which the reads follow) and the consumer's (for the metrics).
 */
export function startBackgroundJobs(deps: {
  config: Pick<Config, "PRUNE_BATCH" | "PRUNE_INTERVAL_MS" | "PROCESSED_RETENTION_DAYS">;
  leader: pg.Pool;
  replicaLag: ReplicaLag;
  consumer: EventConsumer;
  metrics: ServiceMetrics;
  logger: Logger;
}): { stop(): void } {
  const { config, leader, replicaLag, consumer, metrics, logger } = deps;
  let stopping = false;
  const prune = setInterval(() => {
    void (async () => {
      let deleted = config.PRUNE_BATCH;
      while (deleted === config.PRUNE_BATCH && !stopping) {
        deleted = await pruneProcessed(leader, config.PROCESSED_RETENTION_DAYS * 86_400, config.PRUNE_BATCH);
      }
    })().catch((error: unknown) => logger.warn({ err: error }, "pruning processed events failed"));
  }, config.PRUNE_INTERVAL_MS);
  const probeReplica = () => replicaLag.probe().then(() => metrics.recordReplicaLag(replicaLag.seconds));
  void probeReplica();
  const replicaProbe = setInterval(probeReplica, REPLICA_PROBE_INTERVAL_MS);
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
  replicaProbe.unref();
  lagProbe.unref();
  return {
    stop() {
      stopping = true;
      clearInterval(prune);
      clearInterval(replicaProbe);
      clearInterval(lagProbe);
    },
  };
}
