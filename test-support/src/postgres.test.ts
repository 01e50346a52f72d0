import { chmod, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { expect, it } from "vitest";
import { TemporaryPostgres } from "./postgres.js";
import { recordingPostgresBin } from "./recording-bin.js";

it("psqlFile passes the superuser's password and the variables on no command line", async () => {
  const bin = await recordingPostgresBin();
  const dir = await mkdtemp(join(tmpdir(), "sum-psql-file-"));
  await chmod(dir, 0o755);
  const previousPgBin = process.env.PG_BIN;
  process.env.PG_BIN = bin.dir;
  let server: TemporaryPostgres | undefined;
  try {
    server = await TemporaryPostgres.start();
    const file = join(dir, "role.sql");
    await writeFile(file, "CREATE ROLE probe LOGIN PASSWORD :'probe_password';\n");
    // Quote and backslash: what reaches the role is the password exactly.
    const password = `probe-${Math.random().toString(36).slice(2)}'\\x`;
    await server.psqlFile(file, { probe_password: password });

    const probe = new pg.Client({ connectionString: server.url("postgres", "probe", password) });
    await probe.connect();
    await probe.end();
    const commands = await bin.commandLines();
    expect(commands.some((line) => line.startsWith("psql "))).toBe(true);
    const secrets = [password, server.superuserPassword];
    expect(commands.filter((line) => secrets.some((secret) => line.includes(secret)))).toEqual([]);
  } finally {
    await server?.destroy();
    if (previousPgBin === undefined) delete process.env.PG_BIN;
    else process.env.PG_BIN = previousPgBin;
    await rm(dir, { recursive: true, force: true });
    await bin.destroy();
  }
});
