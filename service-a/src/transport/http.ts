import net from "node:net";
import { MAX_MESSAGE_BYTES } from "@sum/contract";
import {
  AppError,
  answerMalformedRequest,
  answerUnrouted,
  frameworkErrors,
  registerApi,
  sendError,
} from "@sum/service-kit";
import Fastify, { type FastifyBaseLogger, type FastifyInstance, LogController } from "fastify";
import type { Logger } from "pino";
import type { SumCommand, SumReceipt } from "../domain/calculate-sum.js";
import type { ServiceMetrics } from "../metrics.js";
import { API_DESCRIPTION, healthzSchema, readyzSchema, SUMS_TAG, sumSchema } from "./http-schemas.js";
import { parseJsonObject } from "./json-body.js";

/**
 * How long an idle keep-alive connection stays open, advertised to clients as `Keep-Alive: timeout=5`.
 * Clients close their idle connections before this (nginx's upstream keepalive_timeout is shorter),
 * so the server never closes a connection on which a request may be on its way.
 */
export const KEEP_ALIVE_TIMEOUT_MS = 5000;

export interface HttpDeps {
  calculateSum: (command: SumCommand) => Promise<SumReceipt>;
  /** Why the instance should get no sums now, or undefined when it is ready. */
  whyNotReady: () => Promise<string | undefined>;
  metrics: ServiceMetrics;
  logger: Logger;
  serviceId: string;
}

/** Fastify's own errors, mapped to the contract's codes instead of its default bodies. */
const FASTIFY_ERRORS: Record<string, AppError> = {
  FST_ERR_CTP_BODY_TOO_LARGE: new AppError(
    "PAYLOAD_TOO_LARGE",
    `request body is larger than ${MAX_MESSAGE_BYTES} bytes`,
  ),
  FST_ERR_CTP_INVALID_MEDIA_TYPE: new AppError("UNSUPPORTED_MEDIA_TYPE", "Content-Type must be application/json"),
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: new AppError("INVALID_ARGUMENT", "Content-Length does not match the body"),
  FST_ERR_CTP_EMPTY_TYPE: new AppError("UNSUPPORTED_MEDIA_TYPE", "Content-Type must be application/json"),
};

function receiptBody(receipt: SumReceipt) {
  return {
    result: Number(receipt.result),
    a: Number(receipt.a),
    b: Number(receipt.b),
    event_id: receipt.eventId,
    service_id: receipt.serviceId,
    timestamp: receipt.timestamp.toISOString(),
  };
}

function header(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

export function buildHttpServer(deps: HttpDeps): FastifyInstance {
  const app = Fastify({
    loggerInstance: deps.logger as FastifyBaseLogger,
    // One log line per request is too many at thousands per second; errors are logged below.
    logController: new LogController({ disableRequestLogging: true }),
    frameworkErrors,
    bodyLimit: MAX_MESSAGE_BYTES,
    keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS,
    // closeHttp() drains the connections before Fastify closes; nothing reaches Fastify's own 503.
    forceCloseConnections: false,
    return503OnClosing: false,
    clientErrorHandler: answerMalformedRequest,
  });

  app.removeAllContentTypeParsers();
  app.addContentTypeParser("application/json", { parseAs: "string" }, (_request, body, done) => {
    try {
      done(null, parseJsonObject(body as string));
    } catch (error) {
      done(error as Error, undefined);
    }
  });

  // Once the instance stops listening (closeHttp), each connection closes after its next answer.
  // Callback-style hooks: an async one costs a promise per request.
  app.addHook("onSend", (_request, reply, payload, done) => {
    if (!app.server.listening) reply.header("Connection", "close");
    done(null, payload);
  });

  app.addHook("onResponse", (request, reply, done) => {
    const route = request.routeOptions.url ?? "unmatched";
    const labels = { transport: "http", route: `${request.method} ${route}`, status: String(reply.statusCode) };
    deps.metrics.requests.inc(labels);
    deps.metrics.requestDuration.observe(labels, reply.elapsedTime / 1000);
    done();
  });

  answerUnrouted(app, { fastifyErrors: FASTIFY_ERRORS });

  registerApi(app, {
    title: "Service A",
    description: API_DESCRIPTION,
    tags: [SUMS_TAG],
    metrics: deps.metrics.registry,
    routes: (api) => {
      api.post(
        "/sum",
        {
          schema: sumSchema,
          // The body's schema documents it; parseOperand judges each operand exactly as written, which a
          // JSON Schema validator cannot (9007199254740991.4 parses as an integer), so nothing else validates it.
          validatorCompiler: () => () => true,
        },
        async (request, reply) => {
          const body = request.body;
          if (body === undefined || body === null) {
            throw new AppError(
              "INVALID_ARGUMENT",
              'request body is empty; expected a JSON object such as {"a": 1, "b": 2}',
            );
          }
          const fields = body as Record<string, unknown>;
          const receipt = await deps.calculateSum({
            a: fields.a,
            b: fields.b,
            idempotencyKey: header(request.headers["idempotency-key"]),
            traceparent: header(request.headers.traceparent),
          });
          reply.header("X-Service-ID", receipt.serviceId);
          if (receipt.replayed) reply.header("Idempotent-Replayed", "true");
          return receiptBody(receipt);
        },
      );

      api.get("/healthz", { schema: healthzSchema }, async () => ({ status: "alive", service_id: deps.serviceId }));

      api.get("/readyz", { schema: readyzSchema }, async (_request, reply) => {
        const reason = await deps.whyNotReady();
        if (reason === undefined) return { status: "ready", service_id: deps.serviceId };
        return sendError(reply, new AppError("UNAVAILABLE", reason));
      });
    },
  });

  return app;
}

/**
 * Graceful stop without resetting a request: stop accepting connections, then let each open one
 * end by itself. A busy connection closes after its answer (`Connection: close`); an idle one, at
 * its keep-alive timeout, which clients know and stay clear of. So a request already on its way over
 * a kept-alive connection is answered, never reset. What is still open after `timeoutMs` is cut.
 */
export async function closeHttp(app: FastifyInstance, timeoutMs: number): Promise<void> {
  await new Promise<void>((resolve) => {
    const deadline = setTimeout(() => app.server.closeAllConnections(), timeoutMs);
    // net.Server's own close: unlike http.Server's, it leaves idle keep-alive connections open.
    net.Server.prototype.close.call(app.server, () => {
      clearTimeout(deadline);
      resolve();
    });
  });
  await app.close();
}
