import { isSampled } from "@sum/contract";
import type pg from "pg";
import type { Logger } from "pino";
import type { Config } from "../config.js";
import type { AppendOutcome, EventLog, OutboxEvent } from "../domain/calculate-sum.js";
import type { ServiceMetrics } from "../metrics.js";
import { type EventStreamState, readEventStreamState, refusal } from "./event-stream.js";
import type { GroupCommitter } from "./group-commit.js";

export interface OutboxEventLogDeps {
  pool: pg.Pool;
  committer: GroupCommitter<OutboxEvent, AppendOutcome>;
  settings: Pick<Config, "OUTBOX_SLOT_NAME" | "OUTBOX_SLOT_REFUSE_AT" | "OUTBOX_SLOT_CHECK_MS">;
  metrics: ServiceMetrics;
  logger: Logger;
}

/**
 * Service A's event log: each event is committed to the outbox in a group commit, or refused before
 * anything is written while the event stream (Debezium's slot) could not deliver it.
 */
export class OutboxEventLog implements EventLog {
  private readonly watch: NodeJS.Timeout;

  private constructor(
    private readonly deps: OutboxEventLogDeps,
    private stream: EventStreamState,
  ) {
    // The slot's state, read once a second rather than per request: a sum that Debezium could not
    // deliver is refused before anything is written.
    this.watch = setInterval(() => this.watchStream(), deps.settings.OUTBOX_SLOT_CHECK_MS);
    this.watch.unref();
    deps.metrics.recordEventStream(stream);
  }

  /** Reads the event stream's state, then watches it until stopWatching(). */
  static async start(deps: OutboxEventLogDeps): Promise<OutboxEventLog> {
    return new OutboxEventLog(deps, await OutboxEventLog.readStream(deps));
  }

  private static readStream(deps: OutboxEventLogDeps): Promise<EventStreamState> {
    return readEventStreamState(deps.pool, deps.settings.OUTBOX_SLOT_NAME, deps.settings.OUTBOX_SLOT_REFUSE_AT);
  }

  private watchStream(): void {
    const { settings, metrics, logger } = this.deps;
    OutboxEventLog.readStream(this.deps).then(
      (state) => {
        if (state.kind !== this.stream.kind) {
          logger[state.kind === "ok" ? "info" : "error"](
            { slot: settings.OUTBOX_SLOT_NAME, state },
            "event stream state",
          );
        }
        this.stream = state;
        metrics.recordEventStream(state);
      },
      // The database itself is down: writes fail on their own, with the right code.
      (error: unknown) => logger.debug({ err: error }, "event stream state unavailable"),
    );
  }

  stopWatching(): void {
    clearInterval(this.watch);
  }

  async append(event: OutboxEvent): Promise<AppendOutcome> {
    const { committer, settings, metrics, logger } = this.deps;
    const refused = refusal(this.stream, settings.OUTBOX_SLOT_NAME);
    if (refused) {
      metrics.eventStreamRefusals.inc({ state: this.stream.kind });
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
  }
}
