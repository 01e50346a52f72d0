import { TRACEPARENT } from "@sum/contract";
import { randomHex } from "./identifiers.js";

/**
 * The request's W3C traceparent (its span's, request-span.ts; the caller's with tracing off) if it
 * is well formed, else a new one (not sampled), so every event has a trace id.
 */
export function traceparentFor(incoming: string | undefined): string {
  if (incoming !== undefined && TRACEPARENT.test(incoming)) return incoming;
  return `00-${randomHex(16)}-${randomHex(8)}-00`;
}
