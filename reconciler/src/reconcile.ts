import type pg from "pg";
import type { Logger } from "pino";
import type { Config } from "./config.js";
import { DeliveryHorizon } from "./domain/delivery-horizon.js";
import { deliveredByNow, judgeWindow } from "./domain/judge-window.js";
import { type Window, windowsToCheck } from "./domain/windows.js";
import type { ReconcilerMetrics } from "./metrics.js";
import { appliedAmong, appliedOffsets, appliedTally } from "./persistence/applied-events.js";
import {
  acknowledgedEvents,
  acknowledgedTally,
  forgetEventsBefore,
  readOutboxPosition,
  resendEvents,
  resentCount,
} from "./persistence/ledger.js";
import type { KafkaLogs } from "./transport/kafka-logs.js";

/** One minute's comparison, as `make reconcile` prints it. */
export interface WindowReport {
  start: Date;
  acknowledged: number;
  applied: number;
  missing: number;
  late: number;
  resent: number;
}

export interface PassReport {
  windows: WindowReport[];
  missing: number;
  missingAfterRepair: number;
  late: number;
  resent: number;
}

/** Re-sends go in statements of this many ids. */
const RESEND_BATCH = 1000;
/** A pass forgets at most this many batches, so a long backlog of old events is forgotten over passes. */
const FORGET_BATCHES_PER_PASS = 10;

export type ReconcilerConfig = Pick<
  Config,
  | "KAFKA_TOPIC"
  | "DEBEZIUM_SLOT"
  | "WINDOW_HOURS"
  | "GRACE_SECONDS"
  | "REPAIR"
  | "APPLY_WAIT_SECONDS"
  | "MAX_RESEND_ATTEMPTS"
  | "RECHECK_MINUTES"
  | "FORGET_BATCH"
>;

/**
 * Compares what the outbox acknowledged with what Service B applied, a minute of creation time at a
 * time, and sends the missing events again through the outbox. A minute found whole is compared
 * again every RECHECK_MINUTES; the others every pass.
 */
export class Reconciler {
  private readonly horizon: DeliveryHorizon;
  /** Minutes found whole: when (ms), so they are compared again only every RECHECK_MINUTES. */
  private readonly wholeSince = new Map<number, number>();
  /** Whether a look at the pipeline ever succeeded (readiness). */
  observed = false;

  constructor(
    private readonly deps: {
      config: ReconcilerConfig;
      outbox: pg.Pool;
      totals: pg.Pool;
      kafka: KafkaLogs;
      metrics: ReconcilerMetrics;
      logger: Logger;
    },
  ) {
    this.horizon = new DeliveryHorizon(deps.config.APPLY_WAIT_SECONDS * 1000);
  }

  /**
   * Looks at how far the pipeline has delivered: the outbox's WAL and Debezium's slot, then Kafka's
   * logs, then Service B's applied offsets, in that order. Returns the outbox database's clock.
   */
  async observeDelivery(): Promise<number> {
    const { config, outbox, totals, kafka } = this.deps;
    const position = await readOutboxPosition(outbox, config.DEBEZIUM_SLOT);
    const logs = await kafka.read();
    const applied = await appliedOffsets(totals, config.KAFKA_TOPIC);
    this.horizon.observe({ ...position, logs, applied });
    this.observed = true;
    return position.at;
  }

  /** The time before which every committed event has had its chance (ms), or -Infinity. */
  get deliveredBefore(): number {
    return this.horizon.horizon;
  }

