import { TemporaryPostgres } from "@sum/test-support";
import pg from "pg";
import pino from "pino";
import { afterAll, beforeAll, expect, it } from "vitest";

// 2^53 + 1: a float cannot hold it, so each parse shows whether it stayed exact.
const INT8 = "SELECT 9007199254740993::int8 AS n";
const defaultInt8Parser = pg.types.getTypeParser(pg.types.builtins.INT8);
let server: TemporaryPostgres;

beforeAll(async () => {
  server = await TemporaryPostgres.start();
  // As Service A sets it, before Service B's modules load: both may share a process (tests, tools).
  pg.types.setTypeParser(pg.types.builtins.INT8, (text: string) => BigInt(text));
});

afterAll(async () => {
  pg.types.setTypeParser(pg.types.builtins.INT8, defaultInt8Parser);
  await server?.destroy();
});

it("Service B's pool reads int8 as text, and a plain pool in the same process keeps the global parser", async () => {
  const { servicePool } = await import("./pool.js");
  await import("./totals-store.js");
  const servicePoolOfB = servicePool(server.url(), 1, 5000, pino({ level: "silent" }));
  const plain = new pg.Pool({ connectionString: server.url(), max: 1 });
  try {
    expect((await servicePoolOfB.query(INT8)).rows[0]).toEqual({ n: "9007199254740993" });
    expect((await plain.query(INT8)).rows[0]).toEqual({ n: 9007199254740993n });
  } finally {
    await Promise.all([servicePoolOfB.end(), plain.end()]);
  }
});
