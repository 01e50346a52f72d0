import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";
import { EVENT_STREAM_STATES, type EventStreamState } from "./persistence/event-stream.js";
import type { GroupCommitObserver } from "./persistence/group-commit.js";

const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

/** Every metric Service A exports, on a registry of its own (tests run several instances in one process). */
export class ServiceMetrics {
  readonly registry = new Registry();

  readonly requests = new Counter({
    name: "service_a_requests_total",
    help: "Requests answered, by transport, route and status.",
    labelNames: ["transport", "route", "status"] as const,
    registers: [this.registry],
  });

  readonly requestDuration = new Histogram({
    name: "service_a_request_duration_seconds",
    help: "Time to answer a request, by transport, route and status.",
    labelNames: ["transport", "route", "status"] as const,
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });

  readonly eventsCommitted = new Counter({
    name: "service_a_events_committed_total",
    help: "Sum events committed to the outbox.",
    registers: [this.registry],
  });

  readonly idempotentReplays = new Counter({
    name: "service_a_idempotent_replays_total",
    help: "Requests answered from an earlier request with the same Idempotency-Key.",
    registers: [this.registry],
  });

  readonly databaseErrors = new Counter({
    name: "service_a_database_errors_total",
    help: "Requests refused because the database could not commit them.",
    registers: [this.registry],
  });

  readonly batchSize = new Histogram({
    name: "service_a_group_commit_batch_size",
    help: "Events per group-commit transaction.",
    buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024],
    registers: [this.registry],
  });

  readonly batchDuration = new Histogram({
    name: "service_a_group_commit_duration_seconds",
    help: "Time to write and commit one group-commit transaction.",
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });

  readonly queueWait = new Histogram({
    name: "service_a_group_commit_wait_seconds",
    help: "Time an event waited in the queue before its transaction started.",
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });

  readonly queueDepth = new Gauge({
    name: "service_a_group_commit_queue_depth",
    help: "Events waiting for a group-commit transaction.",
    registers: [this.registry],
  });

  readonly refusals = new Counter({
    name: "service_a_group_commit_refused_total",
    help: "Requests refused at once because the group-commit queue was full.",
    registers: [this.registry],
  });

  readonly eventStream = new Gauge({
    name: "service_a_event_stream_state",
    help: "1 for the state of Debezium's replication slot as this instance last read it (ok, behind, lost, missing); new sums are refused unless ok.",
    labelNames: ["state"] as const,
    registers: [this.registry],
  });

  readonly eventStreamWalFraction = new Gauge({
    name: "service_a_event_stream_wal_fraction",
    help: "WAL the replication slot holds, as a fraction of max_slot_wal_keep_size (NaN when unknown or uncapped).",
    registers: [this.registry],
  });

  readonly eventStreamRefusals = new Counter({
    name: "service_a_event_stream_refused_total",
    help: "Sums refused because the event stream was behind, lost or missing.",
    labelNames: ["state"] as const,
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry });
  }

  recordEventStream(state: EventStreamState): void {
    for (const kind of EVENT_STREAM_STATES) this.eventStream.set({ state: kind }, kind === state.kind ? 1 : 0);
    const fraction =
      (state.kind === "ok" || state.kind === "behind") && state.capBytes !== undefined
        ? state.retainedBytes / state.capBytes
        : Number.NaN;
    this.eventStreamWalFraction.set(fraction);
  }

  groupCommitObserver(): GroupCommitObserver {
    return {
      batchWritten: (size, seconds) => {
        this.batchSize.observe(size);
        this.batchDuration.observe(seconds);
      },
      waited: (seconds) => this.queueWait.observe(seconds),
      queueDepth: (depth) => this.queueDepth.set(depth),
      refused: () => this.refusals.inc(),
    };
  }
}
