import { expect, it } from "vitest";
import { FailureStreak } from "./failure-streak.js";

/** A streak on a clock the test moves, already past its first success. */
function streak() {
  const clock = { now: 0 };
  const applying = new FailureStreak("applying events", 5000, () => clock.now);
  applying.succeeded();
  return { applying, clock };
}

it("failures within the grace after a success do not count; past it they do, naming how long and the last error", () => {
  const { applying, clock } = streak();
  applying.failed(new Error("connection terminated"));
  clock.now = 5000;
  applying.failed(new Error('relation "partition_totals" does not exist'));
  expect(applying.failing()).toBeUndefined();
  clock.now = 7500;
  expect(applying.failing()).toBe('applying events has failed for 7 s: relation "partition_totals" does not exist');
});

it("one success ends the streak, and the grace starts again at the next failure", () => {
  const { applying, clock } = streak();
  applying.failed(new Error("connection terminated"));
  clock.now = 10_000;
  applying.succeeded();
  expect(applying.failing()).toBeUndefined();
  applying.failed(new Error("connection terminated"));
  clock.now = 14_000;
  expect(applying.failing()).toBeUndefined();
});

it("an activity that never succeeded is failing from its first failure", () => {
  const reading = new FailureStreak("reading the total", 5000, () => 0);
  reading.failed(Object.assign(new AggregateError([]), { code: "ECONNREFUSED" }));
  expect(reading.failing()).toBe("reading the total has not succeeded yet: ECONNREFUSED");
});

it("track records how a promise ends and passes its outcome on", async () => {
  const reading = new FailureStreak("reading the total", 5000, () => 0);
  await expect(reading.track(Promise.reject(new Error("no such table")))).rejects.toThrow("no such table");
  expect(reading.failing()).toBe("reading the total has not succeeded yet: no such table");
  await expect(reading.track(Promise.resolve(42))).resolves.toBe(42);
  expect(reading.failing()).toBeUndefined();
});
