export { lifecycleSettings, loadConfig } from "./config.js";
export { asAppError, ERROR_STATUS } from "./error-status.js";
export { AppError, type ErrorCode } from "./errors.js";
export { FailureStreak, READINESS_GRACE_MS } from "./failure-streak.js";
export { registerApi } from "./http-api.js";
export { answerMalformedRequest, frameworkErrors, httpErrorHandler, sendError } from "./http-errors.js";
export {
  checkKafkaSasl,
  KAFKA_SASL_MECHANISMS,
  type KafkaSasl,
  type KafkaSaslConfig,
  kafkaSasl,
  kafkaSaslSchema,
  kafkaSaslSettings,
} from "./kafka-sasl.js";
export { type ApiTag, errorResponse, HEALTH_TAG, healthzSchema, readyzSchema } from "./openapi.js";
export { runService } from "./run-service.js";
export { serviceRoot } from "./service-root.js";
export {
  contextOf,
  otlpEndpointSetting,
  sampledLinks,
  spanContextOf,
  startBatchSpan,
  startTracing,
  type Tracing,
  type TracingConfig,
  traceparentOf,
  tracingSettings,
} from "./tracing.js";
export { answerUnrouted } from "./unrouted.js";
