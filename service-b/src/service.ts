import { migrate } from "@sum/pg-migrate";
import pg from "pg";
import type { Logger } from "pino";
import type { Config } from "./config.js";
import { applyBatch, type Ledger } from "./domain/apply-batch.js";
import { isSampled } from "./domain/sum-event.js";
import { ServiceMetrics } from "./metrics.js";
import { MIGRATIONS_DIR } from "./paths.js";
import { readFailure } from "./persistence/read-failure.js";
import {
  applyEvents,
  beatHeartbeat,
  findProcessed,
  lastAppliedOffset,
  pruneProcessed,
  readHeartbeat,
  readTotal,
} from "./persistence/totals-store.js";
import { ReplicaLag } from "./replica-lag.js";
import { buildHttpServer, type Consistency, type TotalView } from "./transport/http.js";
import { describeGap, kafkaPipeline } from "./transport/kafka-consumer.js";

const LAG_INTERVAL_MS = 5000;
/** How often the replica's lag is measured: the reads' choice of replica or leader is this fresh. */
const REPLICA_PROBE_INTERVAL_MS = 1000;

export interface RunningService {
  httpPort: number;
  metrics: ServiceMetrics;
  stop(): Promise<void>;
}

function pool(connectionString: string, max: number, connectTimeoutMs: number, logger: Logger): pg.Pool {
  const created = new pg.Pool({
    connectionString,
    max,
    connectionTimeoutMillis: connectTimeoutMs,
    statement_timeout: 10_000,
    query_timeout: 11_000,
    application_name: "service-b",
  });
  created.on("error", (error) => logger.warn({ err: error }, "idle database connection lost"));
  return created;
}

