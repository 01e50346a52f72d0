import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect, it } from "vitest";
import { ensureGoTool, GO_TOOLS, postgresBin } from "./prerequisites.js";

it.each(Object.keys(GO_TOOLS) as Array<keyof typeof GO_TOOLS>)(
  "without %s and without Go, the message says how to get it",
  async (tool) => {
    const home = await mkdtemp(join(tmpdir(), "no-go-"));
    try {
      await expect(ensureGoTool(tool, () => {}, { PATH: join(home, "bin"), HOME: home })).rejects.toThrow(
        `go install ${GO_TOOLS[tool]}`,
      );
    } finally {
      await rm(home, { recursive: true, force: true });
    }
  },
);

it("PostgreSQL's programs come from PG_BIN when set, else from the newest version installed", () => {
  const saved = process.env.PG_BIN;
  try {
    process.env.PG_BIN = "/opt/pg/bin";
    expect(postgresBin("initdb")).toBe("/opt/pg/bin/initdb");
    delete process.env.PG_BIN;
    const initdb = postgresBin("initdb");
    expect(initdb).toMatch(/^\/usr\/lib\/postgresql\/\d+\/bin\/initdb$/);
    expect(existsSync(initdb)).toBe(true);
  } finally {
    if (saved === undefined) delete process.env.PG_BIN;
    else process.env.PG_BIN = saved;
  }
});
