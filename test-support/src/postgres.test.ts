import { execFile } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { chmod, copyFile, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { promisify } from "node:util";
import { PostgresServer, REPLICA_SLOT, REPLICATION_ROLE } from "@sum/postgres";
import { freePort, waitFor } from "@sum/runtime";
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

it("a server killed with kill -9 (its pid file left behind) counts as stopped, and starts again", async () => {
  const server = await TemporaryPostgres.start();
  try {
    const pidFile = join(server.dataDir, "postmaster.pid");
    const postmaster = Number((await readFile(pidFile, "utf8")).split("\n")[0]);
    process.kill(postmaster, "SIGKILL");
    await waitFor("the postmaster gone", () => !existsSync(`/proc/${postmaster}`));
    expect(existsSync(pidFile)).toBe(true);

    expect(await server.isRunning()).toBe(false);
    await server.stop();
    await server.start();
    expect(await server.query("SELECT 1 AS one")).toEqual([{ one: 1 }]);
  } finally {
    await server.destroy();
  }
});

it("a replica streams its primary's commits through the stack's replication role and slot", async () => {
  const primary = await TemporaryPostgres.start();
  let replica: TemporaryPostgres | undefined;
  try {
    replica = await primary.startReplica();
    await primary.query("CREATE TABLE probe (n int); INSERT INTO probe VALUES (42)");
    const standby = replica;
    await waitFor("the row on the replica", async () => (await standby.query("SELECT n FROM probe")).length === 1);
    expect(await standby.query("SELECT pg_is_in_recovery() AS recovering")).toEqual([{ recovering: true }]);
    const [stream] = await primary.query<{ usename: string; slot: string }>(
      `SELECT r.usename, s.slot_name AS slot FROM pg_stat_replication r
       JOIN pg_replication_slots s ON s.active_pid = r.pid`,
    );
    expect(stream).toEqual({ usename: REPLICATION_ROLE, slot: REPLICA_SLOT });
  } finally {
    await replica?.destroy();
    await primary.destroy();
  }
});

it("a failed initdb leaves no data directory behind, and the error says why", async () => {
  const bin = await mkdtemp(join(tmpdir(), "sum-failing-bin-"));
  await chmod(bin, 0o755);
  await writeFile(join(bin, "initdb"), "#!/bin/sh\necho 'initdb: no space left' >&2\nexit 1\n", { mode: 0o755 });
  const previousPgBin = process.env.PG_BIN;
  process.env.PG_BIN = bin;
  const dir = await mkdtemp(join(tmpdir(), "sum-pg-failing-"));
  await chmod(dir, 0o755);
  try {
    const server = new PostgresServer({
      dataDir: join(dir, "data"),
      port: 1,
      socketDir: dir,
      logFile: join(dir, "postgres.log"),
      superuserPassword: "unused",
    });
    await expect(server.initdb([], { durable: false })).rejects.toThrow(/initdb .* failed: initdb: no space left/);
    expect(existsSync(server.dataDir)).toBe(false);
    expect(readdirSync(dir)).toEqual([]);
  } finally {
    if (previousPgBin === undefined) delete process.env.PG_BIN;
    else process.env.PG_BIN = previousPgBin;
    await rm(dir, { recursive: true, force: true });
    await rm(bin, { recursive: true, force: true });
  }
});

/**
 * `file` and all it imports (workspace sources, node_modules) as one ES module at `outfile`, for a
 * user who may not read the checkout (one in a 0700 home directory). esbuild is tsx's: reached
 * through tsx, which the workspace has, so no second copy need be installed.
 */
async function bundle(file: string, outfile: string): Promise<void> {
  const fromTsx = createRequire(createRequire(import.meta.url).resolve("tsx/package.json"));
  // Not a dependency of this package, so no types of its own: the one call made.
  const esbuild: { build(options: object): Promise<unknown> } = await import(
    pathToFileURL(fromTsx.resolve("esbuild")).href
  );
  await esbuild.build({
    entryPoints: [file],
    outfile,
    bundle: true,
    platform: "node",
    format: "esm",
    conditions: ["source"],
    // pg is CommonJS: its require() of Node's modules needs a require in an ES module.
    banner: { js: 'import { createRequire } from "node:module"; const require = createRequire(import.meta.url);' },
    logLevel: "silent",
  });
}

// Run by root (as CI runs), the other tests run PostgreSQL as the postgres user; this one runs the
// whole runner as that user, as an ordinary user runs the tests and the stack. That user may not read
// this checkout (a clone in root's 0700 home): it runs a bundle of the runner, from a directory of its own.
it.runIf(process.getuid?.() === 0)("run by an ordinary user, the server runs as that user", async () => {
  const dir = await mkdtemp(join(tmpdir(), "sum-pg-ordinary-"));
  await chmod(dir, 0o755);
  try {
    const script = join(dir, "start.mts");
    await writeFile(
      script,
      `import { readFileSync, statSync } from "node:fs";
       import { TemporaryPostgres } from ${JSON.stringify(join(import.meta.dirname, "postgres.ts"))};
       const server = await TemporaryPostgres.start();
       try {
         const postmaster = readFileSync(server.dataDir + "/postmaster.pid", "utf8").split("\\n")[0];
         console.log(JSON.stringify({ self: process.getuid(), data: statSync(server.dataDir).uid, postmaster: statSync("/proc/" + postmaster).uid }));
       } finally {
         await server.destroy();
       }`,
    );
    const bundled = join(dir, "start.mjs");
    await bundle(script, bundled);
    await chmod(bundled, 0o644);
    // This runner's Node.js, where that user can run it: bin/node's may be in root's own cache, which
    // no other user can enter.
    const node = join(dir, "node");
    await copyFile(process.execPath, node);
    await chmod(node, 0o755);
    const { stdout } = await promisify(execFile)("runuser", ["-u", "postgres", "--", node, bundled], {
      cwd: dir,
    });
    const { self, data, postmaster } = JSON.parse(stdout);
    expect(self).not.toBe(0);
    expect({ data, postmaster }).toEqual({ data: self, postmaster: self });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

it("a server started again with another port listens on that one (a port changed in .env takes effect)", async () => {
  const server = await TemporaryPostgres.start();
  try {
    await server.stop();
    const moved = new PostgresServer({
      dataDir: server.dataDir,
      port: await freePort(),
      socketDir: join(server.dataDir, ".."),
      logFile: server.logFile,
      superuserPassword: server.superuserPassword,
    });
    await moved.start();
    try {
      expect(await moved.query("SHOW port")).toEqual([{ port: String(moved.port) }]);
    } finally {
      await moved.stop();
    }
  } finally {
    await server.destroy();
  }
});
