/** A W3C traceparent of version 00 whose trace and parent ids are not all zeros (invalid in the spec). */
export const TRACEPARENT = /^00-(?!0{32})[0-9a-f]{32}-(?!0{16})[0-9a-f]{16}-[0-9a-f]{2}$/;

/**
 * Whether the trace asks to be recorded (flags bit 0). Sampled events are logged at info by every
 * service, so a caller can follow one request without flooding the logs with every event.
 */
export function isSampled(traceparent: string | undefined): boolean {
  return (
    traceparent !== undefined && TRACEPARENT.test(traceparent) && (Number.parseInt(traceparent.slice(-2), 16) & 1) === 1
  );
}
