import { randomBytes } from "node:crypto";

const TRACEPARENT = /^00-(?!0{32})[0-9a-f]{32}-(?!0{16})[0-9a-f]{16}-[0-9a-f]{2}$/;

/**
 * The caller's W3C traceparent if it is well formed, else a new one (not sampled), so every event has
 * a trace id.
 */
export function traceparentFor(incoming: string | undefined): string {
  if (incoming !== undefined && TRACEPARENT.test(incoming)) return incoming;
  return `00-${randomBytes(16).toString("hex")}-${randomBytes(8).toString("hex")}-00`;
}

/**
 * Whether the trace asks to be recorded (flags bit 0). Sampled events are logged at info by every
 * service, so a caller can follow one request without flooding the logs with every event.
 */
export function isSampled(traceparent: string | undefined): boolean {
  return (
    traceparent !== undefined && TRACEPARENT.test(traceparent) && (Number.parseInt(traceparent.slice(-2), 16) & 1) === 1
  );
}
