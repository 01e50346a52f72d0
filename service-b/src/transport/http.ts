import Fastify, { type FastifyBaseLogger, type FastifyInstance, LogController } from "fastify";
import type { Logger } from "pino";
import type { ServiceMetrics } from "../metrics.js";

export interface TotalView {
  total: string;
  events_applied: number;
  updated_at: string | null;
  source: "replica" | "leader";
  replica_lag_seconds: number | null;
}

export interface EventView {
  event_id: string;
  result: number;
  applied_at: string;
}

export interface HttpDeps {
  readTotal: (consistency: "eventual" | "strong") => Promise<TotalView>;
  findEvent: (eventId: string, consistency: "eventual" | "strong") => Promise<EventView | undefined>;
  /** Why the service is not ready, or undefined when it is. */
  whyNotReady: () => Promise<string | undefined>;
  metrics: ServiceMetrics;
  logger: Logger;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

const unavailable = {
  error: { code: "UNAVAILABLE", message: "neither the replica nor the leader can be read; retry later" },
};

export function buildHttpServer(deps: HttpDeps): FastifyInstance {
  const app = Fastify({
    loggerInstance: deps.logger as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: true }),
  });

  app.setNotFoundHandler((request, reply) =>
    reply.code(404).send({ error: { code: "NOT_FOUND", message: `no route for ${request.method} ${request.url}` } }),
  );
  app.setErrorHandler((error, request, reply) => {
    request.log.warn({ err: error }, "request failed");
    return reply.code(503).header("Retry-After", "1").send(unavailable);
  });

  const consistency = (query: unknown) =>
    (query as { consistency?: string }).consistency === "strong" ? ("strong" as const) : ("eventual" as const);

  // Seed-compatible: the body is a bare JSON number, written exactly (it may exceed 2^53).
  app.get("/api/summation", async (request, reply) => {
    const view = await deps.readTotal(consistency(request.query));
    return reply.header("content-type", "application/json").send(view.total);
  });

  app.get("/api/total", async (request) => deps.readTotal(consistency(request.query)));

  // Whether one event was applied: how a client (or make test-workflow) checks its own events.
  app.get("/api/events/:id", async (request, reply) => {
    const { id } = request.params as { id: string };
    if (!UUID.test(id)) {
      return reply.code(400).send({ error: { code: "INVALID_ARGUMENT", message: "the event id must be a UUID" } });
    }
    const event = await deps.findEvent(id, consistency(request.query));
    if (event) return event;
    return reply.code(404).send({ error: { code: "NOT_FOUND", message: `event ${id} has not been applied` } });
  });

  app.get("/healthz", async () => ({ status: "alive" }));

  app.get("/readyz", async (_request, reply) => {
    const reason = await deps.whyNotReady();
    if (reason === undefined) return { status: "ready" };
    return reply
      .code(503)
      .header("Retry-After", "1")
      .send({ error: { code: "UNAVAILABLE", message: `not ready: ${reason}` } });
  });

  app.get("/metrics", async (_request, reply) => {
    reply.header("Content-Type", deps.metrics.registry.contentType);
    return deps.metrics.registry.metrics();
  });

  return app;
}
