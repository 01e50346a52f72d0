export { freePort } from "./ports.js";
export { postgresBinDir, TemporaryPostgres, type PostgresOptions } from "./postgres.js";
