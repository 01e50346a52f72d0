import { existsSync, lstatSync, readdirSync } from "node:fs";
import { chmod, mkdir, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { postgresRoot } from "./settings.js";

/** The file that says the native runner created a run directory, so `make clean` may delete it. */
export const RUN_DIR_MARKER = ".sum-pipeline-run-dir";

/**
 * What the stack writes once the run directory is made: its user's alone. Kafka's segments, Connect's
 * offsets, the logs (which may quote sums and settings) are no other local user's to read.
 */
export const RUN_DATA_UMASK = 0o077;

/**
 * Makes the run directory, its owner's alone (0700), one made before too. It is marked as the
 * runner's when the runner creates it, or finds it empty (a directory made for the stack, e.g. by
 * mktemp): one that holds anything else never is.
 */
export async function createRunDir(runDir: string): Promise<void> {
  const ours = !existsSync(runDir) || readdirSync(runDir).length === 0;
  await mkdir(runDir, { recursive: true, mode: 0o700 });
  await chmod(runDir, 0o700);
  if (ours) {
    await writeFile(
      join(runDir, RUN_DIR_MARKER),
      "Created by the sum-pipeline native stack (native/src/cli.ts): `make clean` deletes this directory.\n",
    );
  }
}

/** Throws unless `root`, PostgreSQL's directory outside the run directory, is this user's and writable by no other. */
function assertPostgresRootIsOurs(root: string): void {
  const stat = lstatSync(root);
  if (stat.isDirectory() && stat.uid === process.getuid?.() && (stat.mode & 0o022) === 0) return;
  throw new Error(
    `${root} is not this stack's (not a directory of yours that only you may write: /var/tmp is every user's); remove it, or set RUN_DIR in .env to another directory`,
  );
}

/**
 * Makes PostgreSQL's directory when it is not the run directory (see postgresRoot): the runner's,
 * 0711, so the server user reaches its own data, socket and log directories in it and may list
 * nothing.
 */
export async function preparePostgresRoot(runDir: string): Promise<void> {
  const root = postgresRoot(runDir);
  if (root === runDir) return;
  await mkdir(root, { mode: 0o711 }).catch((error: NodeJS.ErrnoException) => {
    if (error.code !== "EEXIST") throw error;
  });
  assertPostgresRootIsOurs(root);
  for (const dir of [root, join(root, "data"), join(root, "logs")]) {
    await mkdir(dir, { recursive: true, mode: 0o711 });
    await chmod(dir, 0o711);
  }
}

/** Throws unless the runner created `runDir`: `make clean` deletes nothing else, wherever RUN_DIR points. */
export function assertRunDirIsOurs(runDir: string): void {
  if (existsSync(join(runDir, RUN_DIR_MARKER))) return;
  throw new Error(
    `refusing to delete ${runDir}: the native stack did not create it (no ${RUN_DIR_MARKER} in it); check RUN_DIR, and delete it yourself if it holds only the stack's data`,
  );
}

/** Deletes the run directory and PostgreSQL's, when apart (`make clean`; the stack stopped). */
export async function removeRunData(runDir: string): Promise<void> {
  assertRunDirIsOurs(runDir);
  const root = postgresRoot(runDir);
  if (root !== runDir && existsSync(root)) {
    assertPostgresRootIsOurs(root);
    await rm(root, { recursive: true, force: true });
  }
  await rm(runDir, { recursive: true, force: true });
}
