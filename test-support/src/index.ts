export { freePort } from "./ports.js";
export { type PostgresOptions, postgresBinDir, TemporaryPostgres } from "./postgres.js";
