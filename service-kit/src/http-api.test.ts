import { openApiErrors, spectralFindings } from "@sum/test-support";
import Fastify from "fastify";
import { afterAll, beforeAll, expect, it } from "vitest";
import { registerApi } from "./http-api.js";
import { healthzSchema, readyzSchema } from "./openapi.js";

// An API of service-kit's routes alone, as the reconciler's is; Service A's and Service B's own
// routes are linted in their http tests.
const app = Fastify();
let document: object;

beforeAll(async () => {
  registerApi(app, {
    title: "Probes only",
    description: "Liveness, readiness, metrics and this document",
    tags: [],
    metrics: { contentType: "text/plain; version=0.0.4", metrics: async () => "" },
    routes: (api) => {
      api.get("/healthz", { schema: healthzSchema }, async () => ({ status: "alive" }));
      api.get("/readyz", { schema: readyzSchema("Ready") }, async () => ({ status: "ready" }));
    },
  });
  document = (await app.inject({ method: "GET", url: "/openapi.json" })).json();
});

afterAll(() => app.close());

it("makes a valid OpenAPI document that Spectral's spectral:oas ruleset finds nothing in, HEAD routes included", async () => {
  expect(await openApiErrors(document)).toEqual([]);
  expect(await spectralFindings(document)).toEqual([]);
});
