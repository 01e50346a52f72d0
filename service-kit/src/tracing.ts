import {
  type Context,
  type Link,
  ROOT_CONTEXT,
  type Span,
  type SpanContext,
  SpanKind,
  TraceFlags,
  type Tracer,
  trace,
} from "@opentelemetry/api";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-proto";
import { resourceFromAttributes } from "@opentelemetry/resources";
import {
  BatchSpanProcessor,
  ParentBasedSampler,
  type Sampler,
  SamplingDecision,
  type SamplingResult,
  TraceIdRatioBasedSampler,
  TracerProvider,
} from "@opentelemetry/sdk-trace";
import { TRACEPARENT } from "@sum/contract";
import { z } from "zod";

/** What startTracing() reads from a service's configuration. */
export interface TracingConfig {
  OTEL_EXPORTER_OTLP_ENDPOINT: string;
  TRACE_SAMPLE_RATIO: number;
}

/** Where spans go, decided by the stack that runs the service (Jaeger's OTLP/HTTP endpoint); empty: tracing off. */
export const otlpEndpointSetting = z
  .union([z.literal(""), z.url({ protocol: /^https?$/, error: "must be an http(s):// URL or empty" })])
  .default("");

/** The sampling setting, for a service's settings schema. */
export function tracingSettings() {
  return {
    TRACE_SAMPLE_RATIO: z.coerce
      .number()
      .min(0)
      .max(1)
      .default(0.01)
      .describe(
        "Share of new traces recorded (0 to 1), when OTEL_EXPORTER_OTLP_ENDPOINT is set; a caller's sampled traceparent is always followed.",
      ),
  };
}

/**
 * A span with no parent is sampled when one of its links is (a batch holding a sampled request),
 * else by ratio: so a batch's span is in every trace that one of its events is in.
 */
class LinkedOrRatioSampler implements Sampler {
  private readonly ratio: TraceIdRatioBasedSampler;
  constructor(ratio: number) {
    this.ratio = new TraceIdRatioBasedSampler(ratio);
  }
  shouldSample(
    context: Context,
    traceId: string,
    _name: string,
    _kind: SpanKind,
    _attributes: Record<string, unknown>,
    links: Link[],
  ): SamplingResult {
    if (links.some((link) => (link.context.traceFlags & TraceFlags.SAMPLED) !== 0)) {
      return { decision: SamplingDecision.RECORD_AND_SAMPLED };
    }
    return this.ratio.shouldSample(context, traceId);
  }
  toString(): string {
    return `LinkedOrRatioSampler{${this.ratio.toString()}}`;
  }
}

export interface Tracing {
  /** Records nothing when tracing is off. */
  tracer: Tracer;
  /** Sends the spans still buffered. */
  shutdown(): Promise<void>;
}

export function startTracing(serviceName: string, config: TracingConfig): Tracing {
  if (config.OTEL_EXPORTER_OTLP_ENDPOINT === "") {
    return { tracer: trace.getTracer(serviceName), shutdown: async () => undefined };
  }
  const exporter = new OTLPTraceExporter({ url: `${config.OTEL_EXPORTER_OTLP_ENDPOINT.replace(/\/$/, "")}/v1/traces` });
  const provider = new TracerProvider({
    resource: resourceFromAttributes({ "service.name": serviceName }),
    sampler: new ParentBasedSampler({ root: new LinkedOrRatioSampler(config.TRACE_SAMPLE_RATIO) }),
    // Spans go out every 5 s (the SDK's default): an export costs Service A milliseconds of CPU, and
    // at 1% one a second made 1,000 sums cost 12% more CPU than with tracing off (bench:tracing).
    spanProcessors: [new BatchSpanProcessor({ exporter, scheduledDelayMillis: 5000 })],
  });
  return { tracer: provider.getTracer(serviceName), shutdown: () => provider.shutdown() };
}

/** The span context a W3C traceparent carries, or undefined for a missing or malformed one. */
export function spanContextOf(traceparent: string | undefined): SpanContext | undefined {
  if (traceparent === undefined || !TRACEPARENT.test(traceparent)) return undefined;
  return {
    traceId: traceparent.slice(3, 35),
    spanId: traceparent.slice(36, 52),
    traceFlags: Number.parseInt(traceparent.slice(53, 55), 16),
    isRemote: true,
  };
}

/** A context whose parent is the span a traceparent names (the root context without one). */
export function contextOf(traceparent: string | undefined): Context {
  const parent = spanContextOf(traceparent);
  return parent === undefined ? ROOT_CONTEXT : trace.setSpanContext(ROOT_CONTEXT, parent);
}

/** The W3C traceparent of a span, or undefined for the invalid span a disabled tracer makes. */
export function traceparentOf(span: SpanContext): string | undefined {
  if (!trace.isSpanContextValid(span)) return undefined;
  return `00-${span.traceId}-${span.spanId}-${(span.traceFlags & 0xff).toString(16).padStart(2, "0")}`;
}

/** Links to the sampled spans among these traceparents: what a batch's span points back to. */
export function sampledLinks(traceparents: Iterable<string | undefined>): Link[] {
  const links: Link[] = [];
  for (const traceparent of traceparents) {
    const context = spanContextOf(traceparent);
    if (context !== undefined && (context.traceFlags & TraceFlags.SAMPLED) !== 0) links.push({ context });
  }
  return links;
}

/**
 * The span of a batch (a group commit, a database write), linked to the span of each sampled event
 * in it; none when no event in the batch is sampled, so an unsampled batch costs one regex per event.
 */
export function startBatchSpan(
  tracer: Tracer,
  name: string,
  traceparents: Iterable<string | undefined>,
  attributes: Record<string, number | string> = {},
): Span | undefined {
  const links = sampledLinks(traceparents);
  if (links.length === 0) return undefined;
  return tracer.startSpan(name, { kind: SpanKind.INTERNAL, links, attributes }, ROOT_CONTEXT);
}
