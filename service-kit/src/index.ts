export { type LifecycleConfig, loadConfig } from "./config.js";
export { asAppError, ERROR_STATUS } from "./error-status.js";
export { AppError, type ErrorCode } from "./errors.js";
export { frameworkErrors, httpErrorHandler, sendError } from "./http-errors.js";
export { createLogger, runService, type ServiceDefinition, type StoppableService } from "./run-service.js";
