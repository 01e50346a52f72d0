import Fastify from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { registerApi } from "./http-api.js";
import { healthzSchema } from "./openapi.js";
import { answerUnrouted } from "./unrouted.js";

const app = Fastify();

beforeAll(async () => {
  answerUnrouted(app);
  registerApi(app, {
    title: "Unrouted",
    description: "Routes of each kind a service declares",
    tags: [],
    metrics: { contentType: "text/plain; version=0.0.4", metrics: async () => "" },
    routes: (api) => {
      api.post("/things", async () => ({ created: true }));
      api.get("/things/:id", async () => ({ id: 1 }));
      api.delete("/things/:id", async () => ({ deleted: true }));
      api.get("/healthz", { schema: healthzSchema }, async () => ({ status: "alive" }));
    },
  });
  await app.ready();
});

afterAll(() => app.close());

const error = (code: string, message: string) => ({ error: { code, message } });

describe("another method on a path a route has: 405 with the methods its routes were declared with", () => {
  it.each([
    ["GET", "/things", "POST"],
    ["PUT", "/things/42", "GET, HEAD, DELETE"],
    ["POST", "/healthz?verbose=1", "GET, HEAD"],
    ["TRACE", "/metrics", "GET, HEAD"],
    ["DELETE", "/openapi.json", "GET, HEAD"],
  ])("%s %s: Allow %s", async (method, url, allow) => {
    const response = await app.inject({ method: method as "GET", url });
    expect(response.statusCode).toBe(405);
    expect(response.headers.allow).toBe(allow);
    expect(response.json()).toEqual(error("METHOD_NOT_ALLOWED", `${method} is not allowed here; use ${allow}`));
  });
});

describe("a path no route has: 404 without Allow", () => {
  it.each([
    ["GET", "/nowhere"],
    ["POST", "/things/42/parts"],
    // The dot is the path's own, not any character.
    ["GET", "/openapi_json"],
    ["GET", "/healthz/"],
  ])("%s %s", async (method, url) => {
    const response = await app.inject({ method: method as "GET", url });
    expect(response.statusCode).toBe(404);
    expect(response.headers.allow).toBeUndefined();
    expect(response.json()).toEqual(error("NOT_FOUND", `no route for ${method} ${url}`));
  });
});

it("leaves the declared methods, HEAD included, to their routes", async () => {
  expect((await app.inject({ method: "HEAD", url: "/things/7" })).statusCode).toBe(200);
  expect((await app.inject({ method: "DELETE", url: "/things/7" })).json()).toEqual({ deleted: true });
});
