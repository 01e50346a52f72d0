import {
  AppError,
  answerMalformedRequest,
  answerUnrouted,
  frameworkErrors,
  healthzSchema,
  registerApi,
  sendError,
} from "@sum/service-kit";
import Fastify, { type FastifyBaseLogger, type FastifyInstance, LogController } from "fastify";
import type { Logger } from "pino";
import type { ServiceMetrics } from "../../metrics.js";
import {
  API_DESCRIPTION,
  EVENTS_TAG,
  eventSchema,
  readyzSchema,
  summationSchema,
  TOTALS_TAG,
  totalSchema,
} from "./http-schemas.js";

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

/** The query the read routes' schema validates (consistency defaults to eventual). */
type ConsistencyQuery = { consistency: Consistency };

export function buildHttpServer(deps: HttpDeps): FastifyInstance {
  const app = Fastify({
    loggerInstance: deps.logger as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: true }),
    frameworkErrors,
    clientErrorHandler: answerMalformedRequest,
  });

  answerUnrouted(app);

  registerApi(app, {
    title: "Service B",
    description: API_DESCRIPTION,
    tags: [TOTALS_TAG, EVENTS_TAG],
    metrics: deps.metrics.registry,
    routes: (api) => {
      // Seed-compatible: the body is a bare JSON number, written exactly (it may exceed 2^53).
      api.get<{ Querystring: ConsistencyQuery }>(
        "/api/summation",
        { schema: summationSchema },
        async (request, reply) => {
          const view = await deps.readTotal(request.query.consistency);
          return reply.header("content-type", "application/json").send(view.total);
        },
      );

      api.get<{ Querystring: ConsistencyQuery }>("/api/total", { schema: totalSchema }, async (request) =>
        deps.readTotal(request.query.consistency),
      );

      // Whether one event was applied: how a client (or make test-workflow) checks its own events.
      api.get<{ Params: { id: string }; Querystring: ConsistencyQuery }>(
        "/api/events/:id",
        { schema: eventSchema },
        async (request) => {
          const { id } = request.params;
          const event = await deps.findEvent(id, request.query.consistency);
          if (event) return event;
          throw new AppError("NOT_FOUND", `event ${id} has not been applied`);
        },
      );

      api.get("/healthz", { schema: healthzSchema }, async () => ({ status: "alive" }));

      api.get("/readyz", { schema: readyzSchema }, async (_request, reply) => {
        const reason = await deps.whyNotReady();
        if (reason === undefined) return { status: "ready" };
        return sendError(reply, new AppError("UNAVAILABLE", `not ready: ${reason}`));
      });
    },
  });

  return app;
}
