export { ASYNCAPI_FILE, asyncApiValidators, type MessageValidators } from "./asyncapi.js";
export { type GrpcOutcome, PROTO_FILE, type SummationClient, type SumReply, summationClient } from "./grpc-client.js";
export { freePort } from "./ports.js";
export { type PostgresOptions, postgresBinDir, TemporaryPostgres } from "./postgres.js";
export { type RecordingBin, recordingPostgresBin } from "./recording-bin.js";
export { requestShapes, type SumRequestShape } from "./request-shapes.js";
export { sleep, waitFor } from "./wait.js";
