import { afterEach, expect, it, vi } from "vitest";
import { newEventId, randomHex } from "./identifiers.js";

const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const millisecondsOf = (id: string) => Number.parseInt(id.replaceAll("-", "").slice(0, 12), 16);

afterEach(() => {
  vi.useRealTimers();
});

it("event ids are UUIDv7 carrying the time they were made", () => {
  const before = Date.now();
  const id = newEventId();
  const after = Date.now();
  expect(id).toMatch(UUID_V7);
  expect(millisecondsOf(id)).toBeGreaterThanOrEqual(before);
  expect(millisecondsOf(id)).toBeLessThanOrEqual(after);
});

it("event ids sort in the order they were made, many to a millisecond and across pool refills", () => {
  const ids = Array.from({ length: 20_000 }, () => newEventId());
  for (const id of ids) expect(id).toMatch(UUID_V7);
  expect([...ids].sort()).toEqual(ids);
  expect(new Set(ids).size).toBe(ids.length);
});

it("event ids stay ordered when more than 4096 fall in one millisecond and when the clock steps back", () => {
  // Ahead of every id made so far in this process, so the frozen clock is the one the ids carry.
  const frozenAt = Date.now() + 3_600_000;
  vi.useFakeTimers({ toFake: ["Date"] });
  vi.setSystemTime(frozenAt);
  const frozen = Array.from({ length: 10_000 }, () => newEventId());
  vi.setSystemTime(frozenAt - 1000);
  const afterStepBack = Array.from({ length: 100 }, () => newEventId());
  const ids = [...frozen, ...afterStepBack];
  expect([...ids].sort()).toEqual(ids);
  expect(new Set(ids).size).toBe(ids.length);
  expect(millisecondsOf(frozen[0] as string)).toBe(frozenAt);
  // The counter borrowed the next milliseconds rather than wrapping, and only as many as it needed.
  const borrowed = millisecondsOf(ids.at(-1) as string) - frozenAt;
  expect(borrowed).toBeGreaterThan(0);
  expect(borrowed).toBeLessThan(5);
});

it("random hex comes fresh from the pool: no repeats across refills", () => {
  const values = Array.from({ length: 5000 }, () => randomHex(8));
  for (const value of values) expect(value).toMatch(/^[0-9a-f]{16}$/);
  expect(new Set(values).size).toBe(values.length);
});
