import { randomBytes } from "node:crypto";
import { TRACEPARENT } from "@sum/contract";

/**
 * The caller's W3C traceparent if it is well formed, else a new one (not sampled), so every event has
 * a trace id.
 */
export function traceparentFor(incoming: string | undefined): string {
  if (incoming !== undefined && TRACEPARENT.test(incoming)) return incoming;
  return `00-${randomBytes(16).toString("hex")}-${randomBytes(8).toString("hex")}-00`;
}
