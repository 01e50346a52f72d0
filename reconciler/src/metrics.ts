import { Counter, collectDefaultMetrics, Gauge, Registry } from "prom-client";

/** Every metric the reconciler exports, on a registry of its own. */
export class ReconcilerMetrics {
  readonly registry = new Registry();

  readonly missing = new Gauge({
    name: "reconciler_missing_events",
    help: "Acknowledged events that had their chance to be applied and were not, in the last pass.",
    registers: [this.registry],
  });

  readonly missingAfterRepair = new Gauge({
    name: "reconciler_missing_after_repair_events",
    help: "Missing events that were re-sent, whose re-send had its chance, and that are still not applied.",
    registers: [this.registry],
  });

  readonly late = new Gauge({
    name: "reconciler_late_events",
    help: "Acknowledged events not applied yet that the pipeline has not had its chance to deliver.",
    registers: [this.registry],
  });

  readonly resent = new Counter({
    name: "reconciler_resent_events_total",
    help: "Missing events sent again through the outbox.",
    registers: [this.registry],
  });

  readonly windowsChecked = new Counter({
    name: "reconciler_windows_checked_total",
    help: "Minutes of acknowledged events compared with what Service B applied.",
    registers: [this.registry],
  });

  readonly oldestUncheckedWindowAge = new Gauge({
    name: "reconciler_oldest_unchecked_window_age_seconds",
    help: "How long ago the oldest minute past the grace period that could not be judged yet ended; 0 if none.",
    registers: [this.registry],
  });

  readonly forgotten = new Counter({
    name: "reconciler_forgotten_events_total",
    help: "Acknowledged events deleted from the outbox once past the reconcile window.",
    registers: [this.registry],
  });

  readonly passFailures = new Counter({
    name: "reconciler_pass_failures_total",
    help: "Passes that failed (a database or Kafka unreachable); the next pass tries again.",
    registers: [this.registry],
  });

  readonly lastPass = new Gauge({
    name: "reconciler_last_pass_timestamp_seconds",
    help: "When the last whole pass ended.",
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry });
  }
}
