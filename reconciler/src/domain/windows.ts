/** The reconciler compares the two sides a minute of creation time at a time. */
export const WINDOW_MS = 60_000;

/**
 * The smallest UUIDv7 of a millisecond. An event id is a UUIDv7 whose first 48 bits are the Unix
 * milliseconds of its creation, and PostgreSQL orders uuids byte by byte: the events created in
 * [from, to) are the ids in [uuidFloor(from), uuidFloor(to)), a range of the primary key on both sides.
 */
export function uuidFloor(ms: number): string {
  const hex = Math.floor(ms).toString(16).padStart(12, "0");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-0000-0000-000000000000`;
}

/** A minute of creation time, [start, start + WINDOW_MS), as a range of ids. */
export interface Window {
  start: number;
  end: number;
  fromId: string;
  toId: string;
}

export function windowAt(start: number): Window {
  return { start, end: start + WINDOW_MS, fromId: uuidFloor(start), toId: uuidFloor(start + WINDOW_MS) };
}

/**
 * The windows to check at `now`: every whole minute inside the reconcile window whose end is at
 * least the grace period old, oldest first.
 */
export function windowsToCheck(now: number, reconcileWindowMs: number, graceMs: number): Window[] {
  const first = Math.ceil((now - reconcileWindowMs) / WINDOW_MS) * WINDOW_MS;
  const windows: Window[] = [];
  for (let start = first; start + WINDOW_MS <= now - graceMs; start += WINDOW_MS) windows.push(windowAt(start));
  return windows;
}
