export { installedPostgresBinDir, postgresBinDir } from "./programs.js";
export { PostgresServer, type PostgresServerOptions } from "./server.js";
export { OUTBOX_SLOT, REPLICA_SLOT, REPLICATION_ROLE, SQL_DIR, SQL_FILES } from "./sql.js";
export { configQuoted, type Primary, standbyConfig } from "./standby.js";
