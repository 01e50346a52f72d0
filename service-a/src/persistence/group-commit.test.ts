import { waitFor } from "@sum/runtime";
import type { AppError } from "@sum/service-kit";
import { describe, expect, it } from "vitest";
import { GroupCommitter } from "./group-commit.js";

/** A writer whose batches finish only when the test says so. */
function gatedWriter() {
  const batches: number[][] = [];
  const gates: Array<() => void> = [];
  const write = async (items: number[]) => {
    batches.push(items);
    await new Promise<void>((resolve) => gates.push(resolve));
    return items.map((item) => (item < 0 ? new Error(`bad ${item}`) : item * 10));
  };
  const openAll = async () => {
    do {
      await new Promise((resolve) => setTimeout(resolve, 5));
      for (const open of gates.splice(0)) open();
      await new Promise((resolve) => setTimeout(resolve, 5));
    } while (gates.length > 0);
  };
  return { batches, write, openAll };
}

const options = { maxBatchSize: 100, windowMs: 1, maxQueued: 1000, maxConcurrentBatches: 1, timeoutMs: 60_000 };

describe("GroupCommitter", () => {
  it("coalesces items that arrive while a batch is being written into the next batch", async () => {
    const writer = gatedWriter();
    const committer = new GroupCommitter(writer.write, options);
    const first = committer.submit(1);
    await waitFor("the first batch to start", () => writer.batches.length === 1);
    const rest = [2, 3, 4, 5].map((n) => committer.submit(n));
    await writer.openAll();
    expect(await Promise.all([first, ...rest])).toEqual([10, 20, 30, 40, 50]);
    expect(writer.batches).toEqual([[1], [2, 3, 4, 5]]);
  });

  it("never puts more than maxBatchSize items in one batch", async () => {
    const writer = gatedWriter();
    const committer = new GroupCommitter(writer.write, { ...options, maxBatchSize: 3, maxConcurrentBatches: 2 });
    const results = Array.from({ length: 10 }, (_, i) => committer.submit(i));
    await writer.openAll();
    expect(await Promise.all(results)).toEqual(Array.from({ length: 10 }, (_, i) => i * 10));
    expect(Math.max(...writer.batches.map((batch) => batch.length))).toBe(3);
    expect(writer.batches.flat()).toEqual(Array.from({ length: 10 }, (_, i) => i));
  });

  it("fails only the item the writer rejected, not the rest of its batch", async () => {
    const writer = gatedWriter();
    const committer = new GroupCommitter(writer.write, options);
    const results = [1, -2, 3].map((n) => committer.submit(n).catch((error: Error) => error.message));
    await writer.openAll();
    expect(await Promise.all(results)).toEqual([10, "bad -2", 30]);
  });

  it("rejects every item of a batch whose write throws", async () => {
    const committer = new GroupCommitter<number, number>(async () => {
      throw new Error("connection lost");
    }, options);
    const results = await Promise.allSettled([committer.submit(1), committer.submit(2)]);
    expect(results.map((r) => r.status)).toEqual(["rejected", "rejected"]);
  });

  it("refuses at once with UNAVAILABLE when the queue is full", async () => {
    const writer = gatedWriter();
    let refused = 0;
    const committer = new GroupCommitter(
      writer.write,
      { ...options, maxQueued: 2 },
      {
        batchWritten: () => undefined,
        waited: () => undefined,
        queueDepth: () => undefined,
        refused: () => {
          refused += 1;
        },
      },
    );
    const inFlight = committer.submit(1);
    await waitFor("the first batch to start", () => writer.batches.length === 1);
    const queued = [committer.submit(2), committer.submit(3)];
    await expect(committer.submit(4)).rejects.toMatchObject({ code: "UNAVAILABLE" } satisfies Partial<AppError>);
    expect(refused).toBe(1);
    await writer.openAll();
    expect(await Promise.all([inFlight, ...queued])).toEqual([10, 20, 30]);
  });

  it("drain() waits for queued and in-flight items", async () => {
    const writer = gatedWriter();
    const committer = new GroupCommitter(writer.write, options);
    const result = committer.submit(7);
    let drained = false;
    const draining = committer.drain().then(() => {
      drained = true;
    });
    await waitFor("the batch to start", () => writer.batches.length === 1);
    expect(drained).toBe(false);
    await writer.openAll();
    await draining;
    expect(await result).toBe(70);
  });

  it("answers by each item's deadline: OUTCOME_UNKNOWN if its batch is being written, UNAVAILABLE if still queued", {
    timeout: 10_000,
  }, async () => {
    const writer = gatedWriter();
    const committer = new GroupCommitter(writer.write, { ...options, timeoutMs: 50 });
    const writing = committer.submit(1);
    while (writer.batches.length === 0) await new Promise((resolve) => setTimeout(resolve, 1));
    const queued = committer.submit(2);
    await expect(writing).rejects.toMatchObject({
      code: "OUTCOME_UNKNOWN",
      message: expect.stringMatching(/same Idempotency-Key/),
    } satisfies Partial<AppError>);
    await expect(queued).rejects.toMatchObject({
      code: "UNAVAILABLE",
      message: expect.stringMatching(/nothing was written/),
    } satisfies Partial<AppError>);
    await writer.openAll();
    await committer.drain();
    // The expired item left the queue: it is never written after its answer.
    expect(writer.batches).toEqual([[1]]);
  });
});
