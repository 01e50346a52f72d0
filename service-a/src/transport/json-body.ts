import { AppError } from "@sum/service-kit";
import { NumberLiteral } from "../domain/operand.js";

const NUMBER_CHARS = "0123456789eE.+-";

/** A key as JSON.parse reads it; only one with escapes needs parsing. */
function keyText(quoted: string): string {
  return quoted.includes("\\") ? (JSON.parse(quoted) as string) : quoted.slice(1, -1);
}

/**
 * The number literals written as values of the top-level object's keys, exactly as sent.
 * `text` must be a JSON object that JSON.parse accepted. One pass, no recursion, no backtracking:
 * the cost is linear in the text whatever its shape (deep nesting, many keys, long literals). At depth 1 a string after `{` or `,` is a key, and a number after `:` is its value.
 */
export function topLevelNumberLiterals(text: string): Map<string, string> {
  const literals = new Map<string, string>();
  let depth = 0;
  let key: string | undefined;
  let previous = "";
  for (let i = 0; i < text.length; i++) {
    const c = text[i] as string;
    if (c === '"') {
      let end = i + 1;
      while (text[end] !== '"') end += text[end] === "\\" ? 2 : 1;
      if (depth === 1 && (previous === "{" || previous === ",")) key = keyText(text.slice(i, end + 1));
      i = end;
    } else if (c === "-" || (c >= "0" && c <= "9")) {
      let end = i + 1;
      while (end < text.length && NUMBER_CHARS.includes(text[end] as string)) end += 1;
      if (depth === 1 && previous === ":" && key !== undefined) literals.set(key, text.slice(i, end));
      i = end - 1;
    } else if (c === "{" || c === "[") {
      depth += 1;
    } else if (c === "}" || c === "]") {
      depth -= 1;
    } else if (c <= " ") {
      continue;
    }
    previous = c;
  }
  return literals;
}

/**
 * Parses a request body: a JSON object whose top-level number values become NumberLiterals, so
 * the domain sees exactly what was written.
 */
export function parseJsonObject(text: string): Record<string, unknown> {
  if (text.trim() === "") {
    throw new AppError("INVALID_ARGUMENT", 'request body is empty; expected a JSON object such as {"a": 1, "b": 2}');
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new AppError("INVALID_ARGUMENT", `request body is not valid JSON: ${(error as Error).message}`);
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new AppError("INVALID_ARGUMENT", 'request body must be a JSON object such as {"a": 1, "b": 2}');
  }
  const body = value as Record<string, unknown>;
  for (const [key, literal] of topLevelNumberLiterals(text)) {
    if (typeof body[key] === "number") body[key] = new NumberLiteral(literal);
  }
  return body;
}
