import { EXAMPLE_SUM_CALCULATED, encodeSumCalculated } from "@sum/contract";
import { describe, expect, it } from "vitest";
import { type IncomingMessage, parseSumEvent } from "./sum-event.js";

const ID = EXAMPLE_SUM_CALCULATED.eventId;
const valid = JSON.parse(encodeSumCalculated(EXAMPLE_SUM_CALCULATED)) as Record<string, unknown>;

function message(value: unknown, headers: IncomingMessage["headers"] = { id: ID }): IncomingMessage {
  const text = typeof value === "string" ? value : JSON.stringify(value);
  return { partition: 0, offset: "7", key: Buffer.from(ID), value: Buffer.from(text), headers };
}

describe("parseSumEvent", () => {
  it("accepts the contract's event, with the largest safe values", () => {
    expect(parseSumEvent(message(valid))).toMatchObject({ kind: "valid", event: { eventId: ID, result: 5 } });
    const edge = { ...valid, a: 9007199254740991, b: -9007199254740991, result: 0 };
    expect(parseSumEvent(message(edge)).kind).toBe("valid");
    expect(parseSumEvent(message(valid, {})).kind).toBe("valid");
  });

  it.each([
    ["no value", null, "the message has no value"],
    ["not JSON", "{nope", "the value is not JSON"],
    ["an array", [1, 2], "the value is not a JSON object"],
    ["a missing event_id", { ...valid, event_id: undefined }, "event_id is missing or not a UUID"],
    ["a mistyped a", { ...valid, a: "2" }, "a is not an integer"],
    ["a fraction", { ...valid, b: 3.5, result: 5.5 }, "b is not an integer"],
    ["an unsafe integer", { ...valid, a: 2 ** 60, result: 2 ** 60 + 3 }, "a is out of range"],
    ["a wrong result", { ...valid, result: 6 }, "result is not a+b"],
    ["a missing service_id", { ...valid, service_id: "" }, "service_id is missing"],
    ["a bad created_at", { ...valid, created_at: "yesterday" }, "created_at is missing or not a timestamp"],
    ["an oversized value", { ...valid, pad: "x".repeat(17_000) }, "the value is larger than 16384 bytes"],
  ])("refuses %s", (_name, value, reason) => {
    const incoming = value === null ? { ...message(valid), value: null } : message(value);
    expect(parseSumEvent(incoming)).toEqual({ kind: "poison", reason });
  });

  it("refuses an id header that is not the payload's event_id", () => {
    const other = "01a20b16-0000-7000-8000-000000000000";
    expect(parseSumEvent(message(valid, { id: other }))).toEqual({
      kind: "poison",
      reason: "the id header does not match event_id",
    });
  });

  it.each([
    [
      "a bad event_id before a wrong id header",
      { ...valid, event_id: "x" },
      { id: "y" },
      "event_id is missing or not a UUID",
    ],
    ["a wrong id header before a bad a", { ...valid, a: "2" }, { id: "y" }, "the id header does not match event_id"],
    ["a bad a before a bad b", { ...valid, a: "2", b: "3" }, { id: ID }, "a is not an integer"],
    ["a wrong result before a missing service_id", { ...valid, result: 6, service_id: "" }, {}, "result is not a+b"],
    [
      "a missing service_id before a bad created_at",
      { ...valid, service_id: "", created_at: "x" },
      {},
      "service_id is missing",
    ],
  ])("gives the first problem when there are several: %s", (_name, value, headers, reason) => {
    expect(parseSumEvent(message(value, headers))).toEqual({ kind: "poison", reason });
  });
});
