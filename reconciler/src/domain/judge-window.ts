import type { Window } from "./windows.js";

/**
 * An event is committed within seconds of its id's time (Service A's request timeout, 10 s by default,
 * with nginx's 15 s above it): a window is judged only by a horizon this far past its end, and a
 * re-send only by a horizon this far past the re-send. Misjudged, an event is re-sent needlessly and
 * skipped by id; never applied twice.
 */
export const COMMIT_MARGIN_MS = 15_000;

/** Whether the pipeline has had its chance to deliver every event of the window. */
export function deliveredByNow(window: Window, horizon: number): boolean {
  return window.end + COMMIT_MARGIN_MS <= horizon;
}

/** An acknowledged event of the window that Service B has not applied, and its re-sends. */
export interface UnappliedEvent {
  id: string;
  attempts: number;
  /** When it was last re-sent (ms, the outbox database's clock), or null if never. */
  resentAt: number | null;
}

export interface WindowVerdict {
  /** Had their chance and not applied (awaiting a re-send's chance or not). */
  missing: number;
  /** Not yet had their chance: neither missing nor re-sent. */
  late: number;
  /** Re-sent, the re-send had its chance, and still not applied. */
  missingAfterRepair: number;
  /** What to send again: missing and never re-sent, or missing after repair with attempts left. */
  toResend: string[];
}

/**
 * What the unapplied events of a window are, given the delivery horizon (delivery-horizon.ts): late
 * while the pipeline has not had its chance to deliver them, missing after. A missing event is sent
 * again once, and again only after that re-send had its own chance, `maxAttempts` times in all.
 */
export function judgeWindow(
  window: Window,
  unapplied: UnappliedEvent[],
  horizon: number,
  maxAttempts: number,
): WindowVerdict {
  if (!deliveredByNow(window, horizon)) {
    return { missing: 0, late: unapplied.length, missingAfterRepair: 0, toResend: [] };
  }
  const toResend: string[] = [];
  let missingAfterRepair = 0;
  for (const event of unapplied) {
    if (event.resentAt === null) {
      toResend.push(event.id);
    } else if (event.resentAt + COMMIT_MARGIN_MS <= horizon) {
      missingAfterRepair += 1;
      if (event.attempts < maxAttempts) toResend.push(event.id);
    }
  }
  return { missing: unapplied.length, late: 0, missingAfterRepair, toResend };
}
