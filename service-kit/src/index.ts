export { loadConfig } from "./config.js";
export { asAppError, ERROR_STATUS } from "./error-status.js";
export { AppError } from "./errors.js";
export { frameworkErrors, httpErrorHandler, sendError } from "./http-errors.js";
export { runService } from "./run-service.js";
