import { migrate } from "@sum/pg-migrate";
import { startTracing } from "@sum/service-kit";
import type { Logger } from "pino";
import type { Config } from "./config.js";
import { calculateSum } from "./domain/calculate-sum.js";
import { ServiceMetrics } from "./metrics.js";
import { MIGRATIONS_DIR } from "./paths.js";
import { createPool } from "./persistence/database.js";
import { OutboxEventLog } from "./persistence/event-log.js";
import { GroupCommitter } from "./persistence/group-commit.js";
import { OutboxWriter, ping, purgeExpiredKeys } from "./persistence/outbox-store.js";
import { inRequestSpans } from "./request-span.js";
import { buildGrpcServer, closeGrpc, listenGrpc, SUM_METHOD } from "./transport/grpc.js";
import { buildHttpServer, closeHttp } from "./transport/http.js";

const PURGE_INTERVAL_MS = 10 * 60 * 1000;
const PURGE_BATCH = 1000;

const HTTP_LISTEN_BACKLOG = 4096;

export interface RunningService {
  httpPort: number;
  grpcPort: number;
  metrics: ServiceMetrics;
  /** Stops accepting, lets requests in flight finish, then closes the pool. */
  stop(): Promise<void>;
}

/** Wires Service A: migrations, the pool, group commit, and the HTTP and gRPC adapters over one use case. */
export async function startService(config: Config, logger: Logger): Promise<RunningService> {
  const applied = await migrate(config.MIGRATION_DATABASE_URL, MIGRATIONS_DIR, {
    applicationName: "service-a-migrate",
  });
  if (applied.length > 0) logger.info({ applied }, "migrations applied");

  const tracing = startTracing("service-a", config);
  const metrics = new ServiceMetrics();
  const pool = createPool(
    {
      connectionString: config.DATABASE_URL,
      max: config.DB_POOL_SIZE,
      connectTimeoutMs: config.DB_CONNECT_TIMEOUT_MS,
      statementTimeoutMs: config.DB_STATEMENT_TIMEOUT_MS,
    },
    (error) => logger.warn({ err: error }, "idle database connection lost"),
  );
  const outbox = new OutboxWriter(pool, tracing.tracer);
  const committer = new GroupCommitter(
    outbox.writeBatch,
    {
      maxBatchSize: config.GROUP_COMMIT_MAX_BATCH,
      windowMs: config.GROUP_COMMIT_WINDOW_MS,
      maxQueued: config.GROUP_COMMIT_MAX_QUEUED,
      // One connection stays free for readiness checks and the purge.
      maxConcurrentBatches: config.DB_POOL_SIZE - 1,
      timeoutMs: config.REQUEST_TIMEOUT_MS,
    },
    metrics.groupCommitObserver(),
  );
  const events = await OutboxEventLog.start({ pool, committer, settings: config, metrics, logger });
  // Bound, not wrapped: a request goes from its transport to the domain without passing through here.
  const sum = calculateSum.bind(undefined, { events, serviceId: config.SERVICE_ID });

  let stopping = false;
  const whyNotReady = async (): Promise<string | undefined> => {
    if (stopping) return "stopping";
    try {
      await ping(pool);
    } catch {
      return "the database is not reachable";
    }
    return outbox.whyNotWriting();
  };

  const http = buildHttpServer({
    calculateSum: inRequestSpans(tracing.tracer, "POST /sum", sum),
    whyNotReady,
    metrics,
    logger,
    serviceId: config.SERVICE_ID,
  });
  const grpc = buildGrpcServer({ calculateSum: inRequestSpans(tracing.tracer, SUM_METHOD, sum), metrics, logger });
  // A burst of new connections (callers without keep-alive, or all of nginx's at a restart) waits in
  // the accept queue; Node's default (511) overflowed at 1,000 at once on a busy machine, and the
  // kernel then dropped or reset them. Linux caps it at net.core.somaxconn (4096 by default).
  await http.listen({ host: config.HOST, port: config.HTTP_PORT, backlog: HTTP_LISTEN_BACKLOG });
  const grpcPort = await listenGrpc(grpc.server, config.HOST, config.GRPC_PORT);
  grpc.health.setStatus("", "SERVING");
  grpc.health.setStatus("summation.SummationService", "SERVING");
  const address = http.server.address();
  const httpPort = typeof address === "object" && address ? address.port : config.HTTP_PORT;
  logger.info({ httpPort, grpcPort }, "service-a listening");

  const purge = setInterval(() => {
    void (async () => {
      let deleted = PURGE_BATCH;
      while (deleted === PURGE_BATCH && !stopping) deleted = await purgeExpiredKeys(pool, PURGE_BATCH);
    })().catch((error: unknown) => logger.warn({ err: error }, "idempotency key purge failed"));
  }, PURGE_INTERVAL_MS);
  purge.unref();

  return {
    httpPort,
    grpcPort,
    metrics,
    async stop() {
      stopping = true;
      clearInterval(purge);
      events.stopWatching();
      grpc.health.setStatus("", "NOT_SERVING");
      grpc.health.setStatus("summation.SummationService", "NOT_SERVING");
      const [, cutGrpcSessions] = await Promise.all([
        closeHttp(http, config.SHUTDOWN_TIMEOUT_MS),
        closeGrpc(grpc.server, config.SHUTDOWN_TIMEOUT_MS),
      ]);
      if (cutGrpcSessions > 0) {
        logger.warn({ sessions: cutGrpcSessions }, "gRPC connections still open at the shutdown deadline were cut");
      }
      await committer.drain();
      await pool.end();
      await tracing.shutdown();
      logger.info("service-a stopped");
    },
  };
}
