import type { TemporaryPostgres } from "@sum/test-support";
import fc from "fast-check";
import { afterAll, beforeAll, expect, it } from "vitest";
import { startOutboxDatabase } from "../support/outbox-database.js";
import { CommittedEvents, postSum, startTestService, type TestService } from "./harness.js";

const MAX = Number.MAX_SAFE_INTEGER;

let postgres: TemporaryPostgres;
let service: TestService;
let committed: CommittedEvents;

beforeAll(async () => {
  postgres = await startOutboxDatabase();
  service = await startTestService(postgres);
  committed = await CommittedEvents.watch(postgres);
});

afterAll(async () => {
  await service?.stop();
  await postgres?.destroy();
});

/** Operands a client might send: valid integers near every edge, and every kind of wrong value. */
const operand = fc.oneof(
  { arbitrary: fc.integer({ min: -1000, max: 1000 }), weight: 4 },
  { arbitrary: fc.maxSafeInteger(), weight: 2 },
  fc.constantFrom(MAX, -MAX, MAX + 1, -MAX - 1, 0, -0),
  fc.bigInt({ min: -(2n ** 70n), max: 2n ** 70n }).map((n) => ({ raw: n.toString() })),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.string({ maxLength: 12 }),
  fc.constantFrom(null, true, false, [], {}, [1], "1", "1e3"),
  fc.constantFrom({ raw: "1e3" }, { raw: "1E400" }, { raw: "-0.0" }, { raw: "2.50" }, { raw: "1e-7" }),
);

type Operand = unknown;
const literal = (value: Operand): string =>
  typeof value === "object" && value !== null && "raw" in value ? String(value.raw) : JSON.stringify(value);

/** The contract's rule, written independently of the service's code. */
function expectedSum(a: Operand, b: Operand): bigint | undefined {
  const exact = (value: Operand): bigint | undefined => {
    const text = literal(value);
    if (!/^-?\d+(\.\d+)?([eE][+-]?\d+)?$/.test(text)) return undefined;
    const [mantissa = "", exponent = "0"] = text.toLowerCase().split("e");
    const [whole = "", fraction = ""] = mantissa.split(".");
    const scale = Number(exponent) - fraction.length;
    if (Math.abs(Number(exponent)) > 1000)
      return /^-?0+(\.0+)?$/.test(mantissa) ? 0n : scale < 0 ? undefined : 10n ** 20n;
    const digits = BigInt(whole + fraction);
    if (scale >= 0) return digits * 10n ** BigInt(scale);
    const divisor = 10n ** BigInt(-scale);
    return digits % divisor === 0n ? digits / divisor : undefined;
  };
  const x = exact(a);
  const y = exact(b);
  const limit = BigInt(MAX);
  const inRange = (n: bigint | undefined) => n !== undefined && n <= limit && n >= -limit;
  if (!inRange(x) || !inRange(y)) return undefined;
  const sum = (x as bigint) + (y as bigint);
  return inRange(sum) ? sum : undefined;
}

it("never answers 5xx to a random body, and creates an event exactly for the valid ones", async () => {
  const expectedIds: string[] = [];
  await fc.assert(
    fc.asyncProperty(
      // Mostly both fields, sometimes either missing.
      fc.oneof(
        { arbitrary: fc.record({ a: operand, b: operand }), weight: 4 },
        { arbitrary: fc.record({ a: operand, b: operand }, { requiredKeys: [] }), weight: 1 },
      ),
      fc.option(fc.dictionary(fc.string({ maxLength: 5 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 3 })),
      async (fields, extra) => {
        const parts = Object.entries({ ...(extra ?? {}) })
          .filter(([key]) => key !== "a" && key !== "b")
          .map(([key, value]) => `${JSON.stringify(key)}: ${JSON.stringify(value)}`);
        for (const [key, value] of Object.entries(fields)) parts.push(`"${key}": ${literal(value)}`);
        const response = await postSum(service.http, `{${parts.join(", ")}}`);
        expect(response.status).toBeLessThan(500);
        const sum = "a" in fields && "b" in fields ? expectedSum(fields.a, fields.b) : undefined;
        if (sum === undefined) {
          expect(response.status).toBe(400);
          expect(response.body.error.code).toBe("INVALID_ARGUMENT");
        } else {
          expect(response.status).toBe(200);
          expect(BigInt(response.body.result)).toBe(sum);
          expectedIds.push(response.body.event_id);
        }
      },
    ),
    { numRuns: 1000 },
  );
  const events = await committed.take();
  expect(events.map((event) => event.id).sort()).toEqual(expectedIds.sort());
  expect(expectedIds.length).toBeGreaterThan(100);
});
