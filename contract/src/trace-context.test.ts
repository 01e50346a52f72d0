import { describe, expect, it } from "vitest";
import { isSampled } from "./trace-context.js";

describe("isSampled", () => {
  it("reads the sampled bit of a well-formed traceparent", () => {
    const trace = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7";
    expect(isSampled(`${trace}-01`)).toBe(true);
    expect(isSampled(`${trace}-03`)).toBe(true);
    expect(isSampled(`${trace}-00`)).toBe(false);
    expect(isSampled("garbage-01")).toBe(false);
    expect(isSampled(undefined)).toBe(false);
  });

  it("does not sample a traceparent whose ids are all zeros (invalid in W3C trace context)", () => {
    expect(isSampled(`00-${"0".repeat(32)}-00f067aa0ba902b7-01`)).toBe(false);
  });
});
