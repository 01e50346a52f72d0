/**
 * bin/pnpm, which every make target runs pnpm through, on a machine whose PATH has Node but no pnpm:
 * it must still run the version package.json pins, for make and for the scripts make starts.
 */
import { execFile } from "node:child_process";
import { mkdir, mkdtemp, readdir, rm, symlink } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, expect, it } from "vitest";
import packageJson from "../../package.json" with { type: "json" };
import { REPO_ROOT } from "./settings.js";

const pinned = packageJson.packageManager.replace(/^pnpm@/, "");
const binPnpm = join(REPO_ROOT, "bin", "pnpm");
let scratch: string;
let env: NodeJS.ProcessEnv;

/** A directory holding every command of the system's bin directories but pnpm: the PATH of a machine without it. */
async function pathWithoutPnpm(dir: string): Promise<string> {
  await Promise.all(
    ["/usr/local/bin", "/usr/bin"].map(async (source) => {
      for (const name of await readdir(source)) {
        if (name === "pnpm" || name === "pnpx") continue;
        await symlink(join(source, name), join(dir, name)).catch((error: NodeJS.ErrnoException) => {
          if (error.code !== "EEXIST") throw error;
        });
      }
    }),
  );
  return dir;
}

const run = (command: string, args: string[]) =>
  promisify(execFile)(command, args, { cwd: REPO_ROOT, env, timeout: 120_000 });

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), "pnpm-bootstrap-"));
  const bin = join(scratch, "bin");
  await mkdir(bin);
  // The Node.js running this test first, so that bin/node has none to fetch (native/src/node.test.ts
  // covers that): this test is pnpm's.
  const path = `${dirname(process.execPath)}:${await pathWithoutPnpm(bin)}`;
  env = { ...process.env, XDG_CACHE_HOME: join(scratch, "cache"), PATH: path };
  await expect(run("sh", ["-c", "command -v pnpm"])).rejects.toThrow();
});

afterAll(async () => {
  await rm(scratch, { recursive: true, force: true });
});

it("runs the pinned pnpm where pnpm is not on the PATH, and gives it to the scripts it starts", async () => {
  expect((await run(binPnpm, ["--version"])).stdout.trim()).toBe(pinned);
  // A workspace script that calls `pnpm` by name, as the root build script does.
  expect((await run(binPnpm, ["exec", "sh", "-c", "pnpm --version"])).stdout.trim()).toBe(pinned);
});

it("fetches pnpm once: a second run installs nothing and prints nothing but its output", async () => {
  await run(binPnpm, ["--version"]);
  const again = await run(binPnpm, ["--version"]);
  expect(again).toMatchObject({ stdout: `${pinned}\n`, stderr: "" });
});
