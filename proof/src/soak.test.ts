import { describe, expect, it } from "vitest";
import { p99Trend } from "./soak.js";

describe("the soak's p99 trend", () => {
  it("the median of the last three minutes over the first three, the warm-up minute left out", () => {
    expect(p99Trend([500, 10, 12, 11, 20, 22, 21])).toBeCloseTo(21 / 11);
  });

  it("fewer than six minutes after the first: as many at each end as do not overlap", () => {
    expect(p99Trend([500, 10, 30])).toBe(3);
    expect(p99Trend([500, 10, 12, 40])).toBe(4);
  });

  it("under two minutes after the first: too short to tell, not a number made of nothing", () => {
    expect(p99Trend([])).toBeUndefined();
    expect(p99Trend([19])).toBeUndefined();
    expect(p99Trend([19, 20])).toBeUndefined();
  });
});
