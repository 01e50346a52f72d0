import { describe, expect, it } from "vitest";
import { uuidFloor, WINDOW_MS, windowsToCheck } from "./windows.js";

describe("uuidFloor", () => {
  it("is the smallest UUIDv7 of the millisecond, ordered as the ids made in it", () => {
    const ms = Date.parse("2026-12-06T02:00:00.000Z");
    expect(uuidFloor(ms)).toBe(
      `${ms.toString(16).padStart(12, "0").slice(0, 8)}-${ms.toString(16).padStart(12, "0").slice(8)}-0000-0000-000000000000`,
    );
    // An id of that millisecond (the contract's example shape) sorts at or after it, before the next.
    const id = `${uuidFloor(ms).slice(0, 13)}-7abc-8def-0123456789ab`;
    expect(uuidFloor(ms) <= id).toBe(true);
    expect(id < uuidFloor(ms + 1)).toBe(true);
  });
});

describe("windowsToCheck", () => {
  const now = Date.parse("2026-12-06T02:00:30.000Z");

  it("takes every whole minute inside the window whose end is past the grace period, oldest first", () => {
    const windows = windowsToCheck(now, 10 * 60_000, 60_000);
    expect(windows[0]?.start).toBe(Date.parse("2026-12-06T01:51:00.000Z"));
    expect(windows.at(-1)?.end).toBeLessThanOrEqual(now - 60_000);
    expect(windows.at(-1)?.start).toBe(Date.parse("2026-12-06T01:58:00.000Z"));
    for (const [i, window] of windows.entries()) {
      expect(window.end - window.start).toBe(WINDOW_MS);
      if (i > 0) expect(window.start).toBe(windows[i - 1]?.end);
      expect(window.fromId).toBe(uuidFloor(window.start));
      expect(window.toId).toBe(uuidFloor(window.end));
    }
  });

  it("takes nothing while even the oldest minute is inside the grace period", () => {
    expect(windowsToCheck(now, 60_000, 60_000)).toEqual([]);
  });
});
