import fastifySwagger from "@fastify/swagger";
import type { FastifyInstance } from "fastify";
import { type ApiTag, HEALTH_TAG, META_TAG } from "./openapi.js";

/** What GET /metrics serves (prom-client's Registry). */
interface MetricsRegistry {
  contentType: string;
  metrics(): Promise<string>;
}

const metricsSchema = {
  operationId: "getMetrics",
  tags: [META_TAG.name],
  summary: "Prometheus metrics",
  description: "Every metric of the process in Prometheus' text exposition format, for Prometheus to scrape.",
  response: {
    200: { description: "Prometheus text format", content: { "text/plain": { schema: { type: "string" } } } },
  },
};

const openApiSchema = {
  operationId: "getOpenApiDocument",
  tags: [META_TAG.name],
  summary: "This OpenAPI document",
  description: "This OpenAPI 3.1 document, made from the schemas the routes are served with.",
  response: { 200: { description: "OpenAPI 3.1", type: "object", additionalProperties: true } },
};

/**
 * A service's HTTP API: its own routes, then GET /metrics and GET /openapi.json, which
 * @fastify/swagger makes from every route's schema (HEAD routes in it, as they are answered), so the
 * document is the routes' own. Each route's schema names its operation (operationId, tags,
 * description), which client generators make their methods from; a HEAD route's is its GET's with
 * "-head" after the operationId (@fastify/swagger's doing, keeping ids unique). `tags` describes the
 * service's own tags, beside service-kit's (health, meta).
 */
export function registerApi(
  app: FastifyInstance,
  options: {
    title: string;
    description: string;
    tags: ApiTag[];
    metrics: MetricsRegistry;
    routes: (api: FastifyInstance) => void;
  },
): void {
  app.register(fastifySwagger, {
    openapi: {
      openapi: "3.1.0",
      info: {
        title: options.title,
        version: "1",
        description: options.description,
        // The project has no public address; docs/CONTRACT.md in its repository is the contract.
        contact: { name: "sum-pipeline maintainers" },
      },
      // Relative: the host and port the document was fetched from (nginx, or the instance itself).
      servers: [{ url: "/", description: "Where this document is served" }],
      tags: [...options.tags, HEALTH_TAG, META_TAG],
    },
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
