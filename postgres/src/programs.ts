import { execFile } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { chown } from "node:fs/promises";
import { userInfo } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";

const execFileAsync = promisify(execFile);
const POSTGRES_ROOT = "/usr/lib/postgresql";

/**
 * The directory of PostgreSQL's programs: PG_BIN, or the newest version the distribution installed
 * (15 on Debian 12, 14 on Ubuntu 22.04, 16 on 24.04; Debezium and the stack's settings need 13 or
 * later). Undefined when there is none.
 */
export function installedPostgresBinDir(): string | undefined {
  if (process.env.PG_BIN) return process.env.PG_BIN;
  const versions = existsSync(POSTGRES_ROOT)
    ? readdirSync(POSTGRES_ROOT)
        .filter((version) => Number(version) >= 13 && existsSync(join(POSTGRES_ROOT, version, "bin", "initdb")))
        .sort((x, y) => Number(y) - Number(x))
    : [];
  return versions[0] === undefined ? undefined : join(POSTGRES_ROOT, versions[0], "bin");
}

/** The directory of PostgreSQL's programs (see installedPostgresBinDir); throws, saying what to install, if none. */
export function postgresBinDir(): string {
  const dir = installedPostgresBinDir();
  if (dir === undefined) {
    throw new Error(
      `PostgreSQL's programs not found under ${POSTGRES_ROOT}: install them (apt-get install postgresql) or set PG_BIN`,
    );
  }
  return dir;
}

/**
 * initdb and postgres refuse to run as root: as root the servers run as the `postgres` system user
 * (the distribution's package creates it), otherwise as whoever runs this.
 */
const serverUser = () => (userInfo().uid === 0 ? "postgres" : undefined);

/** Gives `path` to the user the servers run as (nothing to do unless root). */
export async function chownToServerUser(path: string): Promise<void> {
  const user = serverUser();
  if (user === undefined) return;
  const { stdout: uid } = await execFileAsync("id", ["-u", user]);
  const { stdout: gid } = await execFileAsync("id", ["-g", user]);
  await chown(path, Number(uid), Number(gid));
}

/**
 * Runs one of PostgreSQL's programs to completion, `input` on its standard input; with `asServerUser`
 * as the server user, from `cwd`, a directory that user can enter (the programs look up their working
 * directory). Returns its standard output; a failure carries its error output.
 */
export async function runPostgresProgram(
  program: string,
  args: string[],
  options: { cwd: string; asServerUser?: boolean; env?: Record<string, string>; input?: string },
): Promise<string> {
  const path = join(postgresBinDir(), program);
  const user = options.asServerUser ? serverUser() : undefined;
  const [command, commandArgs] = user === undefined ? [path, args] : ["runuser", ["-u", user, "--", path, ...args]];
  try {
    const running = execFileAsync(command, commandArgs, {
      cwd: options.cwd,
      env: { ...process.env, ...options.env },
      maxBuffer: 64 * 1024 * 1024,
    });
    // A program that exits without reading its input (pg_ctl status, a psql that cannot connect)
    // closes the pipe: its exit status, not the EPIPE, says what happened.
    running.child.stdin?.on("error", () => undefined);
    running.child.stdin?.end(options.input);
    return (await running).stdout;
  } catch (error) {
    const failure = error as { stderr?: string; stdout?: string; message: string };
    throw new Error(
      `${program} ${args.join(" ")} failed: ${(failure.stderr || failure.stdout || failure.message).trim()}`,
    );
  }
}
