import { AppError } from "@sum/service-kit";
import { describe, expect, it } from "vitest";
import { exactValue, NumberLiteral, parseOperand } from "./operand.js";

describe("exactValue", () => {
  it.each([
    ["0", 0n],
    ["-0", 0n],
    ["42", 42n],
    ["-42", -42n],
    ["1e3", 1000n],
    ["1.5e1", 15n],
    ["2.0", 2n],
    ["120e-1", 12n],
    ["0.0001e4", 1n],
    ["100e-2", 1n],
    ["5e+0000001", 50n],
    ["0e999999999999", 0n],
    ["9007199254740991", 9007199254740991n],
  ])("reads %s as the integer %s", (literal, value) => {
    expect(exactValue(literal)).toEqual({ kind: "integer", value });
  });

  it.each(["0.5", "9007199254740991.4", "1e-1", "1e-0000002", "10000000000000000001e-1", "1.25e1", "1e-99999999999"])(
    "reads %s as a fraction",
    (literal) => {
      expect(exactValue(literal)).toEqual({ kind: "fraction" });
    },
  );

  it.each(["1e400", "1e99999999999", "99999999999999999", "123456789012345678901234567890"])(
    "reads %s as too large without building it",
    (literal) => {
      expect(exactValue(literal)).toEqual({ kind: "too-large" });
    },
  );
});

describe("parseOperand", () => {
  const reason = (value: unknown) => {
    try {
      parseOperand("a", value);
    } catch (error) {
      expect(error).toBeInstanceOf(AppError);
      return `${(error as AppError).code}: ${(error as AppError).message}`;
    }
    throw new Error("expected a rejection");
  };

  it("accepts the largest magnitudes and rejects one past them", () => {
    expect(parseOperand("a", new NumberLiteral("9007199254740991"))).toBe(9007199254740991n);
    expect(parseOperand("a", new NumberLiteral("-9007199254740991"))).toBe(-9007199254740991n);
    expect(reason(new NumberLiteral("9007199254740992"))).toMatch(/^INVALID_ARGUMENT: a is out of range/);
    expect(reason(9007199254740992n)).toMatch(/out of range/);
    expect(reason(-9007199254740992n)).toMatch(/out of range/);
  });

  it("reads literals up to 400 characters and refuses longer ones by their length alone", () => {
    expect(parseOperand("a", new NumberLiteral(`1.${"0".repeat(398)}`))).toBe(1n);
    expect(reason(new NumberLiteral(`1.${"0".repeat(399)}`))).toBe(
      "INVALID_ARGUMENT: a is a number 401 characters long; an operand is at most 400",
    );
  });

  it("names what was wrong", () => {
    expect(reason(undefined)).toBe("INVALID_ARGUMENT: a is required");
    expect(reason(null)).toBe("INVALID_ARGUMENT: a must be an integer, got null");
    expect(reason("5")).toBe("INVALID_ARGUMENT: a must be an integer, got a string");
    expect(reason([1])).toBe("INVALID_ARGUMENT: a must be an integer, got an array");
    expect(reason({})).toBe("INVALID_ARGUMENT: a must be an integer, got an object");
    expect(reason(true)).toBe("INVALID_ARGUMENT: a must be an integer, got a boolean");
    expect(reason(new NumberLiteral("1.5"))).toBe("INVALID_ARGUMENT: a must be an integer, got 1.5");
    expect(reason(1.5)).toBe("INVALID_ARGUMENT: a must be an integer, got 1.5");
  });
});
