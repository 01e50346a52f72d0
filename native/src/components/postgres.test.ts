import { readdirSync, readFileSync } from "node:fs";
import { mkdir, mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "@sum/runtime";
import { recordingPostgresBin, TemporaryPostgres } from "@sum/test-support";
import pg from "pg";
import { expect, it } from "vitest";
import { randomPassword } from "../passwords.js";
import { createRunDir, removeRunData } from "../run-dir.js";
import { loadSettings, paths } from "../settings.js";
import { buildStack, recordPasswords, stopIfPasswordsChanged } from "../stack.js";

/** Every process's command line, as any user of the machine can read it. */
function allCommandLines(): string[] {
  return readdirSync("/proc")
    .filter((entry) => /^\d+$/.test(entry))
    .map((pid) => {
      try {
        return readFileSync(`/proc/${pid}/cmdline`, "utf8").replaceAll("\0", " ");
      } catch {
        return "";
      }
    });
}

it("starting Service B's leader and replica puts no password on any command line", async () => {
  const bin = await recordingPostgresBin();
  const runDir = await mkdtemp(join(tmpdir(), "sum-argv-"));
  const unique = Math.random().toString(36).slice(2);
  const passwords = {
    POSTGRES_SUPERUSER_PASSWORD: `superuser-${unique}`,
    TOTALS_DB_OWNER_PASSWORD: `owner-${unique}`,
    // Quote and backslash: what reaches the role is the password exactly.
    SERVICE_B_DB_PASSWORD: `service-b-${unique}'\\x`,
    REPLICATION_PASSWORD: `replicator-${unique}`,
    EXPORTER_DB_PASSWORD: `exporter-${unique}`,
  };
  const previousPgBin = process.env.PG_BIN;
  process.env.PG_BIN = bin.dir;
  const settings = loadSettings({
    ...process.env,
    RUN_DIR: runDir,
    LEADER_DB_PORT: String(await freePort()),
    REPLICA_DB_PORT: String(await freePort()),
    ...passwords,
  });
  const { leader, replica } = buildStack(settings, () => undefined);
  try {
    await createRunDir(runDir);
    await mkdir(paths(settings).logs);
    await leader.start();
    await replica.start();

    const serviceB = new pg.Client({
      connectionString: leader.url("totals", "service_b", passwords.SERVICE_B_DB_PASSWORD),
    });
    await serviceB.connect();
    await serviceB.end();
    const commands = await bin.commandLines();
    expect(commands.map((line) => line.split(" ")[0])).toEqual(
      expect.arrayContaining(["initdb", "pg_ctl", "psql", "pg_basebackup"]),
    );
    const secrets = Object.values(passwords);
    const revealing = (lines: string[]) => lines.filter((line) => secrets.some((secret) => line.includes(secret)));
    expect(revealing(commands)).toEqual([]);
    expect(revealing(allCommandLines())).toEqual([]);
  } finally {
    await replica.stop().catch(() => undefined);
    await leader.stop().catch(() => undefined);
    if (previousPgBin === undefined) delete process.env.PG_BIN;
    else process.env.PG_BIN = previousPgBin;
    await removeRunData(runDir);
    await bin.destroy();
  }
});

it("the outbox's pg_hba lets debezium stream the outbox database's logical changes, and no physical copy of the cluster", async () => {
  const { outbox } = buildStack(loadSettings(), () => undefined);
  const server = await TemporaryPostgres.start({ settings: ["wal_level = logical"] });
  try {
    await server.query("CREATE ROLE debezium LOGIN REPLICATION PASSWORD 'debezium-test'");
    await server.query("CREATE DATABASE outbox");
    // The native outbox's rules, as PostgresCluster writes them (the superuser's, then its own).
    const rules = ["host all postgres 127.0.0.1/32 scram-sha-256", ...outbox.hba];
    await server.writeHba(rules);
    await server.query("SELECT pg_reload_conf()");

    const debezium = (replication: "true" | "database") =>
      new pg.Client({
        connectionString: `${server.url("outbox", "debezium", "debezium-test")}?replication=${replication}`,
      });
    const logical = debezium("database");
    await logical.connect();
    const [system] = (await logical.query("IDENTIFY_SYSTEM")).rows as Array<{ dbname: string }>;
    expect(system?.dbname).toBe("outbox");
    await logical.end();
    await expect(debezium("true").connect()).rejects.toThrow(/no pg_hba.conf entry for replication connection/);
  } finally {
    await server.destroy();
  }
});

it("a database made with the former well-known superuser password starts with .env's, and that one alone logs in", async () => {
  const runDir = await mkdtemp(join(tmpdir(), "sum-former-password-"));
  const ports = { LEADER_DB_PORT: String(await freePort()), REPLICA_DB_PORT: String(await freePort()) };
  const before = loadSettings({
    ...process.env,
    RUN_DIR: runDir,
    ...ports,
    POSTGRES_SUPERUSER_PASSWORD: "postgres_local",
  });
  const after = loadSettings({
    ...process.env,
    RUN_DIR: runDir,
    ...ports,
    POSTGRES_SUPERUSER_PASSWORD: randomPassword(),
  });
  const made = buildStack(before, () => undefined).leader;
  const { leader } = buildStack(after, () => undefined);
  try {
    await createRunDir(runDir);
    await mkdir(paths(before).logs);
    await made.start();
    await made.stop();

    await leader.start();
    expect(await leader.query("SELECT current_user AS who")).toEqual([{ who: "postgres" }]);
    await expect(made.query("SELECT 1")).rejects.toThrow(/password authentication failed for user "postgres"/);
  } finally {
    await leader.stop().catch(() => undefined);
    await removeRunData(runDir);
  }
});

it("make start stops a database that runs with other passwords than .env's (a stack started before the passwords were generated), and leaves one that runs with them", async () => {
  const runDir = await mkdtemp(join(tmpdir(), "sum-changed-passwords-"));
  const ports = { LEADER_DB_PORT: String(await freePort()), REPLICA_DB_PORT: String(await freePort()) };
  const current = loadSettings({ ...process.env, RUN_DIR: runDir, ...ports });
  const changed = loadSettings({ ...process.env, RUN_DIR: runDir, ...ports, SERVICE_B_DB_PASSWORD: randomPassword() });
  const { leader } = buildStack(current, () => undefined);
  const lines: string[] = [];
  try {
    await createRunDir(runDir);
    await mkdir(paths(current).logs);
    await leader.start();
    // Started by a runner before this one: nothing recorded.
    await stopIfPasswordsChanged(current, [leader], (line) => lines.push(line));
    expect(await leader.isRunning()).toBe(false);
    expect(lines).toEqual(["stopping postgres-leader: the passwords changed, and it takes them at its start"]);

    await leader.start();
    await recordPasswords(current);
    await stopIfPasswordsChanged(current, [leader], (line) => lines.push(line));
    expect(await leader.isRunning()).toBe(true);

    await stopIfPasswordsChanged(changed, [leader], (line) => lines.push(line));
    expect(await leader.isRunning()).toBe(false);
  } finally {
    await leader.stop().catch(() => undefined);
    await removeRunData(runDir);
  }
});
