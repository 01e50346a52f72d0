import {
  AppError,
  answerMalformedRequest,
  frameworkErrors,
  healthzSchema,
  httpErrorHandler,
  readyzSchema,
  registerApi,
  sendError,
} from "@sum/service-kit";
import Fastify, { type FastifyBaseLogger, LogController } from "fastify";
import type { Logger } from "pino";
import type { ReconcilerMetrics } from "../metrics.js";

const readyz = readyzSchema("Readiness: the last look at the outbox, Kafka and Service B's database succeeded");

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
    description:
      "Compares, a minute at a time, the events the outbox acknowledged with those Service B applied, and " +
      "sends missing ones again through the outbox; this API has its probes and metrics.",
    tags: [],
    metrics: deps.metrics.registry,
    routes: (api) => {
      api.get("/healthz", { schema: healthzSchema }, async () => ({ status: "alive" }));
      api.get("/readyz", { schema: readyz }, async (_request, reply) => {
        const reason = deps.whyNotReady();
        if (reason === undefined) return { status: "ready" };
        return sendError(reply, new AppError("UNAVAILABLE", `not ready: ${reason}`));
      });
    },
  });
  return app;
}
