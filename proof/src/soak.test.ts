import { describe, expect, it } from "vitest";
import { p99Trend } from "./soak.js";

describe("the soak's p99 trend", () => {
  it("the median of the last three minutes over the first three, the warm-up minute left out", () => {
    expect(p99Trend([500, 10, 12, 11, 20, 22, 21])?.ratio).toBeCloseTo(21 / 11);
  });

  it("fewer than six minutes after the first: as many at each end as do not overlap", () => {
    expect(p99Trend([500, 10, 30])?.ratio).toBe(3);
    expect(p99Trend([500, 10, 12, 40])?.ratio).toBe(4);
  });

  it("growing: more than 10% up and above every one of the first minutes", () => {
    expect(p99Trend([500, 10, 12, 11, 20, 22, 21])?.growing).toBe(true);
    expect(p99Trend([500, 10, 11, 10, 11, 12, 12])?.growing).toBe(true);
  });

  it("minutes wandering within the range of the first ones are flat, though their median is 12% up", () => {
    // The minutes of a 10-minute soak at 1,000/s (make bench on 2 cores, 2026-12-04).
    const trend = p99Trend([17.1, 14.4, 12.8, 12.9, 15.7, 12.6, 11.8, 17.0, 13.6, 14.4]);
    expect(trend?.ratio).toBeCloseTo(14.4 / 12.9);
    expect(trend?.growing).toBe(false);
  });

  it("under two minutes after the first: too short to tell, not a number made of nothing", () => {
    expect(p99Trend([])).toBeUndefined();
    expect(p99Trend([19])).toBeUndefined();
    expect(p99Trend([19, 20])).toBeUndefined();
  });
});
