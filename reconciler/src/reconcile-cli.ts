// make reconcile: checks the whole reconcile window now, prints a line per minute, and exits 1 while
// any acknowledged event is missing from the total. It reports only (the running reconciler
// repairs), and needs no running reconciler: the same configuration, from the environment.
import { kafkaSasl, loadConfig } from "@sum/service-kit";
import pino from "pino";
import { configSchema } from "./config.js";
import { ReconcilerMetrics } from "./metrics.js";
import { type PassReport, Reconciler } from "./reconcile.js";
import { pool } from "./service.js";
import { kafkaLogs } from "./transport/kafka-logs.js";

/** How long to wait for the pipeline to deliver what was committed before the check began. */
const DELIVERY_WAIT_MS = 120_000;

function print(report: PassReport, deliveredBefore: number): void {
  const rows = report.windows.filter((w) => w.acknowledged + w.applied + w.missing + w.late + w.resent > 0);
  const header = ["minute (UTC)", "acknowledged", "applied", "missing", "late", "re-sent"];
  const lines = rows.map((w) => [
    w.start.toISOString().slice(0, 16).replace("T", " "),
    String(w.acknowledged),
    String(w.applied),
    String(w.missing),
    String(w.late),
    String(w.resent),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((line) => (line[i] as string).length)));
  const format = (cells: string[]) =>
    cells.map((cell, i) => (i === 0 ? cell.padEnd : cell.padStart).call(cell, widths[i] as number)).join("  ");
  process.stdout.write(`${[format(header), ...lines.map(format)].join("\n")}\n`);
  const acknowledged = rows.reduce((n, w) => n + w.acknowledged, 0);
  const delivered = Number.isFinite(deliveredBefore) ? new Date(deliveredBefore).toISOString() : "nothing yet";
  process.stdout.write(
    `${rows.length} minutes, ${acknowledged} acknowledged: ${report.missing} missing, ${report.late} late ` +
      `(delivered before ${delivered}), ${report.missingAfterRepair} missing after a re-send\n`,
  );
}

let config: ReturnType<typeof configSchema.parse>;
try {
  config = loadConfig("reconciler", configSchema, process.env);
} catch (error) {
  process.stderr.write(`${(error as Error).message}\n`);
  process.exit(2);
}
const logger = pino({ level: "warn" });
const outbox = pool(config.OUTBOX_DATABASE_URL, logger);
const totals = pool(config.TOTALS_DATABASE_URL, logger);
const kafka = kafkaLogs(config.KAFKA_BROKERS, config.KAFKA_TOPIC, "reconcile-cli", kafkaSasl(config));
const reconciler = new Reconciler({ config, outbox, totals, kafka, metrics: new ReconcilerMetrics(), logger });
try {
  const began = await reconciler.observeDelivery();
  const deadline = Date.now() + DELIVERY_WAIT_MS;
  while (reconciler.deliveredBefore < began && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 1000));
    await reconciler.observeDelivery();
  }
  const report = await reconciler.pass({ everyWindow: true, repair: false });
  print(report, reconciler.deliveredBefore);
  process.exitCode = report.missing > 0 ? 1 : 0;
} catch (error) {
  process.stderr.write(`reconcile failed: ${(error as Error).message}\n`);
  process.exitCode = 2;
} finally {
  await kafka.close().catch(() => undefined);
  await Promise.all([outbox.end(), totals.end()]);
}
