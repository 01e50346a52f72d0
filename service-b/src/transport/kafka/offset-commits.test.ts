import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { OffsetCommits, type PartitionOffset } from "./offset-commits.js";

let sent: PartitionOffset[][];
let failNext: boolean;
let failures: unknown[];
let commits: OffsetCommits;

beforeEach(() => {
  vi.useFakeTimers();
  sent = [];
  failNext = false;
  failures = [];
  commits = new OffsetCommits(
    async (offsets) => {
      if (failNext) {
        failNext = false;
        throw new Error("REBALANCE_IN_PROGRESS");
      }
      sent.push(offsets);
    },
    500,
    (error) => failures.push(error),
  );
});

afterEach(() => {
  commits.close();
  vi.useRealTimers();
});

describe("the group's offsets, committed at most once per interval", () => {
  it("many slices applied within an interval: one request, the furthest offset of each partition", async () => {
    commits.record(0, "10");
    await vi.advanceTimersByTimeAsync(0);
    expect(sent).toEqual([[{ partition: 0, offset: "10" }]]);
    commits.record(0, "20");
    commits.record(1, "5");
    commits.record(0, "30");
    commits.record(0, "25");
    await vi.advanceTimersByTimeAsync(499);
    expect(sent).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(sent[1]).toEqual([
      { partition: 0, offset: "30" },
      { partition: 1, offset: "5" },
    ]);
  });

  it("a failed request's offsets go with the next one, unless a newer offset came meanwhile", async () => {
    failNext = true;
    commits.record(0, "10");
    commits.record(1, "7");
    await vi.advanceTimersByTimeAsync(0);
    expect(failures).toHaveLength(1);
    commits.record(1, "9");
    await vi.advanceTimersByTimeAsync(500);
    expect(sent).toEqual([
      [
        { partition: 0, offset: "10" },
        { partition: 1, offset: "9" },
      ],
    ]);
  });

  it("partitions assigned elsewhere are not committed by this member", async () => {
    commits.record(0, "10");
    await vi.advanceTimersByTimeAsync(0);
    commits.record(0, "11");
    commits.record(3, "4");
    commits.keepOnly([3]);
    await vi.advanceTimersByTimeAsync(500);
    expect(sent[1]).toEqual([{ partition: 3, offset: "4" }]);
  });

  it("a flush sends at once and resolves once answered; after close nothing is sent", async () => {
    commits.record(0, "10");
    await vi.advanceTimersByTimeAsync(0);
    commits.record(0, "12");
    await commits.flush();
    expect(sent).toHaveLength(2);
    commits.close();
    commits.record(0, "13");
    await vi.advanceTimersByTimeAsync(1000);
    await commits.flush();
    expect(sent).toHaveLength(2);
  });
});
