import { MAX_MESSAGE_BYTES } from "@sum/contract";
import { requestShapes, type SumRequestShape } from "@sum/runtime";
import { AppError } from "@sum/service-kit";
import { describe, expect, it } from "vitest";
import { validateIdempotencyKey } from "../domain/calculate-sum.js";
import { parseOperand } from "../domain/operand.js";
import { traceparentFor } from "../domain/trace-context.js";
import { parseJsonObject } from "./json-body.js";

/** What the HTTP route does with a request before it reaches the database. */
function handle({ body, headers = {} }: SumRequestShape): string {
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
function fastestMs(request: SumRequestShape, runs = 15): number {
  let fastest = Number.POSITIVE_INFINITY;
  for (let run = 0; run < runs; run++) {
    const started = performance.now();
    handle(request);
    fastest = Math.min(fastest, performance.now() - started);
  }
  return fastest;
}

const { valid: VALID, adversarial: ADVERSARIAL } = requestShapes(MAX_MESSAGE_BYTES);

describe("the cost of a request", () => {
  it("every shape of the same size costs a small multiple of a valid request", () => {
    for (const request of [VALID, ...Object.values(ADVERSARIAL)]) handle(request);
    const baseline = fastestMs(VALID);
    const tooSlow: string[] = [];
    for (const [shape, request] of Object.entries(ADVERSARIAL)) {
      expect(request.body.length, shape).toBe(MAX_MESSAGE_BYTES);
      // Valid JSON, so each shape goes through every step rather than stopping at JSON.parse.
      expect(() => JSON.parse(request.body), shape).not.toThrow();
      const ms = fastestMs(request);
      // Linear handling stays well under 20x; the quadratic cases this guards against were 1000x+.
      if (ms > 20 * baseline) tooSlow.push(`${shape}: ${ms.toFixed(3)} ms, ${(ms / baseline).toFixed(0)}x`);
    }
    expect(tooSlow, `a valid request took ${baseline.toFixed(3)} ms`).toEqual([]);
  });
});
