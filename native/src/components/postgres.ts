import { existsSync } from "node:fs";
import { appendFile, chmod, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import pg from "pg";
import {
  asPostgresUser,
  chownToPostgres,
  ensureDir,
  isRoot,
  portInUse,
  run,
  StackError,
  waitUntil,
} from "../process.js";
import type { Settings } from "../settings.js";
import { paths } from "../settings.js";
import type { Component } from "./component.js";
import { postgresBin } from "./prerequisites.js";

/** A psql meta-command argument: single-quoted, with quotes and backslashes escaped. */
const psqlQuoted = (value: string) => `'${value.replaceAll("\\", "\\\\").replaceAll("'", "\\'")}'`;

interface ClusterOptions {
  name: string;
  port: number;
  settings: Settings;
  /** postgresql.conf lines beyond port and listen address. */
  config: string[];
  /** pg_hba.conf lines beyond the superuser's. */
  hba: string[];
  /** Runs after every start: idempotent set-up (roles, databases, slots). */
  initialise?: (cluster: PostgresCluster) => Promise<void>;
  /** Creates the data directory instead of initdb (the replica's pg_basebackup). */
  create?: (cluster: PostgresCluster) => Promise<void>;
}

/** A PostgreSQL server of the stack, run with pg_ctl from its own data directory under the run directory. */
export class PostgresCluster implements Component {
  readonly name: string;
  readonly address: string;
  readonly logFile: string;
  readonly dataDir: string;
  readonly socketDir: string;

  constructor(private readonly options: ClusterOptions) {
    const p = paths(options.settings);
    this.name = options.name;
    this.address = `127.0.0.1:${options.port}`;
    this.logFile = p.log(options.name);
    this.dataDir = p.data(options.name);
    this.socketDir = join(p.run, "sockets");
  }

  get port(): number {
    return this.options.port;
  }

  /** Its postgresql.conf lines beyond port and listen address. */
  get config(): string[] {
    return this.options.config;
  }

  /** Its pg_hba.conf lines beyond the superuser's. */
  get hba(): string[] {
    return this.options.hba;
  }

  url(database = "postgres", user = "postgres", password = this.options.settings.POSTGRES_SUPERUSER_PASSWORD): string {
    return `postgresql://${encodeURIComponent(user)}:${encodeURIComponent(password)}@127.0.0.1:${this.options.port}/${database}`;
  }

  /**
   * Runs a SQL file with psql as the superuser, with psql variables (`:'name'` in the file). The
   * password goes in the environment and the variables on standard input: a command line is
   * visible to every user of the machine, and they are passwords. So is an error, so they are
   * masked there.
   */
  async psqlFile(file: string, variables: Record<string, string>, database = "postgres"): Promise<void> {
    const connection = ["-h", "127.0.0.1", "-p", String(this.options.port), "-U", "postgres", "-d", database];
    const script = [
      ...Object.entries(variables).map(([name, value]) => `\\set ${name} ${psqlQuoted(value)}`),
      `\\i ${psqlQuoted(file)}`,
    ].join("\n");
    await run(postgresBin("psql"), ["-X", "-q", "-v", "ON_ERROR_STOP=1", ...connection], {
      env: { ...process.env, PGPASSWORD: this.options.settings.POSTGRES_SUPERUSER_PASSWORD },
      input: script,
    }).catch((error: Error) => {
      const secrets = Object.values(variables);
      throw new Error(secrets.reduce((message, secret) => message.replaceAll(secret, "[redacted]"), error.message));
    });
  }

  async query<T extends pg.QueryResultRow>(sql: string, params: unknown[] = [], database = "postgres"): Promise<T[]> {
    const client = new pg.Client({ connectionString: this.url(database), connectionTimeoutMillis: 2000 });
    await client.connect();
    try {
      return (await client.query<T>(sql, params)).rows;
    } finally {
      await client.end();
    }
  }

  async isRunning(): Promise<boolean> {
    if (!existsSync(join(this.dataDir, "PG_VERSION"))) return false;
    const [command, args] = asPostgresUser(postgresBin("pg_ctl"), ["status", "-D", this.dataDir]);
    return run(command, args).then(
      () => true,
      () => false,
    );
  }

  async isReady(): Promise<boolean> {
    return this.query("SELECT 1").then(
      () => true,
      () => false,
    );
  }

  async start(): Promise<void> {
    if (await portInUse(this.options.port)) {
      throw new StackError(this.name, `port ${this.options.port} is already in use by another process`);
    }
    const fresh = !existsSync(join(this.dataDir, "PG_VERSION"));
    if (fresh) await this.create();
    await chmod(this.dataDir, 0o700);
    // Rewritten at every start, so a stack made by an older version gets today's access rules.
    const hba = [
      "local all postgres scram-sha-256",
      "host all postgres 127.0.0.1/32 scram-sha-256",
      ...this.options.hba,
    ];
    await writeFile(join(this.dataDir, "pg_hba.conf"), `${hba.join("\n")}\n`);
    await chownToPostgres(join(this.dataDir, "pg_hba.conf"));
    await appendFile(this.logFile, "");
    await chownToPostgres(this.logFile);
    const [command, args] = asPostgresUser(postgresBin("pg_ctl"), [
      "start",
      "-D",
      this.dataDir,
      "-l",
      this.logFile,
      "-w",
      "-t",
      "60",
    ]);
    await run(command, args).catch((error: Error) => {
      throw new StackError(this.name, error.message, this.logFile);
    });
    await waitUntil(this.name, "connections", () => this.isReady(), { timeoutMs: 30_000, logFile: this.logFile });
    await this.options.initialise?.(this).catch((error: Error) => {
      throw new StackError(this.name, `set-up failed: ${error.message}`, this.logFile);
    });
  }

  async stop(): Promise<void> {
    if (!(await this.isRunning())) return;
    const [command, args] = asPostgresUser(postgresBin("pg_ctl"), [
      "stop",
      "-D",
      this.dataDir,
      "-m",
      "fast",
      "-w",
      "-t",
      "60",
    ]);
    // A postmaster that was dying as we looked (kill -9) leaves its pid file behind, and pg_ctl calls
    // that "does not shut down"; it is stopped all the same, and the next start clears the file.
    await run(command, args).catch(async (error: unknown) => {
      if (await this.isRunning()) throw error;
    });
  }

  private async create(): Promise<void> {
    await ensureDir(this.socketDir);
    await chownToPostgres(this.socketDir);
    await rm(this.dataDir, { recursive: true, force: true });
    await ensureDir(this.dataDir);
    await chownToPostgres(this.dataDir);
    try {
      if (this.options.create) {
        await this.options.create(this);
      } else {
        const pwfile = join(this.socketDir, `${this.name}.pw`);
        await writeFile(pwfile, `${this.options.settings.POSTGRES_SUPERUSER_PASSWORD}\n`, { mode: 0o600 });
        await chownToPostgres(pwfile);
        const [command, args] = asPostgresUser(postgresBin("initdb"), [
          "-D",
          this.dataDir,
          "-U",
          "postgres",
          `--pwfile=${pwfile}`,
          "--auth=scram-sha-256",
          "-E",
          "UTF8",
          "--locale=C.UTF-8",
        ]);
        await run(command, args).finally(() => rm(pwfile, { force: true }));
      }
      await appendFile(
        join(this.dataDir, "postgresql.auto.conf"),
        [
          `port = ${this.options.port}`,
          "listen_addresses = '127.0.0.1'",
          `unix_socket_directories = '${this.socketDir}'`,
          ...this.options.config,
          "",
        ].join("\n"),
      );
      if (isRoot()) await run("chown", ["-R", "postgres:postgres", this.dataDir]);
    } catch (error) {
      // Leave nothing half-made: the next start initialises again from scratch.
      await rm(this.dataDir, { recursive: true, force: true });
      throw new StackError(this.name, `initialisation failed: ${(error as Error).message}`, this.logFile);
    }
  }
}
