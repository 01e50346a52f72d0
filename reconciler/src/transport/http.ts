import {
  AppError,
  answerMalformedRequest,
  frameworkErrors,
  httpErrorHandler,
  registerApi,
  sendError,
} from "@sum/service-kit";
import Fastify, { type FastifyBaseLogger, LogController } from "fastify";
import type { Logger } from "pino";
import type { ReconcilerMetrics } from "../metrics.js";

const healthzSchema = {
  summary: "Liveness",
  response: {
    200: {
      description: "The process is alive",
      type: "object",
      required: ["status"],
      additionalProperties: false,
      properties: { status: { type: "string", enum: ["alive"] } },
    },
  },
};

const readyzSchema = {
  summary: "Readiness: the last look at the outbox, Kafka and Service B's database succeeded",
  response: {
    200: {
      description: "Ready",
      type: "object",
      required: ["status"],
      additionalProperties: false,
      properties: { status: { type: "string", enum: ["ready"] } },
    },
  },
};

/** The reconciler's HTTP: liveness, readiness and its metrics, for the stacks and Prometheus. */
export function buildHttpServer(deps: {
  whyNotReady: () => string | undefined;
  metrics: ReconcilerMetrics;
  logger: Logger;
}) {
  const app = Fastify({
    loggerInstance: deps.logger as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: true }),
    frameworkErrors,
    clientErrorHandler: answerMalformedRequest,
  });
  const notFound = (request: { method: string; url: string }, reply: Parameters<typeof sendError>[0]) =>
    sendError(reply, new AppError("NOT_FOUND", `no route for ${request.method} ${request.url}`));
  app.setNotFoundHandler(notFound);
  app.setErrorHandler(httpErrorHandler({ notFound }));
  registerApi(app, {
    title: "Reconciler",
    metrics: deps.metrics.registry,
    routes: (api) => {
      api.get("/healthz", { schema: healthzSchema }, async () => ({ status: "alive" }));
      api.get("/readyz", { schema: readyzSchema }, async (_request, reply) => {
        const reason = deps.whyNotReady();
        if (reason === undefined) return { status: "ready" };
        return sendError(reply, new AppError("UNAVAILABLE", `not ready: ${reason}`));
      });
    },
  });
  return app;
}
