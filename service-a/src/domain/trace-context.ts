import { randomBytes } from "node:crypto";

const TRACEPARENT = /^00-(?!0{32})[0-9a-f]{32}-(?!0{16})[0-9a-f]{16}-[0-9a-f]{2}$/;

/** The caller's W3C traceparent if it is well formed, else a new sampled one, so every event has a trace id. */
export function traceparentFor(incoming: string | undefined): string {
  if (incoming !== undefined && TRACEPARENT.test(incoming)) return incoming;
  return `00-${randomBytes(16).toString("hex")}-${randomBytes(8).toString("hex")}-01`;
}
