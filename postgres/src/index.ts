export { installedPostgresBinDir, postgresBinDir } from "./programs.js";
export { PostgresServer, type PostgresServerOptions, type Primary } from "./server.js";
export { OUTBOX_SLOT, REPLICA_SLOT, REPLICATION_ROLE, SQL_FILES } from "./sql.js";
