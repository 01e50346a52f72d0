// The stack's PostgreSQL set-up, for tests that set a server up as the stack does.
export { OUTBOX_SLOT, postgresBinDir, SQL_FILES } from "@sum/postgres";
export { ASYNCAPI_FILE, asyncApiValidators, type MessageValidators } from "./asyncapi.js";
export { grpcFrame, http2Connection, type RawCall, type RawOutcome, rawCalculateSum } from "./http2-streams.js";
export {
  fetchNonConformance,
  type LiveResponse,
  nonConformance,
  type OpenApiDocument,
  openApiErrors,
} from "./openapi.js";
export { type OtlpReceiver, otlpReceiver } from "./otlp-receiver.js";
export { type PostgresOptions, TemporaryPostgres } from "./postgres.js";
export { rawHttpExchange } from "./raw-http.js";
export { type RecordingBin, recordingPostgresBin } from "./recording-bin.js";
export { spectralFindings } from "./spectral.js";
