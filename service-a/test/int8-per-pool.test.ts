import { TemporaryPostgres } from "@sum/test-support";
import pg from "pg";
import { afterAll, beforeAll, expect, it } from "vitest";
import { createPool } from "../src/persistence/database.js";

let postgres: TemporaryPostgres;

beforeAll(async () => {
  postgres = await TemporaryPostgres.start();
});

afterAll(async () => {
  await postgres?.destroy();
});

it("Service A's pool reads int8 as bigint, and a plain pg pool in the same process keeps pg's string", async () => {
  const servicePool = createPool(
    { connectionString: postgres.url(), max: 1, connectTimeoutMs: 10_000, statementTimeoutMs: 10_000 },
    () => undefined,
  );
  const plainPool = new pg.Pool({ connectionString: postgres.url(), max: 1 });
  // Past 2^53, so a number could not hold it; now() shows the other types keep their parsers.
  const sql = "SELECT 9007199254740993::int8 AS n, now() AS at";
  try {
    const serviceRow = (await servicePool.query(sql)).rows[0];
    const plainRow = (await plainPool.query(sql)).rows[0];
    expect(serviceRow?.n).toBe(9007199254740993n);
    expect(plainRow?.n).toBe("9007199254740993");
    expect(serviceRow?.at).toBeInstanceOf(Date);
    expect(plainRow?.at).toBeInstanceOf(Date);
  } finally {
    await Promise.all([servicePool.end(), plainPool.end()]);
  }
});
