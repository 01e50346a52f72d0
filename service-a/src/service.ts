import { SpanStatusCode } from "@opentelemetry/api";
import { isSampled } from "@sum/contract";
import { migrate } from "@sum/pg-migrate";
import { FailureStreak, READINESS_GRACE_MS, startBatchSpan, startTracing } from "@sum/service-kit";
import type { Logger } from "pino";
import type { Config } from "./config.js";
import {
  type AppendOutcome,
  calculateSum,
  type EventLog,
  type SumCommand,
  type OutboxEvent,
} from "./domain/calculate-sum.js";
import { ServiceMetrics } from "./metrics.js";
import { MIGRATIONS_DIR } from "./paths.js";
import { createPool } from "./persistence/database.js";
import { type EventStreamState, readEventStreamState, refusal } from "./persistence/event-stream.js";
import { GroupCommitter } from "./persistence/group-commit.js";
import { ping, probeWrite, purgeExpiredKeys, writeEvents } from "./persistence/outbox-store.js";
import { inRequestSpan } from "./request-span.js";
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
  // Readiness follows the writes: a database that answers SELECT 1 but can write nothing (its disk
  // full) must take the instance out of service.
  const writes = new FailureStreak("writing sums");
  let lastWriteAt = 0;
  const committer = new GroupCommitter<OutboxEvent, AppendOutcome>(
    async (batch) => {
      lastWriteAt = Date.now();
      const span = startBatchSpan(
        tracing.tracer,
        "outbox group commit",
        batch.map((event) => event.traceparent),
        { "db.operation.batch.size": batch.length },
      );
      try {
        const outcomes = await writeEvents(pool, batch);
        const failed = outcomes.filter((outcome) => outcome instanceof Error);
        if (failed.length === outcomes.length) writes.failed(failed[0]);
        else writes.succeeded();
        if (failed.length > 0) span?.setStatus({ code: SpanStatusCode.ERROR, message: `${failed.length} failed` });
        return outcomes;
      } finally {
        span?.end();
      }
    },
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

  // The slot's state, read once a second rather than per request: a sum that Debezium could not
  // deliver is refused before anything is written.
  const readStream = () => readEventStreamState(pool, config.OUTBOX_SLOT_NAME, config.OUTBOX_SLOT_REFUSE_AT);
  let stream: EventStreamState = await readStream();
  const watchStream = setInterval(() => {
    readStream().then(
      (state) => {
        if (state.kind !== stream.kind) {
          logger[state.kind === "ok" ? "info" : "error"](
            { slot: config.OUTBOX_SLOT_NAME, state },
            "event stream state",
          );
        }
        stream = state;
        metrics.recordEventStream(state);
      },
      // The database itself is down: writes fail on their own, with the right code.
      (error: unknown) => logger.debug({ err: error }, "event stream state unavailable"),
    );
  }, config.OUTBOX_SLOT_CHECK_MS);
  watchStream.unref();
  metrics.recordEventStream(stream);

  const events: EventLog = {
    append: async (event) => {
      const refused = refusal(stream, config.OUTBOX_SLOT_NAME);
      if (refused) {
        metrics.eventStreamRefusals.inc({ state: stream.kind });
        throw refused;
      }
      try {
        const outcome = await committer.submit(event);
        if (outcome.kind === "committed") metrics.eventsCommitted.inc();
        else metrics.idempotentReplays.inc();
        // Built only when it will be written: at thousands of sums a second, nearly none are.
        const level = isSampled(event.traceparent) ? "info" : "debug";
        if (logger.isLevelEnabled(level)) {
          logger[level](
            { event_id: event.eventId, traceparent: event.traceparent, outcome: outcome.kind },
            "event committed",
          );
        }
        return outcome;
      } catch (error) {
        metrics.databaseErrors.inc();
        throw error;
      }
    },
  };
  const sum = (command: SumCommand) => calculateSum({ events, serviceId: config.SERVICE_ID }, command);
  const tracedSum = (spanName: string) => (command: SumCommand) =>
    inRequestSpan(tracing.tracer, spanName, command, sum);

  let stopping = false;
  const whyNotReady = async (): Promise<string | undefined> => {
    if (stopping) return "stopping";
    try {
      await ping(pool);
    } catch {
      return "the database is not reachable";
    }
    // While sums keep coming, their writes say whether the instance can write. Failing with none
    // coming (a load balancer took the instance out), one write is tried, rolled back, so that
    // readiness comes back once writes can succeed.
    if (writes.failing() !== undefined && Date.now() - lastWriteAt > READINESS_GRACE_MS) {
      await writes.track(probeWrite(pool)).catch(() => undefined);
    }
    return writes.failing();
  };

  const http = buildHttpServer({
    calculateSum: tracedSum("POST /sum"),
    whyNotReady,
    metrics,
    logger,
    serviceId: config.SERVICE_ID,
  });
  const grpc = buildGrpcServer({ calculateSum: tracedSum(SUM_METHOD), metrics, logger });
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
      clearInterval(watchStream);
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
