import fastifySwagger from "@fastify/swagger";
import Fastify, {
  type FastifyBaseLogger,
  type FastifyError,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
  LogController,
} from "fastify";
import type { Logger } from "pino";
import type { ServiceMetrics } from "../metrics.js";
import {
  type ErrorCode,
  eventSchema,
  healthzSchema,
  metricsSchema,
  openApiSchema,
  readyzSchema,
  summationSchema,
  totalSchema,
} from "./http-schemas.js";
import { answerMalformedRequest } from "./malformed-request.js";

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

type Consistency = { consistency: "eventual" | "strong" };

const UNAVAILABLE_MESSAGE = "neither the replica nor the leader can be read; retry later";

function sendError(reply: FastifyReply, status: number, code: ErrorCode, message: string): FastifyReply {
  return reply.code(status).send({ error: { code, message } });
}

/**
 * The methods answered on the path of `url`, as the routes were declared (HEAD with each GET), or
 * undefined when no route has that path.
 */
function allowedMethods(app: FastifyInstance): (url: string) => string | undefined {
  const routes: Array<{ path: RegExp; methods: string[] }> = [];
  app.addHook("onRoute", (route) => {
    const pattern = route.url.replace(/[.]/g, "\\.").replace(/:[^/]+/g, "[^/]+");
    // Fastify answers HEAD for each GET without declaring a route for it.
    const methods = [route.method].flat().flatMap((method) => (method === "GET" ? ["GET", "HEAD"] : [method]));
    const known = routes.find((r) => r.path.source === `^${pattern}$`);
    if (known) known.methods.push(...methods);
    else routes.push({ path: new RegExp(`^${pattern}$`), methods });
  });
  return (url) => routes.find((r) => r.path.test(url.split("?")[0] ?? ""))?.methods.join(", ");
}

export function buildHttpServer(deps: HttpDeps): FastifyInstance {
  const app = Fastify({
    loggerInstance: deps.logger as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: true }),
    clientErrorHandler: answerMalformedRequest,
  });

  const allowed = allowedMethods(app);
  const notFound = (request: FastifyRequest, reply: FastifyReply) => {
    const allow = allowed(request.url);
    if (allow) {
      return sendError(
        reply.header("Allow", allow),
        405,
        "METHOD_NOT_ALLOWED",
        `${request.method} is not allowed here; use ${allow}`,
      );
    }
    return sendError(reply, 404, "NOT_FOUND", `no route for ${request.method} ${request.url}`);
  };
  app.setNotFoundHandler(notFound);
  app.setErrorHandler((error: FastifyError, request, reply) => {
    // No route matched (a QUERY without Content-Type fails while its body is read): 405 or 404 all the same.
    if (request.is404) return notFound(request, reply);
    // Fastify's own client errors (a query out of its schema) are the client's, not a failure to read.
    if (error.statusCode !== undefined && error.statusCode < 500) {
      return sendError(reply, 400, "INVALID_ARGUMENT", error.message);
    }
    request.log.warn({ err: error }, "request failed");
    return sendError(reply.header("Retry-After", "1"), 503, "UNAVAILABLE", UNAVAILABLE_MESSAGE);
  });

  // GET /openapi.json is made from the route schemas; HEAD routes are in it, as they are answered.
  app.register(fastifySwagger, {
    openapi: { openapi: "3.1.0", info: { title: "Service B", version: "1" } },
    exposeHeadRoutes: true,
  });
  app.register(async (api) => {
    // Seed-compatible: the body is a bare JSON number, written exactly (it may exceed 2^53).
    api.get<{ Querystring: Consistency }>("/api/summation", { schema: summationSchema }, async (request, reply) => {
      const view = await deps.readTotal(request.query.consistency);
      return reply.header("content-type", "application/json").send(view.total);
    });

    api.get<{ Querystring: Consistency }>("/api/total", { schema: totalSchema }, async (request) =>
      deps.readTotal(request.query.consistency),
    );

    // Whether one event was applied: how a client (or make test-workflow) checks its own events.
    api.get<{ Params: { id: string }; Querystring: Consistency }>(
      "/api/events/:id",
      { schema: eventSchema },
      async (request, reply) => {
        const { id } = request.params;
        const event = await deps.findEvent(id, request.query.consistency);
        if (event) return event;
        return sendError(reply, 404, "NOT_FOUND", `event ${id} has not been applied`);
      },
    );

    api.get("/healthz", { schema: healthzSchema }, async () => ({ status: "alive" }));

    api.get("/readyz", { schema: readyzSchema }, async (_request, reply) => {
      const reason = await deps.whyNotReady();
      if (reason === undefined) return { status: "ready" };
      return sendError(reply.header("Retry-After", "1"), 503, "UNAVAILABLE", `not ready: ${reason}`);
    });

    api.get("/metrics", { schema: metricsSchema }, async (_request, reply) => {
      reply.header("Content-Type", deps.metrics.registry.contentType);
      return deps.metrics.registry.metrics();
    });

    api.get("/openapi.json", { schema: openApiSchema }, async (_request, reply) =>
      reply.type("application/json").send(JSON.stringify(api.swagger())),
    );
  });

  return app;
}
