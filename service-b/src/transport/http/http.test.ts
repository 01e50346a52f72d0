import {
  nonConformance,
  type OpenApiDocument,
  openApiErrors,
  rawHttpExchange,
  spectralFindings,
} from "@sum/test-support";
import type { FastifyInstance } from "fastify";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ServiceMetrics } from "../../metrics.js";
import { buildHttpServer } from "./http.js";

// The routing and error answers alone, over a real socket; what the reads return does not matter
// here (the databases are exercised in service-b/test, the live service in native/test).
const EVENT_ID = "0190a0a0-0000-7000-8000-000000000000";
let app: FastifyInstance;
let url: string;
let document: OpenApiDocument;

beforeAll(async () => {
  app = buildHttpServer({
    readTotal: async () => ({
      total: "123456789012345678901",
      events_applied: 3,
      updated_at: null,
      source: "leader",
      replica_lag_seconds: null,
    }),
    findEvent: async (id) =>
      id === EVENT_ID ? { event_id: id, result: 3, applied_at: new Date(0).toISOString() } : undefined,
    whyNotReady: async () => undefined,
    metrics: new ServiceMetrics(),
    logger: pino({ level: "silent" }),
  });
  url = await app.listen({ host: "127.0.0.1", port: 0 });
  document = (await (await fetch(`${url}/openapi.json`)).json()) as OpenApiDocument;
});

afterAll(() => app.close());

async function answer(method: string, path: string) {
  const response = await fetch(`${url}${path}`, { method });
  const body = await response.text();
  return {
    status: response.status,
    allow: response.headers.get("allow"),
    json: body ? JSON.parse(body) : undefined,
    problems: nonConformance(document, { method, url: path, status: response.status, headers: response.headers, body }),
  };
}

const rawExchange = (request: string) => rawHttpExchange(Number(new URL(url).port), request);

describe("Service B's HTTP API", () => {
  it("serves a document outside linters find nothing in: Spectral's spectral:oas ruleset, no warning", async () => {
    // Client generators name their methods after each operation's operationId.
    expect(await spectralFindings(document)).toEqual([]);
  });

  it("serves a valid OpenAPI 3.1 document made from its routes", async () => {
    expect(document.openapi).toBe("3.1.0");
    expect(await openApiErrors(document)).toEqual([]);
    expect(Object.keys(document.paths).sort()).toEqual(
      ["/api/events/{id}", "/api/summation", "/api/total", "/healthz", "/metrics", "/openapi.json", "/readyz"].sort(),
    );
  });

  it("answers every route as its document says", async () => {
    for (const path of [
      "/api/summation",
      "/api/total?consistency=strong",
      `/api/events/${EVENT_ID}`,
      "/healthz",
      "/readyz",
    ]) {
      expect((await answer("GET", path)).problems, path).toEqual([]);
    }
    expect(await answer("GET", "/api/events/0190a0a0-0000-7000-8000-00000000000f")).toMatchObject({
      status: 404,
      problems: [],
    });
  });

  it("answers another method on a known path with 405 and Allow, in the contract's shape", async () => {
    for (const [method, path] of [
      ["POST", "/api/total"],
      ["DELETE", `/api/events/${EVENT_ID}`],
      ["PROPFIND", "/api/summation"],
      ["OPTIONS", "/openapi.json"],
    ] as const) {
      const response = await answer(method, path);
      expect(response, `${method} ${path}`).toMatchObject({
        status: 405,
        allow: "GET, HEAD",
        json: { error: { code: "METHOD_NOT_ALLOWED", message: expect.any(String) } },
      });
    }
  });

  it("answers a QUERY without Content-Type on a known path with 405, not a read failure", async () => {
    const response = await rawExchange(`QUERY /api/total HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
    expect(response).toMatch(/^HTTP\/1\.1 405 /);
    expect(response).toMatch(/allow: GET, HEAD/i);
    expect(response).toContain('"code":"METHOD_NOT_ALLOWED"');
  });

  it("answers a method Node cannot parse with the contract's 400", async () => {
    const response = await rawExchange(`FOO /api/total HTTP/1.1\r\nHost: x\r\n\r\n`);
    expect(response).toMatch(/^HTTP\/1\.1 400 /);
    expect(JSON.parse(response.split("\r\n\r\n")[1] ?? "")).toEqual({
      error: { code: "INVALID_ARGUMENT", message: "malformed HTTP request" },
    });
  });

  it("answers an unknown path with 404 NOT_FOUND", async () => {
    expect(await answer("GET", "/nope")).toMatchObject({
      status: 404,
      allow: null,
      json: { error: { code: "NOT_FOUND" } },
    });
  });

  it("refuses a consistency or an event id out of the schema with 400, as documented", async () => {
    for (const path of [
      "/api/total?consistency=sometimes",
      "/api/events/not-a-uuid",
      `/api/events/${EVENT_ID.toUpperCase()}`,
    ]) {
      const response = await answer("GET", path);
      expect(response, path).toMatchObject({
        status: 400,
        json: { error: { code: "INVALID_ARGUMENT" } },
        problems: [],
      });
    }
  });
});
