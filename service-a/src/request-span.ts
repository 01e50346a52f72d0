import { SpanKind, SpanStatusCode, type Tracer } from "@opentelemetry/api";
import { asAppError, contextOf, ERROR_STATUS, traceparentOf } from "@sum/service-kit";
import type { SumCommand } from "./domain/calculate-sum.js";

/**
 * `run`, with each request in a server span whose parent is the caller's traceparent; the command
 * carries the span's own traceparent on, so the stored event's parent is this request. With tracing
 * off the caller's traceparent goes on unchanged.
 */
export function inRequestSpans<T>(
  tracer: Tracer,
  name: string,
  run: (command: SumCommand) => Promise<T>,
): (command: SumCommand) => Promise<T> {
  return async (command) => {
    const span = tracer.startSpan(name, { kind: SpanKind.SERVER }, contextOf(command.traceparent));
    try {
      return await run({ ...command, traceparent: traceparentOf(span.spanContext()) ?? command.traceparent });
    } catch (error) {
      const code = asAppError(error).code;
      if (span.isRecording()) {
        span.setAttribute("error.type", code);
        // As OpenTelemetry's conventions say for a server: only its own failures are errors.
        if (ERROR_STATUS[code].http >= 500) span.setStatus({ code: SpanStatusCode.ERROR, message: code });
      }
      throw error;
    } finally {
      span.end();
    }
  };
}
