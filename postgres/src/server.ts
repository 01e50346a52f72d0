import { existsSync } from "node:fs";
import { appendFile, chmod, mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import pg from "pg";
import { chownToServerUser, runPostgresProgram } from "./programs.js";
import { psqlFile } from "./psql.js";
import { configQuoted, type Primary, standbyConfig } from "./standby.js";

export interface PostgresServerOptions {
  /** The cluster's data directory, made by initdb or copyOf. */
  dataDir: string;
  port: number;
  /** Its Unix socket's directory (and, for a moment, initdb's password file). */
  socketDir: string;
  logFile: string;
  superuserPassword: string;
}

/**
 * One PostgreSQL server on 127.0.0.1, run with pg_ctl from its own data directory: for the native
 * stack and for the tests alike. As root its programs run as the `postgres` system user (initdb and
 * postgres refuse root), otherwise as the current user.
 */
export class PostgresServer {
  constructor(private readonly options: PostgresServerOptions) {}

  get port(): number {
    return this.options.port;
  }

  get dataDir(): string {
    return this.options.dataDir;
  }

  get logFile(): string {
    return this.options.logFile;
  }

  get superuserPassword(): string {
    return this.options.superuserPassword;
  }

  /** It has a data directory: initdb or copyOf made one. */
  exists(): boolean {
    return existsSync(join(this.dataDir, "PG_VERSION"));
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
    const client = new pg.Client({ connectionString: this.url(database), connectionTimeoutMillis: 10_000 });
    await client.connect();
    try {
      return (await client.query<T>(sql, params)).rows;
    } finally {
      await client.end();
    }
  }

  /** Runs a SQL file with psql as the superuser, with psql variables (`:'name'` in the file); see psql.ts. */
  psqlFile(file: string, variables: Record<string, string>, database = "postgres"): Promise<void> {
    const { port, superuserPassword } = this;
    return psqlFile({ port, superuserPassword, cwd: this.options.socketDir }, file, variables, database);
  }

  /**
   * A new cluster by initdb, the superuser's password set, with `config` in postgresql.auto.conf.
   * Not `durable`, it skips fsync (tests: they crash processes, not machines).
   */
  async initdb(config: string[], options: { durable: boolean }): Promise<void> {
    await this.create(async () => {
      const pwfile = join(this.options.socketDir, `initdb-${this.port}.pw`);
      await writeFile(pwfile, `${this.superuserPassword}\n`, { mode: 0o600 });
      await chownToServerUser(pwfile);
      const args = ["-D", this.dataDir, "-U", "postgres", `--pwfile=${pwfile}`, "--auth=scram-sha-256"];
      const durability = options.durable ? [] : ["--no-sync"];
      await this.runAsServer("initdb", [...args, ...durability, "-E", "UTF8", "--locale=C.UTF-8"]).finally(() =>
        rm(pwfile, { force: true }),
      );
    }, [...(options.durable ? [] : ["fsync = off"]), ...config]);
  }

  /** A new cluster copied from `primary` (pg_basebackup), a hot standby streaming from it, with `config` too. */
  async copyOf(primary: Primary, config: string[]): Promise<void> {
    await this.create(async () => {
      const connection = ["-h", "127.0.0.1", "-p", String(primary.port), "-U", primary.user];
      const slot = primary.slot ? [`--slot=${primary.slot}`] : [];
      await this.runAsServer(
        "pg_basebackup",
        [...connection, "-D", this.dataDir, "-X", "stream", "--checkpoint=fast", "--write-recovery-conf", ...slot],
        { PGPASSWORD: primary.password },
      );
    }, [...standbyConfig(primary), ...config]);
  }

  /**
   * Sets postgresql.conf lines (`name = value`) in postgresql.auto.conf, each replacing the line of
   * its name written before. Takes effect at the next start.
   */
  async setConfig(lines: string[]): Promise<void> {
    const file = join(this.dataDir, "postgresql.auto.conf");
    const name = (line: string) => line.split("=")[0]?.trim();
    const names = new Set(lines.map(name));
    const kept = (await readFile(file, "utf8")).split("\n").filter((line) => line !== "" && !names.has(name(line)));
    // Written in place, so the file stays the server user's.
    await writeFile(file, `${[...kept, ...lines].join("\n")}\n`);
  }

  /** Makes its socket's directory, the server user's: its programs run from there too. */
  async prepareSocketDir(): Promise<void> {
    await mkdir(this.options.socketDir, { recursive: true });
    await chownToServerUser(this.options.socketDir);
  }

  /** Replaces pg_hba.conf: who may connect, from where, how. Takes effect at the next start or reload. */
  async writeHba(rules: string[]): Promise<void> {
    const file = join(this.dataDir, "pg_hba.conf");
    await writeFile(file, `${rules.join("\n")}\n`);
    await chownToServerUser(file);
  }

  /**
   * Gives the superuser the password this server was made with, in the stopped cluster: single-user
   * mode needs no login, so a cluster made with another password (a former default, one changed
   * since) takes this one. Not on a standby: it has its primary's roles.
   */
  async setSuperuserPassword(): Promise<void> {
    const literal = `'${this.superuserPassword.replaceAll("'", "''")}'`;
    // No statement in an error message (log_min_error_statement): it holds the password.
    const args = ["--single", "-j", "-D", this.dataDir, "-c", "log_min_error_statement=panic", "postgres"];
    await runPostgresProgram("postgres", args, {
      cwd: this.options.socketDir,
      asServerUser: true,
      input: `ALTER ROLE postgres PASSWORD ${literal};\n\n`,
    }).catch((error: Error) => {
      throw new Error(error.message.replaceAll(this.superuserPassword, "[redacted]"));
    });
  }

  /** Starts it and waits until it answers queries. */
  async start(): Promise<void> {
    await chmod(this.dataDir, 0o700);
    await appendFile(this.logFile, "");
    await chownToServerUser(this.logFile);
    // The port on the command line overrides the one written at creation: a port changed since
    // (in .env) takes effect instead of leaving the server on the old one, unreachable where expected.
    const options = ["-o", `-p ${this.port}`];
    await this.runAsServer("pg_ctl", ["start", "-D", this.dataDir, "-l", this.logFile, ...options, "-w", "-t", "60"]);
    await this.waitUntilReady(30_000);
  }

  /**
   * Stops it (`fast`: rolls back open transactions; `immediate`: as a crash would), keeping its data.
   * Nothing to do when it is not running, including after a kill -9 that left its pid file behind.
   */
  async stop(mode: "fast" | "immediate" = "fast"): Promise<void> {
    if (!(await this.isRunning())) return;
    // A postmaster that was dying as we looked (kill -9) leaves its pid file behind, and pg_ctl calls
    // that "does not shut down"; it is stopped all the same, and the next start clears the file.
    await this.runAsServer("pg_ctl", ["stop", "-D", this.dataDir, "-m", mode, "-w", "-t", "60"]).catch(
      async (error: unknown) => {
        if (await this.isRunning()) throw error;
      },
    );
  }

  /** Its postmaster runs (pg_ctl status: the pid file names a live process). */
  async isRunning(): Promise<boolean> {
    if (!this.exists()) return false;
    return this.runAsServer("pg_ctl", ["status", "-D", this.dataDir]).then(
      () => true,
      () => false,
    );
  }

  /** It answers a query. */
  async isReady(): Promise<boolean> {
    return this.query("SELECT 1").then(
      () => true,
      () => false,
    );
  }

  private async waitUntilReady(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!(await this.isReady())) {
      if (Date.now() > deadline) throw new Error(`no connection after ${timeoutMs / 1000} s; see ${this.logFile}`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }

  /** Makes the data directory afresh with `make`, then adds the address and `config`; leaves nothing half-made. */
  private async create(make: () => Promise<void>, config: string[]): Promise<void> {
    await this.prepareSocketDir();
    await rm(this.dataDir, { recursive: true, force: true });
    await mkdir(this.dataDir, { recursive: true });
    await chownToServerUser(this.dataDir);
    try {
      await make();
      // Appended to a file the server user owns, so it stays theirs.
      await appendFile(
        join(this.dataDir, "postgresql.auto.conf"),
        [
          `port = ${this.port}`,
          "listen_addresses = '127.0.0.1'",
          `unix_socket_directories = ${configQuoted(this.options.socketDir)}`,
          ...config,
          "",
        ].join("\n"),
      );
    } catch (error) {
      // The next attempt starts from scratch.
      await rm(this.dataDir, { recursive: true, force: true });
      throw error;
    }
  }

  private runAsServer(program: string, args: string[], env: Record<string, string> = {}): Promise<string> {
    return runPostgresProgram(program, args, { cwd: this.options.socketDir, asServerUser: true, env });
  }
}
