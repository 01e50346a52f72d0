import { randomBytes } from "node:crypto";
import { chmod, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PostgresServer, REPLICA_SLOT, REPLICATION_ROLE, SQL_FILES } from "@sum/postgres";
import { freePort } from "@sum/runtime";

export interface PostgresOptions {
  /** Extra postgresql.conf lines, e.g. "wal_level = logical". */
  settings?: string[];
  /** fsync on, as in production (benchmarks). Tests run with it off: they crash processes, not machines. */
  durable?: boolean;
  /**
   * Where its data directory goes, e.g. on a file system of its own (a small tmpfs, to fill its disk):
   * a path that does not exist yet or an empty directory, never a mount point itself (initdb makes it
   * afresh). By default, `data` in its temporary directory. The log and the socket stay there either way.
   */
  dataDir?: string;
}

/** A password of its own: a test's server listens on 127.0.0.1, where any local user may try a known one. */
const randomPassword = () => randomBytes(18).toString("base64url");

/** A directory of its own under the system's temporary one, that the server user can enter. */
async function temporaryDir(prefix: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  await chmod(dir, 0o755);
  return dir;
}

/** A throw-away PostgreSQL server (the stack's runner, PostgresServer) in a temporary directory. */
export class TemporaryPostgres extends PostgresServer {
  private constructor(
    readonly dir: string,
    port: number,
    superuserPassword: string,
    dataDir = join(dir, "data"),
  ) {
    super({ dataDir, port, socketDir: dir, logFile: join(dir, "postgres.log"), superuserPassword });
  }

  static async start(options: PostgresOptions = {}): Promise<TemporaryPostgres> {
    const dir = await temporaryDir("sum-pg-");
    const server = new TemporaryPostgres(dir, await freePort(), randomPassword(), options.dataDir);
    await server.initdb(["max_connections = 200", ...(options.settings ?? [])], { durable: options.durable ?? false });
    await server.start();
    return server;
  }

  /**
   * A hot standby of this server, as the stack's replica: the role and slot of replication.sql, then
   * pg_basebackup and streaming replication as that role through that slot.
   */
  async startReplica(): Promise<TemporaryPostgres> {
    const password = randomPassword();
    await this.psqlFile(SQL_FILES.replication, { replication_password: password });
    // A copy of this server: its superuser's password is this one's.
    const replica = new TemporaryPostgres(
      await temporaryDir("sum-pg-replica-"),
      await freePort(),
      this.superuserPassword,
    );
    await replica.copyOf({ port: this.port, user: REPLICATION_ROLE, password, slot: REPLICA_SLOT }, []);
    await replica.start();
    return replica;
  }

  /** Stops it as a crash would and deletes everything. */
  async destroy(): Promise<void> {
    await this.stop("immediate").catch(() => undefined);
    await rm(this.dataDir, { recursive: true, force: true });
    await rm(this.dir, { recursive: true, force: true });
  }
}
