import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { configQuoted, PostgresServer, type Primary, standbyConfig } from "@sum/postgres";
import { isAlive, requireFreePorts, run as runProgram, StackError } from "../process.js";
import { preparePostgresRoot } from "../run-dir.js";
import type { Settings } from "../settings.js";
import { paths } from "../settings.js";
import type { Component } from "./component.js";

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
  /** A hot standby of this primary (the replica), made by a base backup of it instead of initdb. */
  standby?: Primary;
}

/** A PostgreSQL server of the stack, in its own data directory (see postgresRoot). */
export class PostgresCluster extends PostgresServer implements Component {
  readonly name: string;
  readonly address: string;
  readonly ports: number[];
  private readonly socketDir: string;

  constructor(private readonly cluster: ClusterOptions) {
    const p = paths(cluster.settings);
    super({
      dataDir: p.postgres.data(cluster.name),
      port: cluster.port,
      socketDir: p.postgres.sockets,
      logFile: p.postgres.log(cluster.name),
      superuserPassword: cluster.settings.POSTGRES_SUPERUSER_PASSWORD,
    });
    this.name = cluster.name;
    this.address = `127.0.0.1:${cluster.port}`;
    this.ports = [cluster.port];
    this.socketDir = p.postgres.sockets;
  }

  /** Its postgresql.conf lines beyond port and listen address. */
  get config(): string[] {
    return this.cluster.config;
  }

  /** Its pg_hba.conf lines beyond the superuser's. */
  get hba(): string[] {
    return this.cluster.hba;
  }

  /**
   * A cluster an older runner made in the run directory, as root (before PostgreSQL's own directory
   * moved out of it, see postgresRoot): stopped if it runs there, then moved to its place, its data kept.
   */
  async adoptFormerDataDir(): Promise<void> {
    const run = this.cluster.settings.RUN_DIR;
    const former = join(run, "data", this.name);
    if (former === this.dataDir || this.exists() || !existsSync(join(former, "PG_VERSION"))) return;
    const { port, logFile, superuserPassword } = this;
    const server = new PostgresServer({
      dataDir: former,
      port,
      socketDir: join(run, "sockets"),
      logFile,
      superuserPassword,
    });
    await server.stop().catch((error: Error) => {
      throw new StackError(this.name, `stopping it in its former place ${former} failed: ${error.message}`);
    });
    // Never move the files of a server still running (one pg_ctl could not see).
    const pidFile = join(former, "postmaster.pid");
    const pid = existsSync(pidFile) ? Number(readFileSync(pidFile, "utf8").split("\n")[0]) : undefined;
    if (pid !== undefined && isAlive(pid)) {
      throw new StackError(
        this.name,
        `it still runs from its former place ${former} (pid ${pid}): stop it, then start again`,
      );
    }
    await preparePostgresRoot(run);
    // A rename where it can, a copy then a removal across file systems.
    await runProgram("mv", [former, this.dataDir]);
    await this.prepareSocketDir();
  }

  override async start(): Promise<void> {
    await requireFreePorts(this.name, this.ports);
    await preparePostgresRoot(this.cluster.settings.RUN_DIR);
    await this.adoptFormerDataDir();
    const { standby } = this.cluster;
    if (!this.exists()) {
      const create = standby ? this.copyOf(standby, this.config) : this.initdb(this.config, { durable: true });
      await create.catch((error: Error) => {
        throw new StackError(this.name, `initialisation failed: ${error.message}`, this.logFile);
      });
    } else if (standby === undefined) {
      // Set at every start, as the other roles' are in `initialise`: a stack made before .env had
      // random passwords (with the former well-known ones) takes the new ones, and keeps working.
      await this.setSuperuserPassword().catch((error: Error) => {
        throw new StackError(this.name, `setting the superuser's password failed: ${error.message}`, this.logFile);
      });
    }
    // Rewritten at every start: the socket's place (a data directory moved there keeps working) and
    // the replica's login to its primary (the replication password may have changed since the copy).
    await this.setConfig([
      `unix_socket_directories = ${configQuoted(this.socketDir)}`,
      ...(standby ? standbyConfig(standby) : []),
    ]);
    // Rewritten at every start, so a stack made by an older version gets today's access rules.
    await this.writeHba([
      "local all postgres scram-sha-256",
      "host all postgres 127.0.0.1/32 scram-sha-256",
      ...this.hba,
    ]);
    await super.start().catch((error: Error) => {
      throw new StackError(this.name, error.message, this.logFile);
    });
    await this.cluster.initialise?.(this).catch((error: Error) => {
      throw new StackError(this.name, `set-up failed: ${error.message}`, this.logFile);
    });
  }
}
