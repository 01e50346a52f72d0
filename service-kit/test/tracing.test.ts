import { ROOT_CONTEXT } from "@opentelemetry/api";
import { afterAll, describe, expect, it } from "vitest";
import { contextOf, spanContextOf, startBatchSpan, startTracing, traceparentOf } from "../src/index.js";

const SAMPLED = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
const UNSAMPLED = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00";

describe("traceparent", () => {
  it("reads and writes a W3C traceparent unchanged", () => {
    const context = spanContextOf(SAMPLED);
    expect(context).toMatchObject({ traceId: "4bf92f3577b34da6a3ce929d0e0e4736", spanId: "00f067aa0ba902b7" });
    expect(traceparentOf(context ?? { traceId: "", spanId: "", traceFlags: 0 })).toBe(SAMPLED);
    expect(spanContextOf("00-nonsense")).toBeUndefined();
    expect(contextOf(undefined)).toBe(ROOT_CONTEXT);
  });
});

describe("tracing off (no endpoint)", () => {
  const { tracer } = startTracing("test", { OTEL_EXPORTER_OTLP_ENDPOINT: "", TRACE_SAMPLE_RATIO: 1 });

  it("records nothing and hands the caller's traceparent on", () => {
    const span = tracer.startSpan("request", {}, contextOf(SAMPLED));
    expect(span.isRecording()).toBe(false);
    expect(traceparentOf(span.spanContext())).toBe(SAMPLED);
    expect(traceparentOf(tracer.startSpan("request").spanContext())).toBeUndefined();
  });
});

// Spans to a port where nothing listens: what is sent does not matter here, what is recorded does.
describe("tracing on, ratio 0", () => {
  const tracing = startTracing("test", { OTEL_EXPORTER_OTLP_ENDPOINT: "http://127.0.0.1:9", TRACE_SAMPLE_RATIO: 0 });
  afterAll(() => tracing.shutdown());

  it("follows the caller's sampling decision, and samples no new trace", () => {
    const sampled = tracing.tracer.startSpan("request", {}, contextOf(SAMPLED));
    expect(sampled.isRecording()).toBe(true);
    const child = traceparentOf(sampled.spanContext()) ?? "";
    expect(child).toMatch(/^00-4bf92f3577b34da6a3ce929d0e0e4736-[0-9a-f]{16}-01$/);
    expect(child).not.toBe(SAMPLED);
    const unsampled = tracing.tracer.startSpan("request", {}, contextOf(UNSAMPLED));
    expect(unsampled.isRecording()).toBe(false);
    expect(traceparentOf(unsampled.spanContext())).toMatch(/^00-4bf92f3577b34da6a3ce929d0e0e4736-[0-9a-f]{16}-00$/);
    expect(tracing.tracer.startSpan("request").isRecording()).toBe(false);
  });

  it("records a batch's span when one of its events is sampled, linked to it, and starts none otherwise", () => {
    const batch = startBatchSpan(tracing.tracer, "batch", [UNSAMPLED, undefined, SAMPLED]);
    expect(batch?.isRecording()).toBe(true);
    expect(batch?.spanContext().traceId).not.toBe("4bf92f3577b34da6a3ce929d0e0e4736");
    expect(startBatchSpan(tracing.tracer, "batch", [UNSAMPLED, undefined, "garbage"])).toBeUndefined();
  });
});
