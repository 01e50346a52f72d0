import type { Socket } from "node:net";
import type { FastifyError, FastifyReply, FastifyRequest } from "fastify";
import { ERROR_STATUS } from "./error-status.js";
import { AppError } from "./errors.js";

/** An error's answer: its status, `Retry-After` where a retry can help, and the contract's body. */
export function sendError(reply: FastifyReply, error: AppError): FastifyReply {
  const { http: status, retryable } = ERROR_STATUS[error.code];
  if (retryable) reply.header("Retry-After", "1");
  return reply.code(status).send({ error: { code: error.code, message: error.message } });
}

/**
 * Fastify's error handler for a service: an AppError answers with its code; one of Fastify's own
 * errors with its code in `fastifyErrors`, else any request Fastify refused (a bad URL, a bad header)
 * with INVALID_ARGUMENT; anything else is a fault of ours: INTERNAL, logged.
 */
export function httpErrorHandler(options: {
  fastifyErrors?: Record<string, AppError>;
  /** The service's not-found handler (405 with Allow on a known path, else 404). */
  notFound: (request: FastifyRequest, reply: FastifyReply) => FastifyReply;
}) {
  const { fastifyErrors = {}, notFound } = options;
  return (error: FastifyError | AppError, request: FastifyRequest, reply: FastifyReply): FastifyReply => {
    // No route matched (a QUERY without Content-Type fails while its body is read): 405 or 404 all the same.
    if (request.is404) return notFound(request, reply);
    const appError =
      error instanceof AppError
        ? error
        : (fastifyErrors[error.code] ??
          (error.statusCode !== undefined && error.statusCode < 500
            ? new AppError("INVALID_ARGUMENT", error.message)
            : new AppError("INTERNAL", "internal error", { cause: error })));
    if (ERROR_STATUS[appError.code].http >= 500) {
      request.log.warn({ err: error, code: appError.code }, "request failed");
    }
    return sendError(reply, appError);
  };
}

/**
 * Fastify's `frameworkErrors` option: what Fastify refuses before any route or error handler sees
 * the request (a URL that does not decode) answers in the contract's shape too.
 */
export function frameworkErrors(error: FastifyError, _request: FastifyRequest, reply: FastifyReply): void {
  sendError(reply, new AppError("INVALID_ARGUMENT", error.message));
}

const MALFORMED = JSON.stringify({ error: { code: "INVALID_ARGUMENT", message: "malformed HTTP request" } });

/**
 * Fastify's clientErrorHandler: a request Node cannot parse (an unknown method such as FOO, which
 * nginx passes on, or a malformed line) gets the contract's 400 instead of Fastify's own body.
 */
export function answerMalformedRequest(error: Error & { code?: string }, socket: Socket): void {
  if (error.code === "ECONNRESET" || !socket.writable) {
    socket.destroy();
    return;
  }
  socket.end(
    `HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(MALFORMED)}\r\nConnection: close\r\n\r\n${MALFORMED}`,
  );
}
