import { describe, expect, it } from "vitest";
import { COMMIT_MARGIN_MS, judgeWindow } from "./judge-window.js";
import { windowAt } from "./windows.js";

const window = windowAt(Date.parse("2026-12-06T01:00:00.000Z"));
const judged = window.end + COMMIT_MARGIN_MS;

describe("judgeWindow", () => {
  it("calls unapplied events late, and re-sends none, until the pipeline had its chance to deliver them", () => {
    const verdict = judgeWindow(window, [{ id: "a", attempts: 0, resentAt: null }], judged - 1, 3);
    expect(verdict).toEqual({ missing: 0, late: 1, missingAfterRepair: 0, toResend: [] });
  });

  it("re-sends a missing event never re-sent", () => {
    const verdict = judgeWindow(window, [{ id: "a", attempts: 0, resentAt: null }], judged, 3);
    expect(verdict).toEqual({ missing: 1, late: 0, missingAfterRepair: 0, toResend: ["a"] });
  });

  it("does not re-send again before the last re-send had its chance", () => {
    const resentAt = judged + 10_000;
    const verdict = judgeWindow(window, [{ id: "a", attempts: 1, resentAt }], resentAt + COMMIT_MARGIN_MS - 1, 3);
    expect(verdict).toEqual({ missing: 1, late: 0, missingAfterRepair: 0, toResend: [] });
  });

  it("counts an event still missing after its re-send had its chance, and re-sends it while attempts are left", () => {
    const resentAt = judged + 10_000;
    const horizon = resentAt + COMMIT_MARGIN_MS;
    expect(judgeWindow(window, [{ id: "a", attempts: 2, resentAt }], horizon, 3)).toEqual({
      missing: 1,
      late: 0,
      missingAfterRepair: 1,
      toResend: ["a"],
    });
    expect(judgeWindow(window, [{ id: "a", attempts: 3, resentAt }], horizon, 3)).toEqual({
      missing: 1,
      late: 0,
      missingAfterRepair: 1,
      toResend: [],
    });
  });
});
