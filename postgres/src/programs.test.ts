import { existsSync } from "node:fs";
import { expect, it } from "vitest";
import { postgresBinDir } from "./programs.js";

it("PostgreSQL's programs come from PG_BIN when set, else from the newest version installed", () => {
  const saved = process.env.PG_BIN;
  try {
    process.env.PG_BIN = "/opt/pg/bin";
    expect(postgresBinDir()).toBe("/opt/pg/bin");
    delete process.env.PG_BIN;
    const dir = postgresBinDir();
    expect(dir).toMatch(/^\/usr\/lib\/postgresql\/\d+\/bin$/);
    expect(existsSync(`${dir}/initdb`)).toBe(true);
  } finally {
    if (saved === undefined) delete process.env.PG_BIN;
    else process.env.PG_BIN = saved;
  }
});
