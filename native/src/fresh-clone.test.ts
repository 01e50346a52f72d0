/**
 * The README's promise, `git clone ... && cd sum-pipeline && make start` then `make test`, from a
 * clone in a directory no other user may enter (root's home is 0700), in its cheapest honest form: a
 * clone of this checkout's HEAD, its dependencies installed, its runner's first steps (the passwords,
 * the run directory) and PostgreSQL started by them as the server user; as root, the test that runs
 * the runner as an ordinary user too. The whole stack is the native-stack tests' (minutes).
 */
import { execFile } from "node:child_process";
import { readFileSync, statSync } from "node:fs";
import { chmod, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { freePort } from "@sum/runtime";
import { afterAll, beforeAll, expect, it } from "vitest";
import { PASSWORD_SETTINGS } from "./passwords.js";
import { parseDotenv, REPO_ROOT } from "./settings.js";

const execFileAsync = promisify(execFile);
const asRoot = process.getuid?.() === 0;

let home: string;
let clone: string;
/** A new user's environment: none of the passwords this test run was given, nor this Vitest's own variables. */
let env: NodeJS.ProcessEnv;

async function inClone(command: string, args: string[], extra: Record<string, string> = {}): Promise<string> {
  const { stdout } = await execFileAsync(command, args, {
    cwd: clone,
    env: { ...env, ...extra },
    maxBuffer: 16 * 1024 * 1024,
  });
  return stdout;
}

const tsx = (file: string, ...args: string[]) =>
  inClone(join(clone, "bin", "pnpm"), ["exec", "tsx", "--conditions=source", file, ...args]);

beforeAll(async () => {
  home = await mkdtemp(join(tmpdir(), "sum-home-"));
  await chmod(home, 0o700);
  clone = join(home, "sum-pipeline");
  env = Object.fromEntries(
    Object.entries(process.env).filter(
      ([name]) => !(PASSWORD_SETTINGS as readonly string[]).includes(name) && !name.startsWith("VITEST"),
    ),
  );
  await execFileAsync("git", ["clone", "--quiet", REPO_ROOT, clone]);
  await inClone(join(clone, "bin", "pnpm"), ["install", "--frozen-lockfile", "--prefer-offline"]);
}, 300_000);

afterAll(async () => {
  await rm(home, { recursive: true, force: true });
});

it("a first start there writes its passwords into its .env (0600), makes its run directory 0700 and starts PostgreSQL as the server user", async () => {
  // Before any: what make test and CI run first, and a make clean, need no password.
  await tsx("native/src/cli.ts", "jars");
  await tsx("native/src/cli.ts", "jaeger");
  expect(await tsx("native/src/cli.ts", "clean")).toMatch(/nothing to remove/);
  expect(() => statSync(join(clone, ".env"))).toThrow();

  await tsx("native/src/cli.ts", "passwords");
  const dotenvFile = join(clone, ".env");
  expect(statSync(dotenvFile).mode & 0o777).toBe(0o600);
  const written = parseDotenv(readFileSync(dotenvFile, "utf8"));
  expect(PASSWORD_SETTINGS.filter((name) => !/^[A-Za-z0-9_-]{24}$/.test(written[name] ?? ""))).toEqual([]);

  // What `make start` does first, then the one component that needs no build: Service B's leader.
  const check = join(clone, "native", "first-start.ts");
  await writeFile(
    check,
    `import { mkdir, readFile } from "node:fs/promises";
     import { readFileSync, statSync } from "node:fs";
     import { createRunDir } from "./src/run-dir.js";
     import { loadSettings, paths } from "./src/settings.js";
     import { buildStack } from "./src/stack.js";
     const settings = loadSettings({ ...process.env, LEADER_DB_PORT: "${await freePort()}", REPLICA_DB_PORT: "${await freePort()}" });
     const p = paths(settings);
     await createRunDir(p.run);
     await mkdir(p.logs, { recursive: true });
     const { leader } = buildStack(settings, () => undefined);
     await leader.start();
     try {
       const [row] = await leader.query("SELECT current_user AS who");
       const postmaster = (await readFile(leader.dataDir + "/postmaster.pid", "utf8")).split("\\n")[0];
       console.log(JSON.stringify({
         run: p.run,
         mode: (statSync(p.run).mode & 0o777).toString(8),
         postgresRoot: p.postgres.root,
         who: row?.who,
         server: statSync("/proc/" + postmaster).uid,
         data: statSync(leader.dataDir).uid,
       }));
     } finally {
       await leader.stop();
     }`,
  );
  const lines = (await tsx(check)).trim().split("\n");
  const first = JSON.parse(lines.at(-1) ?? "{}");
  expect(first).toMatchObject({ run: join(clone, ".run"), mode: "700", who: "postgres" });
  const serverUid = asRoot ? Number((await execFileAsync("id", ["-u", "postgres"])).stdout) : process.getuid?.();
  expect({ server: first.server, data: first.data }).toEqual({ server: serverUid, data: serverUid });
  if (asRoot) expect(first.postgresRoot).toMatch(/^\/var\/tmp\/sum-pipeline-postgres-/);

  // Started again: the same place, found, not chosen anew.
  const again = JSON.parse((await tsx(check)).trim().split("\n").at(-1) ?? "{}");
  expect(again.postgresRoot).toBe(first.postgresRoot);

  await tsx("native/src/cli.ts", "clean");
  expect(() => statSync(first.postgresRoot)).toThrow();
  expect(() => statSync(join(clone, ".run"))).toThrow();
}, 300_000);

it.runIf(asRoot)(
  "make test's run-by-an-ordinary-user test passes there",
  async () => {
    const output = await inClone(join(clone, "bin", "pnpm"), [
      "exec",
      "vitest",
      "run",
      "test-support/src/postgres.test.ts",
      "-t",
      "run by an ordinary user",
    ]);
    expect(output).toMatch(/1 passed/);
  },
  300_000,
);
