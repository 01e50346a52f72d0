import { migrate } from "@sum/pg-migrate";
import { FailureStreak, startTracing } from "@sum/service-kit";
import type { Logger } from "pino";
import { startBackgroundJobs } from "./background-jobs.js";
import type { Config } from "./config.js";
import { consumeEvents } from "./consume-events.js";
import { ServiceMetrics } from "./metrics.js";
import { MIGRATIONS_DIR } from "./paths.js";
import { servicePool } from "./persistence/pool.js";
import { beatHeartbeat, logReplacements, readTotal } from "./persistence/totals-store.js";
import { readModel } from "./read-model.js";
import { ReplicaLag } from "./replica-lag.js";
import { buildHttpServer } from "./transport/http/http.js";

export interface RunningService {
  httpPort: number;
  metrics: ServiceMetrics;
  stop(): Promise<void>;
}

/**
 * Wires Service B: migrations, the leader and replica pools, the event path (consume-events.ts), the
 * REST API over the read model (read-model.ts) and the background jobs (background-jobs.ts).
 */
export async function startService(config: Config, logger: Logger): Promise<RunningService> {
  const applied = await migrate(config.MIGRATION_DATABASE_URL, MIGRATIONS_DIR, {
    applicationName: "service-b-migrate",
  });
  if (applied.length > 0) logger.info({ applied }, "migrations applied");

  const tracing = startTracing("service-b", config);
  const metrics = new ServiceMetrics();
  const leader = servicePool(config.LEADER_DATABASE_URL, config.DB_POOL_SIZE, 2000, logger);
  const replica = servicePool(config.REPLICA_DATABASE_URL, 2, 500, logger);
  const replicaLag = new ReplicaLag(() => beatHeartbeat(leader), config.REPLICA_MAX_LAG_MS);
  // Each read of the total from the leader (a client's, a scrape's, the readiness probe's) counts.
  const totalReads = new FailureStreak("reading the total");
  const readLeaderTotal = () => totalReads.track(readTotal(leader));
  metrics.readTotalFrom(async () => (await readLeaderTotal()).total);
  metrics.readLogReplacementsFrom(() => logReplacements(leader, config.KAFKA_TOPIC));
  const consumer = consumeEvents({ config, leader, metrics, logger, tracer: tracing.tracer });
  const reads = readModel({ leader, readLeaderTotal, replica, replicaLag, logger });

  // The probe reads the total itself, not SELECT 1 (which a database never migrated answers too),
  // so readiness follows the reads, and comes back after a failure, even while no client reads.
  const whyNotReady = async () => {
    await readLeaderTotal().catch(() => undefined);
    return consumer.whyNotConsuming() ?? totalReads.failing();
  };

  const http = buildHttpServer({
    readTotal: reads.readTotal,
    findEvent: reads.findEvent,
    whyNotReady,
    metrics,
    logger,
  });
  await http.listen({ host: config.HOST, port: config.HTTP_PORT });
  await consumer.start();
  const address = http.server.address();
  const httpPort = typeof address === "object" && address ? address.port : config.HTTP_PORT;
  logger.info({ httpPort, topic: config.KAFKA_TOPIC, group: config.KAFKA_GROUP_ID }, "service-b running");
  const jobs = startBackgroundJobs({ config, leader, replica, replicaLag, consumer, metrics, logger });

  return {
    httpPort,
    metrics,
    async stop() {
      jobs.stop();
      await consumer.stop();
      await http.close();
      await Promise.all([leader.end(), replica.end()]);
      await tracing.shutdown();
      logger.info("service-b stopped");
    },
  };
}
