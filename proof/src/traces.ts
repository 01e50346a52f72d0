import { randomBytes } from "node:crypto";

/** A new W3C traceparent whose trace is sampled: both services record every span of it, whatever their ratio. */
export function sampledTraceparent(): { traceparent: string; traceId: string } {
  const traceId = randomBytes(16).toString("hex");
  return { traceparent: `00-${traceId}-${randomBytes(8).toString("hex")}-01`, traceId };
}

/** One span of a trace, as Jaeger's query API gives it. */
export interface TraceSpan {
  service: string;
  name: string;
  kind: string | undefined;
  spanId: string;
  /** The span it is a child of (CHILD_OF), in this trace or the caller's. */
  parentSpanId: string | undefined;
}

interface JaegerTrace {
  spans: Array<{
    spanID: string;
    operationName: string;
    processID: string;
    references?: Array<{ refType: string; spanID: string }>;
    tags?: Array<{ key: string; value: unknown }>;
  }>;
  processes: Record<string, { serviceName: string }>;
}

/** The spans Jaeger holds of a trace (GET /api/traces/<trace id>); none while it has none. */
export async function readTrace(jaeger: string, traceId: string): Promise<TraceSpan[]> {
  const response = await fetch(`${jaeger}/api/traces/${traceId}`);
  if (response.status === 404) return [];
  if (!response.ok) throw new Error(`Jaeger answered ${response.status} for trace ${traceId}`);
  const { data } = (await response.json()) as { data: JaegerTrace[] };
  return data.flatMap((trace) =>
    trace.spans.map((span) => ({
      service: trace.processes[span.processID]?.serviceName ?? "",
      name: span.operationName,
      kind: span.tags?.find((tag) => tag.key === "span.kind")?.value as string | undefined,
      spanId: span.spanID,
      parentSpanId: span.references?.find((reference) => reference.refType === "CHILD_OF")?.spanID,
    })),
  );
}

/** Where Jaeger's UI shows a trace. */
export function traceLink(jaeger: string, traceId: string): string {
  return `${jaeger}/trace/${traceId}`;
}
