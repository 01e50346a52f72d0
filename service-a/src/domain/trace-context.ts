import { TRACEPARENT } from "@sum/contract";
import { randomHex } from "./identifiers.js";

/**
 * The caller's W3C traceparent if it is well formed, else a new one (not sampled), so every event has
 * a trace id.
 */
export function traceparentFor(incoming: string | undefined): string {
  if (incoming !== undefined && TRACEPARENT.test(incoming)) return incoming;
  return `00-${randomHex(16)}-${randomHex(8)}-00`;
}
