import { existsSync, readdirSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";

/** The file that says the native runner created a run directory, so `make clean` may delete it. */
export const RUN_DIR_MARKER = ".sum-pipeline-run-dir";

/**
 * Makes the run directory. It is marked as the runner's when the runner creates it, or finds it
 * empty (a directory made for the stack, e.g. by mktemp): one that holds anything else never is.
 */
export async function createRunDir(runDir: string): Promise<void> {
  const ours = !existsSync(runDir) || readdirSync(runDir).length === 0;
  await mkdir(runDir, { recursive: true });
  if (ours) {
    await writeFile(
      join(runDir, RUN_DIR_MARKER),
      "Created by the sum-pipeline native stack (native/src/cli.ts): `make clean` deletes this directory.\n",
    );
  }
}

/** Throws unless the runner created `runDir`: `make clean` deletes nothing else, wherever RUN_DIR points. */
export function assertRunDirIsOurs(runDir: string): void {
  if (existsSync(join(runDir, RUN_DIR_MARKER))) return;
  throw new Error(
    `refusing to delete ${runDir}: the native stack did not create it (no ${RUN_DIR_MARKER} in it); check RUN_DIR, and delete it yourself if it holds only the stack's data`,
  );
}
