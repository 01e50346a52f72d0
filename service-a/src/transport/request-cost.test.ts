import { describe, expect, it } from "vitest";
import { validateIdempotencyKey } from "../domain/calculate-sum.js";
import { AppError } from "../domain/errors.js";
import { parseOperand } from "../domain/operand.js";
import { traceparentFor } from "../domain/trace-context.js";
import { BODY_LIMIT_BYTES } from "./http.js";
import { parseJsonObject } from "./json-body.js";

interface Request {
  body: string;
  headers?: { idempotencyKey?: string; traceparent?: string };
}

/** What the HTTP route does with a request before it reaches the database. */
function handle({ body, headers = {} }: Request): string {
  try {
    const fields = parseJsonObject(body);
    parseOperand("a", fields.a);
    parseOperand("b", fields.b);
    validateIdempotencyKey(headers.idempotencyKey);
    traceparentFor(headers.traceparent);
    return "valid";
  } catch (error) {
    if (error instanceof AppError) return error.code;
    throw error;
  }
}

/** The fastest of several runs: on a loaded machine the others measure the neighbours, not the code. */
function fastestMs(request: Request, runs = 15): number {
  let fastest = Number.POSITIVE_INFINITY;
  for (let run = 0; run < runs; run++) {
    const started = performance.now();
    handle(request);
    fastest = Math.min(fastest, performance.now() - started);
  }
  return fastest;
}

const SIZE = BODY_LIMIT_BYTES;
/** `prefix`, `filler` repeated, then `suffix`, after as much leading whitespace as makes SIZE bytes. */
function body(prefix: string, filler: string, suffix: string): string {
  const room = SIZE - prefix.length - suffix.length;
  return " ".repeat(room % filler.length) + prefix + filler.repeat(Math.floor(room / filler.length)) + suffix;
}

/** `prefix`, arrays nested as deep as the size allows, then `suffix`. */
function nested(prefix: string, suffix: string): string {
  const depth = Math.floor((SIZE - prefix.length - suffix.length) / 2);
  return body(prefix + "[".repeat(depth), "]", suffix);
}

const VALID = { body: body('{"a":1,"b":2,"pad":"', "x", '"}') };

const ADVERSARIAL: Record<string, Request> = {
  "a long digit string": { body: body('{"b":1,"a":', "9", "}") },
  "a long run of zeros, then a digit": { body: body('{"b":1,"a":1', "0", "1}") },
  "a long run of trailing zeros": { body: body('{"b":1,"a":1', "0", "}") },
  "a long fraction": { body: body('{"b":1,"a":1.', "0", "1}") },
  "a tiny fraction": { body: body('{"b":1,"a":0.', "0", "1}") },
  "a long exponent": { body: body('{"b":1,"a":1e', "9", "}") },
  "a long exponent of zeros": { body: body('{"b":1,"a":1e-', "0", "1}") },
  "deep nesting": { body: nested('{"a":1,"b":2,"d":', "}") },
  "many keys": { body: body('{"a":1,"b":2', ',"k":1', "}") },
  "many numbers in an array": { body: body('{"a":1,"b":2,"d":[0', ",1", "]}") },
  "a long key": { body: body('{"a":1,"b":2,"', "k", '":1}') },
  "long escapes in a key": { body: body('{"a":1,"b":2,"', "\\u0061", '":1}') },
  "many escaped keys": { body: body('{"a":1,"b":2', ',"\\u0063":1', "}") },
  "a long idempotency key": { ...VALID, headers: { idempotencyKey: "k".repeat(SIZE) } },
  "a long traceparent": { ...VALID, headers: { traceparent: `00-${"a".repeat(SIZE)}` } },
};

describe("the cost of a request", () => {
  it("every shape of the same size costs a small multiple of a valid request", () => {
    for (const request of [VALID, ...Object.values(ADVERSARIAL)]) handle(request);
    const baseline = fastestMs(VALID);
    const tooSlow: string[] = [];
    for (const [shape, request] of Object.entries(ADVERSARIAL)) {
      expect(request.body.length, shape).toBe(SIZE);
      const ms = fastestMs(request);
      // Linear handling stays well under 20x; the quadratic cases this guards against were 1000x+.
      if (ms > 20 * baseline) tooSlow.push(`${shape}: ${ms.toFixed(3)} ms, ${(ms / baseline).toFixed(0)}x`);
    }
    expect(tooSlow, `a valid request took ${baseline.toFixed(3)} ms`).toEqual([]);
  });
});
