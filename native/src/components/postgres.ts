import { PostgresServer } from "@sum/postgres";
import { requireFreePorts, StackError } from "../process.js";
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
  /** Makes the data directory instead of initdb (the replica's base backup). */
  create?: (cluster: PostgresCluster) => Promise<void>;
}

/** A PostgreSQL server of the stack, in its own data directory under the run directory. */
export class PostgresCluster extends PostgresServer implements Component {
  readonly name: string;
  readonly address: string;
  readonly ports: number[];

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
  }

  /** Its postgresql.conf lines beyond port and listen address. */
  get config(): string[] {
    return this.cluster.config;
  }

  /** Its pg_hba.conf lines beyond the superuser's. */
  get hba(): string[] {
    return this.cluster.hba;
  }

  override async start(): Promise<void> {
    await requireFreePorts(this.name, this.ports);
    await preparePostgresRoot(this.cluster.settings.RUN_DIR, this.name);
    if (!this.exists()) {
      const create = this.cluster.create?.(this) ?? this.initdb(this.config, { durable: true });
      await create.catch((error: Error) => {
        throw new StackError(this.name, `initialisation failed: ${error.message}`, this.logFile);
      });
    } else if (this.cluster.create === undefined) {
      // Set at every start, as the other roles' are in `initialise`: a stack made before .env had
      // random passwords (with the former well-known ones) takes the new ones, and keeps working.
      await this.setSuperuserPassword().catch((error: Error) => {
        throw new StackError(this.name, `setting the superuser's password failed: ${error.message}`, this.logFile);
      });
    }
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
