/**
 * The native (no Docker) stack: `tsx native/src/cli.ts <command>`, normally through the Makefile.
 *   start            install what is missing, build, start what is down, print the table
 *   stop             stop everything gracefully, keeping data
 *   status           the table
 *   logs [name]      follow the logs (all, or those whose name starts with `name`)
 *   setup-debezium   re-apply debezium/outbox-connector.json (idempotent)
 *   check-debezium   connector and task state, slot lag, publication
 *   reconcile        the reconciler's one-shot check of its whole window; its exit code (1: events missing)
 *   restart-service-a  restart the Service A instances one at a time, failing no request
 *   clean            stop, then delete the run directory, only if the runner created it
 *   prerequisites    install what the stack and the tests need (packages, jars, grpcurl, grpc-sum), start nothing
 *   jars             fetch the Kafka, Connect and Debezium jars into JVM_CACHE_DIR, once
 *   passwords        write a random password into .env for each password setting unset (start does it too)
 *   jaeger           build Jaeger (native/jaeger/go.mod) into JAEGER_CACHE_DIR, once
 * Over 200 lines: one short function per command above and the dispatch between them, read together;
 * what a command does to a component lives in components/.
 */
import { spawn } from "node:child_process";
import { once } from "node:events";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { OUTBOX_SLOT } from "@sum/postgres";
import { ensureJaeger } from "./components/jaeger.js";
import { ensureJars } from "./components/jvm.js";
import { reconcilerEnv } from "./components/node-service.js";
import { buildGrpcSum, ensureGoTool, ensurePrerequisites } from "./components/prerequisites.js";
import { randomPassword, unsetPasswords, writeMissingPasswords } from "./passwords.js";
import { pipelineStatus } from "./pipeline-status.js";
import { ensureDir, run } from "./process.js";
import { assertRunDirIsOurs, createRunDir, RUN_DATA_UMASK, removeRunData } from "./run-dir.js";
import { loadSettings, parseDotenv, paths, REPO_ROOT, type Settings } from "./settings.js";
import {
  buildStack,
  componentState,
  outboxSlotState,
  recordPasswords,
  type Stack,
  startComponents,
  stopIfPasswordsChanged,
} from "./stack.js";

const log = (line: string) => process.stdout.write(`==> ${line}\n`);

async function printTable(stack: Stack): Promise<void> {
  const rows = await Promise.all(
    stack.components.map(async (c) => ({ component: c.name, address: c.address, state: await componentState(c) })),
  );
  const width = (key: keyof (typeof rows)[number]) => Math.max(key.length, ...rows.map((r) => r[key].length));
  const line = (r: Record<string, string>) =>
    `${(r.component ?? "").padEnd(width("component"))}  ${(r.address ?? "").padEnd(width("address"))}  ${r.state}`;
  console.log(line({ component: "COMPONENT", address: "ADDRESS", state: "STATE" }));
  for (const row of rows) console.log(line(row));
}

/** Why the pipeline cannot deliver a new sum at all, or undefined while Debezium's slot is whole. */
async function brokenEventStream(stack: Stack): Promise<string | undefined> {
  const state = await outboxSlotState(stack.outbox);
  if (state !== "lost" && state !== "missing") return undefined;
  return (
    `the outbox's replication slot ${OUTBOX_SLOT} is ${state}: Service A refuses every sum, since none could ` +
    "reach Kafka; recover it as the README's Troubleshooting says (Debezium's slot is lost or missing)"
  );
}

async function printStatus(settings: Settings, stack: Stack): Promise<void> {
  await printTable(stack);
  console.log("");
  if (await stack.outbox.isReady()) {
    const broken = await brokenEventStream(stack);
    console.log(
      `${"Debezium's slot".padEnd(34)} ${broken ? `BROKEN: ${broken}` : await outboxSlotState(stack.outbox)}`,
    );
  }
  for (const line of await pipelineStatus(settings)) console.log(line);
}

/** The packages `make start` runs from dist/, and whether any source is newer than its build. */
const BUILT = ["pg-migrate", "service-kit", "service-a", "service-b", "reconciler"];

function newestMtime(dir: string): number {
  if (!existsSync(dir)) return 0;
  return Math.max(
    0,
    ...readdirSync(dir, { recursive: true, encoding: "utf8" }).map((file) => statSync(join(dir, file)).mtimeMs),
  );
}

