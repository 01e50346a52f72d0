import { readdirSync } from "node:fs";
import { chmod, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { postgresBinDir } from "@sum/postgres";

export interface RecordingBin {
  /** Set PG_BIN to this. */
  dir: string;
  /** Every command line run through the wrappers so far: the program's name, then its arguments. */
  commandLines(): Promise<string[]>;
  destroy(): Promise<void>;
}

/**
 * PostgreSQL's programs behind wrappers that log each command line, then run the real program (as
 * itself, so it finds its own files): for tests of what commands were given, e.g. no password.
 */
export async function recordingPostgresBin(): Promise<RecordingBin> {
  const real = postgresBinDir();
  const dir = await mkdtemp(join(tmpdir(), "sum-pg-bin-"));
  // Reachable, and the log writable, by the postgres user the programs run as under root.
  await chmod(dir, 0o755);
  const log = join(dir, "command-lines.log");
  await writeFile(log, "");
  await chmod(log, 0o666);
  for (const program of readdirSync(real)) {
    const path = join(real, program);
    await writeFile(
      join(dir, program),
      `#!/bin/bash\nprintf '%s\\n' "${program} $*" >> '${log}'\nexec -a '${path}' '${path}' "$@"\n`,
      { mode: 0o755 },
    );
  }
  return {
    dir,
    commandLines: async () => (await readFile(log, "utf8")).split("\n").filter(Boolean),
    destroy: () => rm(dir, { recursive: true, force: true }),
  };
}
