import fastifySwagger from "@fastify/swagger";
import type { FastifyInstance } from "fastify";

/** What GET /metrics serves (prom-client's Registry). */
interface MetricsRegistry {
  contentType: string;
  metrics(): Promise<string>;
}

const metricsSchema = {
  summary: "Prometheus metrics",
  response: {
    200: { description: "Prometheus text format", content: { "text/plain": { schema: { type: "string" } } } },
  },
};

const openApiSchema = {
  summary: "This OpenAPI document",
  response: { 200: { description: "OpenAPI 3.1", type: "object", additionalProperties: true } },
};

/**
 * A service's HTTP API: its own routes, then GET /metrics and GET /openapi.json, which
 * @fastify/swagger makes from every route's schema (HEAD routes in it, as they are answered), so the
 * document is the routes' own.
 */
export function registerApi(
  app: FastifyInstance,
  options: { title: string; metrics: MetricsRegistry; routes: (api: FastifyInstance) => void },
): void {
  app.register(fastifySwagger, {
    openapi: { openapi: "3.1.0", info: { title: options.title, version: "1" } },
    exposeHeadRoutes: true,
  });
  app.register(async (api) => {
    options.routes(api);
    api.get("/metrics", { schema: metricsSchema }, async (_request, reply) => {
      reply.header("Content-Type", options.metrics.contentType);
      return options.metrics.metrics();
    });
    api.get("/openapi.json", { schema: openApiSchema }, async (_request, reply) =>
      reply.type("application/json").send(JSON.stringify(api.swagger())),
    );
  });
}
