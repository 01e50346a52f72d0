import { execFile, spawn } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { chmod, chown, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir, userInfo } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import pg from "pg";
import { freePort } from "./ports.js";

const run = promisify(execFile);

/** A psql meta-command argument: single-quoted, with quotes and backslashes escaped. */
const psqlQuoted = (value: string) => `'${value.replaceAll("\\", "\\\\").replaceAll("'", "\\'")}'`;

/** `text` with each of `secrets` masked, for error messages that may quote a statement. */
const redacted = (text: string, secrets: string[]) =>
  secrets.reduce((masked, secret) => masked.replaceAll(secret, "[redacted]"), text);

/** The directory holding initdb, pg_ctl and postgres: PG_BIN, or the newest /usr/lib/postgresql/N/bin. */
export function postgresBinDir(): string {
  if (process.env.PG_BIN) return process.env.PG_BIN;
  const root = "/usr/lib/postgresql";
  const versions = existsSync(root)
    ? readdirSync(root)
        .filter((v) => existsSync(join(root, v, "bin", "initdb")))
        .sort((x, y) => Number(y) - Number(x))
    : [];
  if (versions[0] === undefined) {
    throw new Error(
      "PostgreSQL server binaries not found under /usr/lib/postgresql; install them (apt-get install postgresql) or set PG_BIN",
    );
  }
  return join(root, versions[0], "bin");
}

export interface PostgresOptions {
  /** Extra postgresql.conf lines, e.g. "wal_level = logical". */
  settings?: string[];
  /** fsync on, as in production (benchmarks). Tests run with it off: they crash processes, not machines. */
  durable?: boolean;
}

/**
 * A throw-away PostgreSQL server in a temporary directory. initdb and postgres refuse to run as root,
 * so as root they run as the `postgres` system user; otherwise as the current user.
 */
export class TemporaryPostgres {
  readonly superuserPassword = "test-superuser";

  private constructor(
    readonly dir: string,
    readonly port: number,
    private readonly asUser: string | undefined,
  ) {}

  static async start(options: PostgresOptions = {}): Promise<TemporaryPostgres> {
    const asUser = userInfo().uid === 0 ? "postgres" : undefined;
    const dir = await mkdtemp(join(tmpdir(), "sum-pg-"));
    await chmod(dir, 0o755);
    if (asUser) {
      const { stdout } = await run("id", ["-u", asUser]);
      const { stdout: gid } = await run("id", ["-g", asUser]);
      await chown(dir, Number(stdout.trim()), Number(gid.trim()));
    }
    const server = new TemporaryPostgres(dir, await freePort(), asUser);
    await server.init([`fsync = ${options.durable ? "on" : "off"}`, ...(options.settings ?? [])]);
    await server.startServer();
    return server;
  }

  get dataDir(): string {
    return join(this.dir, "data");
  }

  /** A connection string for `user` (default: the superuser) to `database`. */
  url(database = "postgres", user = "postgres", password = this.superuserPassword): string {
    return `postgresql://${encodeURIComponent(user)}:${encodeURIComponent(password)}@127.0.0.1:${this.port}/${database}`;
  }

  async query<T extends pg.QueryResultRow = pg.QueryResultRow>(
    sql: string,
    params: unknown[] = [],
    database = "postgres",
  ): Promise<T[]> {
    const client = new pg.Client({ connectionString: this.url(database) });
    await client.connect();
    try {
      return (await client.query<T>(sql, params)).rows;
    } finally {
      await client.end();
    }
  }

  /**
   * Runs a SQL file with psql as the superuser, with psql variables (`:'name'` in the file). The
   * password goes in the environment and the variables on standard input: a command line is
   * visible to every user of the machine, and they are passwords.
   */
  async psqlFile(file: string, variables: Record<string, string>, database = "postgres"): Promise<void> {
    const connection = ["-h", "127.0.0.1", "-p", String(this.port), "-U", "postgres", "-d", database];
    const script = [
      ...Object.entries(variables).map(([name, value]) => `\\set ${name} ${psqlQuoted(value)}`),
      `\\i ${psqlQuoted(file)}`,
    ].join("\n");
    const psql = run(join(postgresBinDir(), "psql"), ["-X", "-q", "-v", "ON_ERROR_STOP=1", ...connection], {
      env: { ...process.env, PGPASSWORD: this.superuserPassword },
    });
    psql.child.stdin?.end(script);
    await psql.catch((error: Error) => {
      throw new Error(redacted(error.message, Object.values(variables)));
    });
  }

