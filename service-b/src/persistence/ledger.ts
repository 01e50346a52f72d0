import { type Span, SpanKind, SpanStatusCode, type Tracer } from "@opentelemetry/api";
import { isSampled } from "@sum/contract";
import { contextOf, startBatchSpan } from "@sum/service-kit";
import type pg from "pg";
import type { Ledger } from "../domain/apply-batch.js";
import { recordDigest } from "./record-digest.js";
import { applyEvents } from "./totals-store.js";

/**
 * The totals on the leader as the domain's ledger: each slice's events and its end (offset and the
 * digest of the record there) in one statement (applyEvents), traced.
 */
export function totalsLedger(deps: { leader: pg.Pool; topic: string; tracer: Tracer }): Ledger {
  const { leader, topic, tracer } = deps;
  return {
    async apply(events, last) {
      // A span per sampled event, child of the request span Service A stored as its traceparent; an
      // unsampled event costs the isSampled() check only.
      const eventSpans = new Map<string, Span>();
      for (const event of events) {
        if (!isSampled(event.traceparent)) continue;
        eventSpans.set(
          event.eventId,
          tracer.startSpan(
            "apply SumCalculated",
            {
              kind: SpanKind.CONSUMER,
              attributes: {
                "messaging.system": "kafka",
                "messaging.operation.type": "process",
                "messaging.destination.name": topic,
                "messaging.destination.partition.id": String(last.partition),
                "messaging.message.id": event.eventId,
              },
            },
            contextOf(event.traceparent),
          ),
        );
      }
      const write = startBatchSpan(
        tracer,
        "totals write",
        events.map((event) => event.traceparent),
        {
          "db.operation.batch.size": events.length,
          "messaging.kafka.offset": last.offset,
        },
      );
      try {
        const outcome = await applyEvents(leader, events, {
          topic,
          partition: last.partition,
          offset: last.offset,
          digest: recordDigest(last),
        });
        if (eventSpans.size > 0) {
          const applied = new Set(outcome.applied.map((event) => event.eventId));
          for (const [eventId, span] of eventSpans) span.setAttribute("sum.duplicate", !applied.has(eventId));
        }
        return outcome;
      } catch (error) {
        for (const span of [...eventSpans.values(), write]) {
          span?.setStatus({ code: SpanStatusCode.ERROR, message: (error as Error).message });
        }
        throw error;
      } finally {
        write?.end();
        for (const span of eventSpans.values()) span.end();
      }
    },
  };
}