  /**
   * One pass: every minute due (all of them with `everyWindow`), compared and judged; missing events
   * re-sent when `repair`; events past the window forgotten.
   */
  async pass(options: { everyWindow: boolean; repair: boolean }): Promise<PassReport> {
    const { config, metrics } = this.deps;
    const now = await this.observeDelivery();
    const report: PassReport = { windows: [], missing: 0, missingAfterRepair: 0, late: 0, resent: 0 };
    let oldestUnjudged: Window | undefined;
    const windowMs = config.WINDOW_HOURS * 3_600_000;
    for (const window of windowsToCheck(now, windowMs, config.GRACE_SECONDS * 1000)) {
      const whole = this.wholeSince.get(window.start);
      if (!options.everyWindow && whole !== undefined && now - whole < config.RECHECK_MINUTES * 60_000) continue;
      const result = await this.check(window, options.repair);
      metrics.windowsChecked.inc();
      if (result.missing === 0 && result.late === 0) this.wholeSince.set(window.start, now);
      else this.wholeSince.delete(window.start);
      if (result.late > 0 && oldestUnjudged === undefined) oldestUnjudged = window;
      report.windows.push(result.report);
      report.missing += result.missing;
      report.missingAfterRepair += result.missingAfterRepair;
      report.late += result.late;
      report.resent += result.resent;
    }
    for (const start of this.wholeSince.keys()) if (start < now - windowMs) this.wholeSince.delete(start);
    await this.forget(new Date(now - windowMs));

    metrics.missing.set(report.missing);
    metrics.missingAfterRepair.set(report.missingAfterRepair);
    metrics.late.set(report.late);
    metrics.oldestUncheckedWindowAge.set(oldestUnjudged ? (now - oldestUnjudged.end) / 1000 : 0);
    metrics.lastPass.set(Date.now() / 1000);
    return report;
  }

  private async check(window: Window, repair: boolean) {
    const { config, outbox, totals, metrics, logger } = this.deps;
    const [acknowledged, applied, everResent] = await Promise.all([
      acknowledgedTally(outbox, window),
      appliedTally(totals, window),
      resentCount(outbox, window),
    ]);
    const report: WindowReport = {
      start: new Date(window.start),
      acknowledged: acknowledged.count,
      applied: applied.count,
      missing: 0,
      late: 0,
      resent: everResent,
    };
    const result = { report, missing: 0, missingAfterRepair: 0, late: 0, resent: 0 };
    if (acknowledged.count === applied.count && acknowledged.sum === applied.sum) return result;

    if (!deliveredByNow(window, this.horizon.horizon)) {
      // Not yet judged: what is not applied yet is late, counted from the tallies alone (a window
      // behind a long outage is not read id by id every pass); at least one, as the tallies differ.
      const late = Math.max(1, acknowledged.count - applied.count);
      report.late = late;
      return { ...result, late };
    }
    // The tallies differ: which ids. Ids applied that the outbox never had (written to the topic by
    // something else) are not the reconciler's to judge.
    const events = await acknowledgedEvents(outbox, window);
    const appliedIds = await appliedAmong(
      totals,
      events.map((event) => event.id),
    );
    const unapplied = events.filter((event) => !appliedIds.has(event.id));
    const verdict = judgeWindow(window, unapplied, this.horizon.horizon, config.MAX_RESEND_ATTEMPTS);
    let resent = 0;
    if (repair && verdict.toResend.length > 0) {
      for (let i = 0; i < verdict.toResend.length; i += RESEND_BATCH) {
        resent += await resendEvents(outbox, verdict.toResend.slice(i, i + RESEND_BATCH));
      }
      metrics.resent.inc(resent);
      logger.warn(
        { window: report.start.toISOString(), missing: verdict.missing, resent, sample: verdict.toResend.slice(0, 5) },
        "acknowledged events missing from the total: sent again through the outbox",
      );
    } else if (verdict.missing > 0) {
      logger.error(
        { window: report.start.toISOString(), missing: verdict.missing, repair },
        "acknowledged events missing from the total",
      );
    }
    report.missing = verdict.missing;
    report.late = verdict.late;
    report.resent = resent > 0 ? await resentCount(outbox, window) : everResent;
    return { report, ...verdict, resent };
  }

  private async forget(before: Date): Promise<void> {
    const { config, outbox, metrics } = this.deps;
    for (let batch = 0; batch < FORGET_BATCHES_PER_PASS; batch++) {
      const forgotten = await forgetEventsBefore(outbox, before, config.FORGET_BATCH);
      metrics.forgotten.inc(forgotten);
      if (forgotten < config.FORGET_BATCH) return;
    }
  }
}
