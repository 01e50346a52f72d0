import { existsSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect, it } from "vitest";
import { postgresBinDir, runPostgresProgram } from "./programs.js";

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

it("a program that exits without reading its input fails with its own error output", async () => {
  const bin = await mkdtemp(join(tmpdir(), "sum-pg-bin-"));
  await writeFile(join(bin, "psql"), "#!/bin/sh\necho 'psql: could not connect' >&2\nexit 2\n", { mode: 0o755 });
  const saved = process.env.PG_BIN;
  process.env.PG_BIN = bin;
  try {
    // Far more than a pipe holds, so the write meets the closed pipe.
    const input = "x".repeat(4 * 1024 * 1024);
    await expect(runPostgresProgram("psql", [], { cwd: bin, input })).rejects.toThrow("psql: could not connect");
  } finally {
    if (saved === undefined) delete process.env.PG_BIN;
    else process.env.PG_BIN = saved;
    await rm(bin, { recursive: true, force: true });
  }
});
