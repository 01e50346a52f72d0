import { MAX_LITERAL_LENGTH, MAX_OPERAND } from "@sum/contract";
import { AppError } from "@sum/service-kit";

const MAX_MAGNITUDE = BigInt(MAX_OPERAND);

/**
 * A JSON number exactly as the client wrote it. JSON.parse rounds (9007199254740991.4 becomes
 * 9007199254740991), so the HTTP adapter keeps the literal and the domain judges the exact value.
 */
export class NumberLiteral {
  constructor(readonly text: string) {}
}

const JSON_NUMBER = /^(-?)(\d+)(?:\.(\d+))?(?:[eE]([+-]?\d+))?$/;

type Exact = { kind: "integer"; value: bigint } | { kind: "fraction" } | { kind: "too-large" };

/** How many zeros `digits` starts and ends with; in "000" all three lead. */
function zerosAround(digits: string): { leading: number; trailing: number } {
  // Loops, not /^0+/ and /0*$/: an unanchored /0*$/ backtracks over a run of zeros from every start
  // in it, so "1" + "0".repeat(n) + "1" costs n² steps.
  let leading = 0;
  while (leading < digits.length && digits[leading] === "0") leading += 1;
  let trailing = 0;
  while (trailing < digits.length - leading && digits[digits.length - 1 - trailing] === "0") trailing += 1;
  return { leading, trailing };
}

/** The exact value of a JSON number literal, without ever building a huge BigInt (1e999999999). */
export function exactValue(literal: string): Exact {
  const match = JSON_NUMBER.exec(literal);
  if (!match) throw new AppError("INVALID_ARGUMENT", `not a JSON number: ${literal}`);
  const [, sign = "", whole = "", fraction = "", exponentText = "0"] = match;
  const digits = whole + fraction;
  const zeros = zerosAround(digits);
  if (zeros.leading === digits.length) return { kind: "integer", value: 0n };
  // Exponents too long to matter are decided by their sign alone.
  const exponentDigits = exponentText.replace(/^[+-]/, "");
  if (exponentDigits.length - zerosAround(exponentDigits).leading > 6) {
    return exponentText.startsWith("-") ? { kind: "fraction" } : { kind: "too-large" };
  }
  const significant = digits.slice(zeros.leading, digits.length - zeros.trailing);
  const scale = Number(exponentText) - fraction.length + zeros.trailing;
  if (scale < 0) return { kind: "fraction" };
  if (significant.length + scale > 16) return { kind: "too-large" };
  const magnitude = BigInt(significant) * 10n ** BigInt(scale);
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
 * One operand of a sum, as an exact bigint within ±MAX_OPERAND.
 * Accepts a NumberLiteral (HTTP), a bigint (gRPC int64) or a plain number.
 */
export function parseOperand(name: string, value: unknown): bigint {
  if (value === undefined) throw new AppError("INVALID_ARGUMENT", `${name} is required`);
  let exact: bigint;
  if (value instanceof NumberLiteral) {
    if (value.text.length > MAX_LITERAL_LENGTH) {
      throw new AppError(
        "INVALID_ARGUMENT",
        `${name} is a number ${value.text.length} characters long; an operand is at most ${MAX_LITERAL_LENGTH}`,
      );
    }
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
