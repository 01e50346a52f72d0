export { type GrpcOutcome, PROTO_FILE, type SummationClient, type SumReply, summationClient } from "./grpc-client.js";
export { TemporaryKafka } from "./kafka.js";
export { freePort } from "./ports.js";
export { type PostgresOptions, postgresBinDir, TemporaryPostgres } from "./postgres.js";
