import { kafkaSasl } from "@sum/service-kit";
import pg from "pg";
import type { Logger } from "pino";
import type { Config } from "./config.js";
import { ReconcilerMetrics } from "./metrics.js";
import { Reconciler } from "./reconcile.js";
import { buildHttpServer } from "./transport/http.js";
import { kafkaLogs } from "./transport/kafka-logs.js";

export function pool(connectionString: string, logger: Logger): pg.Pool {
  const created = new pg.Pool({
    connectionString,
    max: 3,
    connectionTimeoutMillis: 2000,
    // A window's ids at the highest load (a few hundred thousand) are read in well under this.
    statement_timeout: 60_000,
    query_timeout: 61_000,
    application_name: "reconciler",
  });
  created.on("error", (error) => logger.warn({ err: error }, "idle database connection lost"));
  return created;
}

/**
 * Wires the reconciler: its two pools (its own role on each database), Kafka, the HTTP for probes
 * and metrics, and the passes, one after another every INTERVAL_MS. It runs as a process of its own,
 * outside Service A and Service B: it checks both from outside, holds privileges neither has (read
 * Service B's ids, re-send from the outbox), and one runs whatever the services' scale.
 */
export async function startService(config: Config, logger: Logger) {
  const metrics = new ReconcilerMetrics();
  const outbox = pool(config.OUTBOX_DATABASE_URL, logger);
  const totals = pool(config.TOTALS_DATABASE_URL, logger);
  const kafka = kafkaLogs(config.KAFKA_BROKERS, config.KAFKA_TOPIC, config.SERVICE_ID, kafkaSasl(config));
  const reconciler = new Reconciler({ config, outbox, totals, kafka, metrics, logger });

  let lastFailure: string | undefined;
  const whyNotReady = () => lastFailure ?? (reconciler.observed ? undefined : "the pipeline not looked at yet");
  const http = buildHttpServer({ whyNotReady, metrics, logger });
  await http.listen({ host: config.HOST, port: config.HTTP_PORT });

  let stopping = false;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> = Promise.resolve();
  const runPass = async () => {
    try {
      const report = await reconciler.pass({ everyWindow: false, repair: config.REPAIR });
      lastFailure = undefined;
      if (report.missing > 0 || report.late > 0) {
        logger.info(
          {
            missing: report.missing,
            late: report.late,
            resent: report.resent,
            after_repair: report.missingAfterRepair,
          },
          "reconcile pass",
        );
      }
    } catch (error) {
      lastFailure = (error as Error).message;
      metrics.passFailures.inc();
      logger.warn({ err: error }, "reconcile pass failed; the next pass tries again");
    }
    if (!stopping) timer = setTimeout(() => (running = runPass()), config.INTERVAL_MS);
  };
  running = runPass();
  logger.info(
    { httpPort: config.HTTP_PORT, windowHours: config.WINDOW_HOURS, repair: config.REPAIR },
    "reconciler running",
  );

  return {
    async stop() {
      stopping = true;
      clearTimeout(timer);
      await running;
      await http.close();
      await kafka.close().catch(() => undefined);
      await Promise.all([outbox.end(), totals.end()]);
      logger.info("reconciler stopped");
    },
  };
}
