import { AppError, frameworkErrors, httpErrorHandler, sendError } from "@sum/service-kit";
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

export type Consistency = "eventual" | "strong";

export interface HttpDeps {
  readTotal: (consistency: Consistency) => Promise<TotalView>;
  findEvent: (eventId: string, consistency: Consistency) => Promise<EventView | undefined>;
  /** Why the service is not ready, or undefined when it is. */
  whyNotReady: () => Promise<string | undefined>;
  metrics: ServiceMetrics;
  logger: Logger;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** The `consistency` query parameter: eventual (the default) or strong; anything else is a bad request. */
function consistency(query: unknown): Consistency {
  const { consistency = "eventual" } = query as { consistency?: unknown };
  if (consistency === "eventual" || consistency === "strong") return consistency;
  throw new AppError("INVALID_ARGUMENT", 'consistency must be "eventual" or "strong"');
}

export function buildHttpServer(deps: HttpDeps): FastifyInstance {
  const app = Fastify({
    loggerInstance: deps.logger as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: true }),
    frameworkErrors,
  });

  app.setNotFoundHandler((request, reply) =>
    sendError(reply, new AppError("NOT_FOUND", `no route for ${request.method} ${request.url}`)),
  );
  app.setErrorHandler(httpErrorHandler());

  // Seed-compatible: the body is a bare JSON number, written exactly (it may exceed 2^53).
  app.get("/api/summation", async (request, reply) => {
    const view = await deps.readTotal(consistency(request.query));
    return reply.header("content-type", "application/json").send(view.total);
  });

  app.get("/api/total", async (request) => deps.readTotal(consistency(request.query)));

  // Whether one event was applied: how a client (or make test-workflow) checks its own events.
  app.get("/api/events/:id", async (request) => {
    const { id } = request.params as { id: string };
    if (!UUID.test(id)) throw new AppError("INVALID_ARGUMENT", "the event id must be a lowercase UUID");
    const event = await deps.findEvent(id, consistency(request.query));
    if (event) return event;
    throw new AppError("NOT_FOUND", `event ${id} has not been applied`);
  });

  app.get("/healthz", async () => ({ status: "alive" }));

  app.get("/readyz", async (_request, reply) => {
    const reason = await deps.whyNotReady();
    if (reason === undefined) return { status: "ready" };
    return sendError(reply, new AppError("UNAVAILABLE", `not ready: ${reason}`));
  });

  app.get("/metrics", async (_request, reply) => {
    reply.header("Content-Type", deps.metrics.registry.contentType);
    return deps.metrics.registry.metrics();
  });

  return app;
}