  /**
   * A hot standby of this server: pg_basebackup, then streaming replication, through the physical
   * replication slot `slot` (created) when given, as the stack's replica. The server must allow
   * replication connections from 127.0.0.1 (initdb's default pg_hba.conf does).
   */
  async startReplica(options: { slot?: string } = {}): Promise<TemporaryPostgres> {
    const asUser = this.asUser;
    const dir = await mkdtemp(join(tmpdir(), "sum-pg-replica-"));
    await chmod(dir, 0o755);
    const replica = new TemporaryPostgres(dir, await freePort(), asUser);
    if (asUser) await replica.chownToServerUser(dir);
    await replica.exec(
      "pg_basebackup",
      [
        "-h",
        "127.0.0.1",
        "-p",
        String(this.port),
        "-U",
        "postgres",
        "-D",
        replica.dataDir,
        "-X",
        "stream",
        "--write-recovery-conf",
        "--checkpoint=fast",
        ...(options.slot ? ["--create-slot", `--slot=${options.slot}`] : []),
      ],
      { PGPASSWORD: this.superuserPassword },
    );
    await writeFile(
      join(replica.dataDir, "postgresql.auto.conf"),
      `${await readFile(join(replica.dataDir, "postgresql.auto.conf"), "utf8")}
port = ${replica.port}
unix_socket_directories = '${dir}'
hot_standby = on
`,
    );
    await replica.chownToServerUser(join(replica.dataDir, "postgresql.auto.conf"));
    await replica.startServer();
    return replica;
  }

  /** Stops the server at once (fast shutdown), keeping its data. */
  async stopServer(): Promise<void> {
    await this.pgCtl(["stop", "-m", "fast", "-w"]);
  }

  async startServer(): Promise<void> {
    await this.pgCtl(["start", "-w", "-t", "60", "-l", join(this.dir, "postgres.log")]);
  }

  async destroy(): Promise<void> {
    await this.pgCtl(["stop", "-m", "immediate", "-w"]).catch(() => undefined);
    await rm(this.dir, { recursive: true, force: true });
  }

  private async init(settings: string[]): Promise<void> {
    const pwfile = join(this.dir, "pwfile");
    await writeFile(pwfile, `${this.superuserPassword}\n`);
    await this.chownToServerUser(pwfile);
    await this.exec("initdb", [
      "-D",
      this.dataDir,
      "-U",
      "postgres",
      `--pwfile=${pwfile}`,
      "--auth=scram-sha-256",
      "--no-sync",
      "-E",
      "UTF8",
      "--locale=C",
    ]);
    const conf = [
      `port = ${this.port}`,
      "listen_addresses = '127.0.0.1'",
      `unix_socket_directories = '${this.dir}'`,
      "max_connections = 200",
      ...settings,
    ];
    await writeFile(join(this.dataDir, "postgresql.auto.conf"), `${conf.join("\n")}\n`);
    await this.chownToServerUser(join(this.dataDir, "postgresql.auto.conf"));
  }

  private async pgCtl(args: string[]): Promise<void> {
    await this.exec("pg_ctl", ["-D", this.dataDir, ...args]);
  }

  private async exec(binary: string, args: string[], env: Record<string, string> = {}): Promise<void> {
    const path = join(postgresBinDir(), binary);
    const [command, commandArgs] = this.asUser ? ["runuser", ["-u", this.asUser, "--", path, ...args]] : [path, args];
    await new Promise<void>((resolve, reject) => {
      // pg_ctl start leaves postgres running with our pipes open: ignore output so we do not wait on it.
      const child = spawn(command, commandArgs, {
        stdio: ["ignore", "ignore", "pipe"],
        cwd: this.dir,
        env: { ...process.env, ...env },
      });
      let stderr = "";
      child.stderr.on("data", (chunk: Buffer) => {
        stderr += chunk.toString();
      });
      child.on("error", reject);
      child.on("exit", (code) =>
        code === 0 ? resolve() : reject(new Error(`${binary} ${args.join(" ")} failed (${code}): ${stderr.trim()}`)),
      );
    });
  }

  private async chownToServerUser(path: string): Promise<void> {
    if (!this.asUser) return;
    const { stdout: uid } = await run("id", ["-u", this.asUser]);
    const { stdout: gid } = await run("id", ["-g", this.asUser]);
    await chown(path, Number(uid.trim()), Number(gid.trim()));
  }
}