function buildIsStale(): boolean {
  return BUILT.some((name) => {
    const dist = newestMtime(join(REPO_ROOT, name, "dist"));
    const sources = Math.max(newestMtime(join(REPO_ROOT, name, "src")), newestMtime(join(REPO_ROOT, name, "db")));
    return dist === 0 || sources > dist;
  });
}

async function start(settings: Settings, stack: Stack): Promise<void> {
  const started = Date.now();
  await ensurePrerequisites(log);
  if (buildIsStale()) {
    log("building the TypeScript services");
    await run("pnpm", ["run", "build"], { cwd: REPO_ROOT });
  }
  await ensureJars(settings, log);
  await ensureJaeger(settings, log);
  // The build, the jars and Jaeger are the checkout's and the cache's, readable as their sources are; the run's data is not.
  const p = paths(settings);
  const postgresMovesOut = p.postgres.root !== p.run && !existsSync(p.postgres.root);
  // Before anything is judged running, and while the server user may still enter the run directory
  // to stop them: an older runner's databases, as root, ran from there.
  for (const database of [stack.outbox, stack.leader, stack.replica]) await database.adoptFormerDataDir();
  process.umask(RUN_DATA_UMASK);
  await createRunDir(p.run);
  for (const dir of [p.logs, p.pids, p.config, join(p.run, "data")]) await ensureDir(dir);
  if (postgresMovesOut) {
    log(
      `PostgreSQL runs as the postgres user, who may not enter ${p.run} (0700): its data, socket and logs go to ${p.postgres.root}`,
    );
  }
  await stopIfPasswordsChanged(settings, stack.components, log);
  await startComponents(stack.components, log);
  await recordPasswords(settings);
  await printTable(stack);
  const broken = await brokenEventStream(stack);
  if (broken) throw new Error(broken);
  log(`stack ready in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

async function stop(stack: Stack): Promise<void> {
  for (const component of [...stack.components].reverse()) {
    if (!(await component.isRunning())) continue;
    log(`stopping ${component.name}`);
    await component.stop();
  }
}

/**
 * A rolling restart that fails no request: one instance at a time stops gracefully and is ready
 * again before the next one stops. A stopping instance refuses new connections at once (nginx
 * takes those to another instance, safely: nothing was sent) and finishes the requests on the
 * connections it has; those connections then close by nginx's side first (HTTP keep-alive) or
 * after a GOAWAY that still serves what is on its way (gRPC).
 */
async function restartServiceA(stack: Stack): Promise<void> {
  process.umask(RUN_DATA_UMASK);
  for (const instance of stack.serviceA) {
    log(`${instance.name}: restarting`);
    await instance.stop();
    await instance.start();
    log(`${instance.name}: ready again`);
  }
}

async function checkDebezium(stack: Stack): Promise<boolean> {
  const status = await stack.connect.connectorStatus().catch((error: Error) => {
    console.log(`Kafka Connect is not answering: ${error.message}`);
    return undefined;
  });
  console.log(`connector: ${status?.connector.state ?? "not registered"}`);
  for (const task of status?.tasks ?? [])
    console.log(`task ${task.id}: ${task.state}${task.trace ? `\n${task.trace}` : ""}`);
  const slots = await stack.outbox
    .query<{ slot_name: string; active: boolean; lag_bytes: string }>(
      "SELECT slot_name, active, pg_wal_lsn_diff(pg_current_wal_lsn(), confirmed_flush_lsn)::bigint AS lag_bytes FROM pg_replication_slots WHERE slot_type = 'logical'",
    )
    .catch(() => []);
  for (const slot of slots)
    console.log(`slot ${slot.slot_name}: ${slot.active ? "active" : "inactive"}, ${slot.lag_bytes} bytes behind`);
  if (slots.length === 0) console.log("slot: none");
  const tables = await stack.outbox
    .query<{ pubname: string; tablename: string }>("SELECT pubname, tablename FROM pg_publication_tables", [], "outbox")
    .catch(() => []);
  for (const t of tables) console.log(`publication ${t.pubname}: public.${t.tablename}`);
  return status?.connector.state === "RUNNING" && (status.tasks.every((t) => t.state === "RUNNING") ?? false);
}

/**
 * The reconciler's one-shot check (reconciler/src/reconcile-cli.ts), configured as the stack's
 * reconciler is: it needs no running reconciler, and its exit code is the command's (0 whole, 1
 * events missing, 2 could not check).
 */
async function reconcile(settings: Settings): Promise<void> {
  const check = spawn(process.execPath, [join(REPO_ROOT, "reconciler", "dist", "src", "reconcile-cli.js")], {
    env: { ...process.env, ...reconcilerEnv(settings) },
    stdio: "inherit",
  });
  const [code] = (await once(check, "exit")) as [number | null];
  process.exitCode = code ?? 2;
}

function followLogs(settings: Settings, prefix: string | undefined): void {
  const p = paths(settings);
  const dirs = [...new Set([p.logs, join(p.postgres.root, "logs")])];
  const files = dirs.flatMap((dir) =>
    existsSync(dir)
      ? readdirSync(dir, { recursive: true, encoding: "utf8" })
          .filter((f) => f.endsWith(".log") && (!prefix || f.startsWith(prefix)))
          .map((f) => join(dir, f))
      : [],
  );
  if (files.length === 0) throw new Error(`no logs${prefix ? ` for ${prefix}` : ""} under ${dirs.join(" or ")}`);
  spawn("tail", ["-n", "50", "-F", ...files], { stdio: "inherit" });
}

/**
 * The first `make start` gives each password setting left unset a random value in .env (0600), for
 * good: a database's roles take theirs at each start (the superuser's too, see PostgresCluster).
 */
async function writePasswords(): Promise<void> {
  const written = await writeMissingPasswords(DOTENV_FILE, readDotenv(), process.env);
  if (written.length > 0)
    log(`random passwords written into ${DOTENV_FILE} (readable by you alone): ${written.join(", ")}`);
}

const DOTENV_FILE = join(REPO_ROOT, ".env");
const readDotenv = () => (existsSync(DOTENV_FILE) ? parseDotenv(readFileSync(DOTENV_FILE, "utf8")) : {});

/**
 * Commands that use no password, so run before any `make start` wrote them (make test's
 * prerequisites, CI's jars and Jaeger, a make clean): each password unset is given one no database has.
 */
const PASSWORDLESS = new Set(["prerequisites", "jars", "jaeger", "logs", "stop", "clean"]);

function settingsFor(command: string | undefined): Settings {
  if (command === undefined || !PASSWORDLESS.has(command)) return loadSettings();
  const unset = unsetPasswords({ ...readDotenv(), ...process.env });
  return loadSettings({ ...Object.fromEntries(unset.map((name) => [name, randomPassword()])), ...process.env });
}

async function main(): Promise<void> {
  const [command, argument] = process.argv.slice(2);
  if (command === "start" || command === "passwords") await writePasswords();
  if (command === "passwords") return;
  const settings = settingsFor(command);
  const stack = buildStack(settings, log);
  switch (command) {
    case "start":
      return start(settings, stack);
    case "stop":
      return stop(stack);
    case "status":
      return printStatus(settings, stack);
    case "logs":
      return followLogs(settings, argument);
    case "restart-service-a":
      return restartServiceA(stack);
    case "setup-debezium":
      await stack.connect.registerConnector();
      log("outbox-connector registered and RUNNING");
      return;
    case "check-debezium":
      if (!(await checkDebezium(stack))) process.exitCode = 1;
      return;
    case "reconcile":
      return reconcile(settings);
    case "prerequisites":
      await ensurePrerequisites(log);
      await ensureJars(settings, log);
      await ensureJaeger(settings, log);
      // Only the README's gRPC examples need grpcurl, and make bench's gRPC load grpc-sum: without one,
      // the test that needs it fails and says why, the rest runs.
      await ensureGoTool("grpcurl", log).catch((error: Error) => log(`warning: ${error.message}`));
      await buildGrpcSum(log).catch((error: Error) => log(`warning: ${error.message}`));
      return;
    case "jars":
      return ensureJars(settings, log);
    case "jaeger":
      await ensureJaeger(settings, log);
      return;
    case "clean":
      if (!existsSync(settings.RUN_DIR)) {
        log(`nothing to remove: ${settings.RUN_DIR} does not exist`);
        return;
      }
      assertRunDirIsOurs(settings.RUN_DIR);
      await stop(stack);
      await removeRunData(settings.RUN_DIR);
      log(`removed ${settings.RUN_DIR}`);
      return;
    default:
      throw new Error(
        `unknown command ${command ?? "(none)"}; use start, stop, status, logs, restart-service-a, setup-debezium, check-debezium, reconcile, clean, prerequisites, jars, passwords or jaeger`,
      );
  }
}

// `reconcile` keeps its check's meaning of 1, events missing: the runner's own failure (bad
// settings) is the check's "could not check", 2.
const failed = process.argv[2] === "reconcile" ? 2 : 1;

main().catch((error: Error) => {
  process.stderr.write(`\nnative stack: ${error.message}\n`);
  process.exit(failed);
});
