import { EXAMPLE_SUM_CALCULATED, encodeSumCalculated } from "@sum/contract";
import { describe, expect, it } from "vitest";
import { applyBatch, type DeadLetter, type Ledger } from "./apply-batch.js";
import type { IncomingMessage, SumEvent } from "./sum-event.js";

const DAY = 86_400_000;

function message(offset: number, createdAt: Date, eventId = crypto.randomUUID()): IncomingMessage {
  const value = encodeSumCalculated({ ...EXAMPLE_SUM_CALCULATED, eventId, createdAt });
  return { partition: 2, offset: String(offset), key: Buffer.from(eventId), value: Buffer.from(value), headers: {} };
}

/** A ledger that records what it was asked to apply, every id new. */
function recordingLedger() {
  const calls: SumEvent[][] = [];
  const ledger: Ledger = {
    apply: async (events) => {
      calls.push(events);
      return { applied: events, duplicates: 0 };
    },
  };
  return { ledger, calls };
}

describe("applyBatch and the window within which applied ids are remembered", () => {
  const rememberedSince = new Date(Date.now() - 7 * DAY);
  const letters: DeadLetter[] = [];
  const deadLetters = { send: async (sent: DeadLetter[]) => void letters.push(...sent) };

  it("applies a slice whose events are all younger than the window", async () => {
    const { ledger, calls } = recordingLedger();
    const slice = [message(0, new Date()), message(1, new Date(Date.now() - 6 * DAY))];
    const outcome = await applyBatch({ ledger, deadLetters, rememberedSince }, slice);
    expect(outcome.tooOld).toBeUndefined();
    expect(outcome.applied).toHaveLength(2);
    expect(calls).toHaveLength(1);
  });

  it("applies nothing of a slice holding an event older than the window, and names that event", async () => {
    const { ledger, calls } = recordingLedger();
    const old = message(11, new Date(Date.now() - 8 * DAY));
    const slice = [
      message(10, new Date()),
      old,
      { ...message(12, new Date()), value: Buffer.from("{not json") },
      message(13, new Date()),
    ];
    const outcome = await applyBatch({ ledger, deadLetters, rememberedSince }, slice);
    expect(outcome.tooOld?.message).toBe(old);
    expect(outcome.tooOld?.event.eventId).toBe(old.key?.toString());
    expect(outcome.applied).toEqual([]);
    expect(calls).toEqual([]);
    expect(letters).toEqual([]);
  });
});
