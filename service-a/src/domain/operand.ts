import { AppError } from "./errors.js";

export const MAX_MAGNITUDE = BigInt(Number.MAX_SAFE_INTEGER);

/**
 * A JSON number exactly as the client wrote it. JSON.parse rounds (9007199254740991.4 becomes
 * 9007199254740991), so the HTTP adapter keeps the literal and the domain judges the exact value.
 */
export class NumberLiteral {
  constructor(readonly text: string) {}
}

const JSON_NUMBER = /^(-?)(\d+)(?:\.(\d+))?(?:[eE]([+-]?\d+))?$/;

type Exact = { kind: "integer"; value: bigint } | { kind: "fraction" } | { kind: "too-large" };

/** The exact value of a JSON number literal, without ever building a huge BigInt (1e999999999). */
export function exactValue(literal: string): Exact {
  const match = JSON_NUMBER.exec(literal);
  if (!match) throw new AppError("INVALID_ARGUMENT", `not a JSON number: ${literal}`);
  const [, sign = "", whole = "", fraction = "", exponentText = "0"] = match;
  let digits = (whole + fraction).replace(/^0+/, "");
  if (digits === "") return { kind: "integer", value: 0n };
  // Exponents too long to matter are decided by their sign alone.
  if (exponentText.replace(/^[+-]?0*/, "").length > 6) {
    return exponentText.startsWith("-") ? { kind: "fraction" } : { kind: "too-large" };
  }
  let scale = Number(exponentText) - fraction.length;
  const trailingZeros = /0*$/.exec(digits)?.[0].length ?? 0;
  digits = digits.slice(0, digits.length - trailingZeros);
  scale += trailingZeros;
  if (scale < 0) return { kind: "fraction" };
  if (digits.length + scale > 16) return { kind: "too-large" };
  const magnitude = BigInt(digits) * 10n ** BigInt(scale);
  return { kind: "integer", value: sign === "-" ? -magnitude : magnitude };
}

function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  if (typeof value === "string") return "a string";
  if (typeof value === "object") return "an object";
  return `a ${typeof value}`;
}

const OUT_OF_RANGE = (name: string) =>
  new AppError(
    "INVALID_ARGUMENT",
    `${name} is out of range: it must be between -${MAX_MAGNITUDE} and ${MAX_MAGNITUDE}`,
  );

/**
 * One operand of a sum, as an exact bigint within ±MAX_SAFE_INTEGER.
 * Accepts a NumberLiteral (HTTP), a bigint (gRPC int64) or a plain number.
 */
export function parseOperand(name: string, value: unknown): bigint {
  if (value === undefined) throw new AppError("INVALID_ARGUMENT", `${name} is required`);
  let exact: bigint;
  if (value instanceof NumberLiteral) {
    const parsed = exactValue(value.text);
    if (parsed.kind === "fraction") {
      throw new AppError("INVALID_ARGUMENT", `${name} must be an integer, got ${value.text}`);
    }
    if (parsed.kind === "too-large") throw OUT_OF_RANGE(name);
    exact = parsed.value;
  } else if (typeof value === "bigint") {
    exact = value;
  } else if (typeof value === "number" && Number.isInteger(value)) {
    exact = BigInt(value);
  } else if (typeof value === "number") {
    throw new AppError("INVALID_ARGUMENT", `${name} must be an integer, got ${value}`);
  } else {
    throw new AppError("INVALID_ARGUMENT", `${name} must be an integer, got ${describe(value)}`);
  }
  if (exact > MAX_MAGNITUDE || exact < -MAX_MAGNITUDE) throw OUT_OF_RANGE(name);
  return exact;
}
