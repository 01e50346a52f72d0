import { TRACEPARENT } from "@sum/contract";
import { expect, it } from "vitest";
import { traceparentFor } from "./trace-context.js";

it("keeps a well-formed incoming traceparent", () => {
  const incoming = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
  expect(traceparentFor(incoming)).toBe(incoming);
});

it("replaces a malformed or all-zero traceparent with a new, unsampled one", () => {
  for (const incoming of [undefined, "garbage", "00-00000000000000000000000000000000-00f067aa0ba902b7-01"]) {
    const made = traceparentFor(incoming);
    expect(made).toMatch(TRACEPARENT);
    expect(made.endsWith("-00")).toBe(true);
  }
});

it("new trace ids stay distinct across many refills of the random pool", () => {
  const made = Array.from({ length: 5000 }, () => traceparentFor(undefined));
  expect(made.every((traceparent) => TRACEPARENT.test(traceparent))).toBe(true);
  expect(new Set(made.map((traceparent) => traceparent.slice(3, 35))).size).toBe(made.length);
  expect(new Set(made.map((traceparent) => traceparent.slice(36, 52))).size).toBe(made.length);
});
