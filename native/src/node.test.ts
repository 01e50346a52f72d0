/**
 * bin/node, which bin/pnpm (and so every make target) takes Node.js from, on a machine whose PATH has
 * a Node.js older than package.json's engines (Debian 12's 20, as CI's): it must fetch the version
 * .node-version pins, once, and pnpm and the scripts and services it starts must run on it.
 */
import { execFile } from "node:child_process";
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, expect, it } from "vitest";
import packageJson from "../../package.json" with { type: "json" };
import { REPO_ROOT } from "./settings.js";

const binNode = join(REPO_ROOT, "bin", "node");
const binPnpm = join(REPO_ROOT, "bin", "pnpm");
const pinned = (await readFile(join(REPO_ROOT, ".node-version"), "utf8")).trim();
let scratch: string;

/** `dir` holding every command of the system's bin directories but node: a PATH to add a node of one's own to. */
async function pathWithoutNode(dir: string): Promise<string> {
  await mkdir(dir);
  for (const source of ["/usr/local/bin", "/usr/bin"]) {
    for (const name of await readdir(source)) {
      if (name === "node" || name === "nodejs") continue;
      await symlink(join(source, name), join(dir, name)).catch((error: NodeJS.ErrnoException) => {
        if (error.code !== "EEXIST") throw error;
      });
    }
  }
  return dir;
}

const run = (command: string, args: string[], env: NodeJS.ProcessEnv) =>
  promisify(execFile)(command, args, { cwd: REPO_ROOT, env, timeout: 300_000 });

/** What `node` a command started by bin/pnpm (as make's are) runs: its version and executable. */
const nodeOfScripts = (env: NodeJS.ProcessEnv) =>
  run(binPnpm, ["exec", "node", "-p", "process.version + ' ' + process.execPath"], env);

let oldNodeEnv: NodeJS.ProcessEnv;

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), "node-bootstrap-"));
  // A node that reports 20.19 (the engines field's minimum before 24) and runs the one running this
  // test for anything else (npm, which fetches the pinned one, runs on it): the same old Node.js on
  // any machine, whichever the system's own is.
  const bin = await pathWithoutNode(join(scratch, "old-node-bin"));
  await writeFile(
    join(bin, "node"),
    `#!/bin/sh\n[ "$1" = --version ] && { echo v20.19.0; exit 0; }\nexec ${process.execPath} "$@"\n`,
  );
  await chmod(join(bin, "node"), 0o755);
  oldNodeEnv = { ...process.env, XDG_CACHE_HOME: join(scratch, "cache"), PATH: bin };
  expect((await run("node", ["--version"], oldNodeEnv)).stdout).toBe("v20.19.0\n");
}, 120_000);

afterAll(async () => {
  await rm(scratch, { recursive: true, force: true });
});

it("fetches the pinned Node.js where the PATH's is older than the engines field, saying so, for pnpm and all it starts", async () => {
  expect(packageJson.engines.node).toBe(`>=${pinned.split(".")[0]}`);
  const cache = join(scratch, "cache", "sum-pipeline", `node-${pinned}`);
  const { stdout, stderr } = await nodeOfScripts(oldNodeEnv);
  expect(stdout.trim()).toMatch(new RegExp(`^v${pinned.replaceAll(".", "\\.")} ${cache}/`));
  expect(stderr).toContain(`Node.js on the PATH is v20.19.0, older than package.json's engines (>=24)`);
  // The pnpm the workspace pins runs on it too, and a script that calls `node` by name gets it.
  const script = await run(binPnpm, ["exec", "sh", "-c", "node --version && pnpm --version"], oldNodeEnv);
  expect(script.stdout).toBe(`v${pinned}\n${packageJson.packageManager.replace(/^pnpm@/, "")}\n`);
}, 300_000);

it("fetches it once: a second run installs nothing and prints nothing but its output", async () => {
  await run(binNode, ["--version"], oldNodeEnv);
  expect(await run(binNode, ["--version"], oldNodeEnv)).toMatchObject({ stdout: `v${pinned}\n`, stderr: "" });
}, 300_000);

it("takes the PATH's own Node.js, fetching nothing, where it satisfies the engines field", async () => {
  // The Node.js the first test fetched, alone on a PATH with a cache of its own.
  const fetched = (await run(binNode, ["-p", "process.execPath"], oldNodeEnv)).stdout.trim();
  const bin = await pathWithoutNode(join(scratch, "new-node-bin"));
  await symlink(fetched, join(bin, "node"));
  const env = { ...process.env, XDG_CACHE_HOME: join(scratch, "other-cache"), PATH: bin };
  expect(await run(binNode, ["-p", "process.execPath"], env)).toMatchObject({ stdout: `${fetched}\n`, stderr: "" });
  expect((await readdir(join(scratch, "other-cache")).catch(() => [])).length).toBe(0);
}, 300_000);
