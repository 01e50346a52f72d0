import { ERROR_STATUS } from "@sum/service-kit";
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
import { calculateSum } from "../domain/calculate-sum.js";
import { ServiceMetrics } from "../metrics.js";
import { buildHttpServer } from "./http.js";

// The routing and error answers alone, over a real socket, with the real domain in front of an
// event log that commits at once (the outbox is exercised in service-a/test, the live service in native/test).
let app: FastifyInstance;
let url: string;
let document: OpenApiDocument;

beforeAll(async () => {
  app = buildHttpServer({
    calculateSum: (command) =>
      calculateSum({ events: { append: async () => ({ kind: "committed" }) }, serviceId: "service-a-test" }, command),
    whyNotReady: async () => undefined,
    metrics: new ServiceMetrics(),
    logger: pino({ level: "silent" }),
    serviceId: "service-a-test",
  });
  url = await app.listen({ host: "127.0.0.1", port: 0 });
  document = (await (await fetch(`${url}/openapi.json`)).json()) as OpenApiDocument;
});

afterAll(() => app.close());

const rawExchange = (request: string) => rawHttpExchange(Number(new URL(url).port), request);

describe("Service A's HTTP API", () => {
  it("serves a document outside linters find nothing in: Spectral's spectral:oas ruleset, no warning", async () => {
    // Client generators name their methods after each operation's operationId.
    expect(await spectralFindings(document)).toEqual([]);
  });

  it("serves a valid OpenAPI 3.1 document made from its routes, naming every error code", async () => {
    expect(document.openapi).toBe("3.1.0");
    expect(await openApiErrors(document)).toEqual([]);
    expect(Object.keys(document.paths).sort()).toEqual(["/healthz", "/metrics", "/openapi.json", "/readyz", "/sum"]);
    const text = JSON.stringify(document);
    // TOO_MANY_REQUESTS is nginx's alone, on its gRPC listener.
    const notSumAnswers = ["NOT_FOUND", "METHOD_NOT_ALLOWED", "TOO_MANY_REQUESTS"];
    for (const code of Object.keys(ERROR_STATUS).filter((c) => !notSumAnswers.includes(c))) {
      expect(text).toContain(`"${code}"`);
    }
  });

  it("answers sums, valid or not, as its document says", async () => {
    for (const [body, status] of [
      ['{"a": 2, "b": 3}', 200],
      ['{"a": 2.5, "b": 3}', 400],
      ['{"a": 9007199254740991, "b": 1}', 400],
    ] as const) {
      const response = await fetch(`${url}/sum`, {
        method: "POST",
        headers: { "content-type": "application/json", traceparent: "nonsense" },
        body,
      });
      const text = await response.text();
      expect(response.status, body).toBe(status);
      expect(
        nonConformance(document, { method: "POST", url: "/sum", status, headers: response.headers, body: text }),
      ).toEqual([]);
    }
  });

  it("answers a QUERY without Content-Type on a known path with 405 and Allow, not a 400", async () => {
    const response = await rawExchange(`QUERY /openapi.json HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
    expect(response).toMatch(/^HTTP\/1\.1 405 /);
    expect(response).toMatch(/allow: GET, HEAD/i);
    expect(response).toContain('"code":"METHOD_NOT_ALLOWED"');
  });

  it("answers a method Node cannot parse (nginx passes it on) with the contract's 400", async () => {
    const response = await rawExchange(`FOO /sum HTTP/1.1\r\nHost: x\r\n\r\n`);
    expect(response).toMatch(/^HTTP\/1\.1 400 /);
    expect(JSON.parse(response.split("\r\n\r\n")[1] ?? "")).toEqual({
      error: { code: "INVALID_ARGUMENT", message: "malformed HTTP request" },
    });
  });
});