/** Wires Service B: migrations, the leader and replica pools, the Kafka consumer and the REST API. */
export async function startService(config: Config, logger: Logger): Promise<RunningService> {
  const applied = await migrate(config.MIGRATION_DATABASE_URL, MIGRATIONS_DIR, {
    applicationName: "service-b-migrate",
  });
  if (applied.length > 0) logger.info({ applied }, "migrations applied");

  const metrics = new ServiceMetrics();
  const leader = pool(config.LEADER_DATABASE_URL, config.DB_POOL_SIZE, 2000, logger);
  const replica = pool(config.REPLICA_DATABASE_URL, 2, 500, logger);
  const replicaLag = new ReplicaLag(
    { beat: () => beatHeartbeat(leader), seen: () => readHeartbeat(replica) },
    config.REPLICA_MAX_LAG_MS,
  );

  let lastTotal = "0";
  /** Partitions stopped because records were deleted before they were applied: why, by partition. */
  const gaps = new Map<number, string>();
  const ledger: Ledger = {
    apply: async (events, last) => {
      const outcome = await applyEvents(leader, events, {
        topic: config.KAFKA_TOPIC,
        partition: last.partition,
        offset: last.offset,
      });
      lastTotal = outcome.total;
      return outcome;
    },
  };

  const pipeline = kafkaPipeline({
    brokers: config.KAFKA_BROKERS,
    clientId: config.SERVICE_ID,
    groupId: config.KAFKA_GROUP_ID,
    sessionTimeoutMs: config.KAFKA_SESSION_TIMEOUT_MS,
    fetchMinBytes: config.FETCH_MIN_BYTES,
    fetchMaxWaitMs: config.FETCH_MAX_WAIT_MS,
    topic: config.KAFKA_TOPIC,
    dlqTopic: config.KAFKA_DLQ_TOPIC,
    sliceSize: config.APPLY_SLICE_SIZE,
    maxBackoffMs: config.RETRY_MAX_BACKOFF_MS,
    logger,
    onApplyFailure: () => metrics.applyFailures.inc(),
    lastAppliedOffset: (partition) => lastAppliedOffset(leader, config.KAFKA_TOPIC, partition),
    onGap: (gap) => {
      gaps.set(gap.partition, describeGap(gap));
      metrics.partitionGap.set({ partition: String(gap.partition) }, 1);
      logger.error({ partition: gap.partition }, `stopped consuming ${describeGap(gap)}`);
    },
    applySlice: async (messages) => {
      const started = performance.now();
      const outcome = await applyBatch({ ledger, deadLetters: pipeline.deadLetters }, messages);
      const now = Date.now();
      metrics.consumed.inc(messages.length);
      metrics.applied.inc(outcome.applied.length);
      metrics.duplicates.inc(outcome.duplicates);
      metrics.deadLettered.inc(outcome.deadLettered.length);
      metrics.batchSize.observe(messages.length);
      metrics.batchDuration.observe((performance.now() - started) / 1000);
      metrics.total.set(Number(lastTotal));
      for (const event of outcome.applied) {
        metrics.endToEnd.observe((now - event.createdAt.getTime()) / 1000);
        // Sampled traces (the caller asked) at info, so one request can be followed across the services.
        logger[isSampled(event.traceparent) ? "info" : "debug"](
          { event_id: event.eventId, traceparent: event.traceparent, result: event.result },
          "event applied",
        );
      }
      for (const letter of outcome.deadLettered) {
        logger.warn(
          { partition: letter.message.partition, offset: letter.message.offset, reason: letter.reason },
          "dead-lettered",
        );
      }
    },
  });

  // The leader is the last resort of every read: its failure is the answer.
  const fromLeader = async (): Promise<TotalView> => {
    const row = await readTotal(leader).catch((error: unknown) => {
      throw readFailure(error);
    });
    return { ...view(row), source: "leader", replica_lag_seconds: null };
  };
  const readTotalView = async (consistency: Consistency): Promise<TotalView> => {
    const lag = replicaLag.freshLag();
    if (consistency === "strong" || lag === undefined) return fromLeader();
    try {
      const row = await readTotal(replica);
      return { ...view(row), source: "replica", replica_lag_seconds: lag };
    } catch (error) {
      logger.debug({ err: error }, "replica unreadable; reading the leader");
      return fromLeader();
    }
  };

  const findEvent = async (eventId: string, consistency: Consistency) => {
    const eventFromLeader = () =>
      findProcessed(leader, eventId).catch((error: unknown) => {
        throw readFailure(error);
      });
    const fromReplica = consistency === "eventual" && replicaLag.freshLag() !== undefined;
    const row = fromReplica ? await findProcessed(replica, eventId).catch(eventFromLeader) : await eventFromLeader();
    return row && { event_id: row.event_id, result: Number(row.result), applied_at: row.processed_at.toISOString() };
  };

  const whyNotReady = async () => {
    if (gaps.size > 0) return `stopped at a gap: ${[...gaps.values()].join("; ")}`;
    if (!pipeline.isJoined()) return "the consumer has not joined its group";
    return leader.query("SELECT 1").then(
      () => undefined,
      () => "the leader is unreachable",
    );
  };

  const http = buildHttpServer({ readTotal: readTotalView, findEvent, whyNotReady, metrics, logger });
  await http.listen({ host: config.HOST, port: config.HTTP_PORT });
  await pipeline.start();
  const address = http.server.address();
  const httpPort = typeof address === "object" && address ? address.port : config.HTTP_PORT;
  logger.info({ httpPort, topic: config.KAFKA_TOPIC, group: config.KAFKA_GROUP_ID }, "service-b running");

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
    pipeline.lag().then(
      (lags) => {
        metrics.recordConsumerLag(lags);
        // 0 for every partition without a gap, so the gap alert's series exists before it is needed.
        for (const partition of lags.keys()) {
          if (!gaps.has(partition)) metrics.partitionGap.set({ partition: String(partition) }, 0);
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
    httpPort,
    metrics,
    async stop() {
      stopping = true;
      clearInterval(prune);
      clearInterval(replicaProbe);
      clearInterval(lagProbe);
      await pipeline.stop();
      await http.close();
      await Promise.all([leader.end(), replica.end()]);
      logger.info("service-b stopped");
    },
  };
}

function view(row: { total: string; events_applied: string; updated_at: Date | null }) {
  return {
    total: row.total,
    events_applied: Number(row.events_applied),
    updated_at: row.updated_at?.toISOString() ?? null,
  };
}
