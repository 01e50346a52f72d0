import { AppError } from "@sum/service-kit";
import { describe, expect, it } from "vitest";
import { NumberLiteral } from "../domain/operand.js";
import { parseJsonObject, topLevelNumberLiterals } from "./json-body.js";

describe("topLevelNumberLiterals", () => {
  it("keeps each top-level number as written", () => {
    const literals = topLevelNumberLiterals('{"a": 9007199254740991.4, "b":-1e3, "c": 7}');
    expect(Object.fromEntries(literals)).toEqual({ a: "9007199254740991.4", b: "-1e3", c: "7" });
  });

  it("ignores numbers nested deeper, inside strings, and in keys", () => {
    const text = '{"x": {"a": 1}, "s": "a: 5, \\"b\\": 6", "arr": [1, 2], "a": 3, "1": "b"}';
    expect(Object.fromEntries(topLevelNumberLiterals(text))).toEqual({ a: "3" });
  });

  it("decodes escaped keys and takes the last of duplicate keys, as JSON.parse does", () => {
    expect(Object.fromEntries(topLevelNumberLiterals('{"\\u0061": 1, "a": 2}'))).toEqual({ a: "2" });
  });
});

describe("parseJsonObject", () => {
  it("turns top-level numbers into literals and leaves the rest", () => {
    const body = parseJsonObject('{"a": 1.0, "b": "2", "c": [3]}');
    expect(body.a).toEqual(new NumberLiteral("1.0"));
    expect(body.b).toBe("2");
    expect(body.c).toEqual([3]);
  });

  it.each([
    ["", /empty/],
    ["   ", /empty/],
    ["{", /not valid JSON/],
    ["[1, 2]", /must be a JSON object/],
    ["null", /must be a JSON object/],
    ['"a"', /must be a JSON object/],
    [`${"[".repeat(20_000)}${"]".repeat(20_000)}`, /must be a JSON object/],
  ])("rejects %j with INVALID_ARGUMENT", (text, message) => {
    expect(() => parseJsonObject(text)).toThrow(AppError);
    expect(() => parseJsonObject(text)).toThrow(message);
  });

  it("survives very deep nesting inside an object", () => {
    const text = `{"a": 1, "b": 2, "deep": ${"[".repeat(8000)}${"]".repeat(8000)}}`;
    expect(parseJsonObject(text).a).toEqual(new NumberLiteral("1"));
  });
});
