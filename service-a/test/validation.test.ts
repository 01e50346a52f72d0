import { writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { status } from "@grpc/grpc-js";
import { summationClient } from "@sum/runtime";
import type { TemporaryPostgres } from "@sum/test-support";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startOutboxDatabase } from "../support/outbox-database.js";
import { CommittedEvents, postSum, startTestService, type TestService } from "./harness.js";

const MAX = "9007199254740991";
const JSON_TYPE = { "content-type": "application/json" };

let postgres: TemporaryPostgres;
let service: TestService;
let committed: CommittedEvents;
const accepted: string[] = [];

beforeAll(async () => {
  postgres = await startOutboxDatabase();
  service = await startTestService(postgres);
  committed = await CommittedEvents.watch(postgres);
});

afterAll(async () => {
  await service?.stop();
  await postgres?.destroy();
});

describe("POST /sum accepts exactly the contract's valid input", () => {
  it.each([
    ["the largest operand", `{"a": ${MAX}, "b": 0}`, MAX],
    ["the smallest operand", `{"a": -${MAX}, "b": 0}`, `-${MAX}`],
    ["a sum at the edge of the range", `{"a": ${MAX}, "b": -1}`, "9007199254740990"],
    ["an integer in exponent form", '{"a": 1e3, "b": 1}', "1001"],
    ["an integral value with a zero fraction", '{"a": 2.0, "b": 3}', "5"],
    ["unknown extra fields", '{"a": 2, "b": 3, "comment": "hi", "c": 1.5}', "5"],
  ])("%s", async (_name, body, result) => {
    const response = await postSum(service.http, body);
    expect(response.status).toBe(200);
    expect(String(response.body.result)).toBe(result);
    expect(response.headers.get("x-service-id")).toBe("service-a-test");
    expect(response.body.event_id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(new Date(response.body.timestamp).toISOString()).toBe(response.body.timestamp);
    accepted.push(response.body.event_id);
  });
});

describe("POST /sum refuses bad input with the contract's status and code", () => {
  it.each([
    ["one past the largest operand", `{"a": 9007199254740992, "b": 0}`, 400, "INVALID_ARGUMENT", /a is out of range/],
    ["one past the smallest operand", `{"a": 0, "b": -9007199254740992}`, 400, "INVALID_ARGUMENT", /b is out of range/],
    ["a sum that overflows the range", `{"a": ${MAX}, "b": 1}`, 400, "INVALID_ARGUMENT", /a\+b is out of range/],
    ["a sum that underflows the range", `{"a": -${MAX}, "b": -1}`, 400, "INVALID_ARGUMENT", /a\+b is out of range/],
    ["a float", '{"a": 1.5, "b": 2}', 400, "INVALID_ARGUMENT", /a must be an integer, got 1.5/],
    [
      "a fraction JSON.parse would round away",
      `{"a": ${MAX}.4, "b": 0}`,
      400,
      "INVALID_ARGUMENT",
      /must be an integer/,
    ],
    ["a numeric string", '{"a": "1", "b": 2}', 400, "INVALID_ARGUMENT", /a must be an integer, got a string/],
    ["1e400", '{"a": 1e400, "b": 2}', 400, "INVALID_ARGUMENT", /a is out of range/],
    [
      "a 16,000-digit literal",
      `{"a": 1${"0".repeat(16_000)}1, "b": 2}`,
      400,
      "INVALID_ARGUMENT",
      /a is a number 16002 characters long; an operand is at most 400/,
    ],
    ["null", '{"a": null, "b": 2}', 400, "INVALID_ARGUMENT", /got null/],
    ["an array operand", '{"a": [1], "b": 2}', 400, "INVALID_ARGUMENT", /got an array/],
    ["an array body", "[1, 2]", 400, "INVALID_ARGUMENT", /must be a JSON object/],
    ["a missing field", '{"a": 1}', 400, "INVALID_ARGUMENT", /b is required/],
    ["no fields", "{}", 400, "INVALID_ARGUMENT", /a is required/],
    ["an empty body", "", 400, "INVALID_ARGUMENT", /empty/],
    ["invalid JSON", '{"a": 1, "b": ', 400, "INVALID_ARGUMENT", /not valid JSON/],
    ["a 17 KiB body", `{"a": 1, "b": 2, "pad": "${"x".repeat(17 * 1024)}"}`, 413, "PAYLOAD_TOO_LARGE", /16384 bytes/],
  ])("%s", async (_name, body, httpStatus, code, message) => {
    const response = await postSum(service.http, body);
    expect(response.status).toBe(httpStatus);
    expect(response.body).toEqual({ error: { code, message: expect.stringMatching(message) } });
  });

  it.each([
    ["text/plain", { "content-type": "text/plain" }],
    ["form data", { "content-type": "application/x-www-form-urlencoded" }],
    ["no content type", {}],
  ])("a body sent as %s gets 415", async (_name, headers) => {
    const response = await postSum(service.http, '{"a": 1, "b": 2}', headers);
    expect(response.status).toBe(415);
    expect(response.body.error.code).toBe("UNSUPPORTED_MEDIA_TYPE");
  });

  it("a charset parameter on application/json is fine", async () => {
    const response = await postSum(service.http, '{"a": 1, "b": 2}', {
      "content-type": "application/json; charset=utf-8",
    });
    expect(response.status).toBe(200);
    accepted.push(response.body.event_id);
  });

  it.each(["GET", "PUT", "DELETE", "PATCH"])("%s /sum gets 405 with Allow: POST", async (method) => {
    const response = await fetch(`${service.http}/sum`, { method });
    expect(response.status).toBe(405);
    expect(response.headers.get("allow")).toBe("POST");
    expect(((await response.json()) as any).error.code).toBe("METHOD_NOT_ALLOWED");
  });

  it("an unknown path gets a JSON 404", async () => {
    const response = await fetch(`${service.http}/nope`);
    expect(response.status).toBe(404);
    expect(((await response.json()) as any).error.code).toBe("NOT_FOUND");
  });

  it("a path that does not decode gets a JSON 400", async () => {
    const response = await fetch(`${service.http}/sum%E0%A4%A`, { method: "POST", headers: JSON_TYPE, body: "{}" });
    expect(response.status).toBe(400);
    expect(((await response.json()) as any).error.code).toBe("INVALID_ARGUMENT");
  });

  it.each([
    ["too long", "k".repeat(256)],
    ["with a tab (not printable)", "key\twith-tab"],
    ["not ASCII", "clé"],
  ])("an Idempotency-Key %s gets 400", async (_name, key) => {
    const headers = new Headers(JSON_TYPE);
    // fetch refuses raw control and non-Latin-1 characters in headers; send the bytes as Latin-1.
    headers.set("idempotency-key", Buffer.from(key, "utf8").toString("latin1"));
    const response = await fetch(`${service.http}/sum`, { method: "POST", headers, body: '{"a": 1, "b": 2}' });
    expect(response.status).toBe(400);
    expect(((await response.json()) as any).error.message).toMatch(/idempotency key/);
  });
});

describe("CalculateSum over gRPC applies the same rule", () => {
  it("adds int64 operands at the edge of the range exactly", async () => {
    const outcome = await service.grpc.calculateSum({ a: MAX, b: "-1" });
    expect(outcome.code).toBe(status.OK);
    expect(outcome.reply?.result).toBe("9007199254740990");
    accepted.push(outcome.reply?.event_id as string);
  });

  it.each([
    [{ a: "9007199254740992", b: "0" }, /a is out of range/],
    [{ a: "0", b: "-9223372036854775808" }, /b is out of range/],
    [{ a: MAX, b: "1" }, /a\+b is out of range/],
  ])("refuses %j with INVALID_ARGUMENT", async (request, message) => {
    const outcome = await service.grpc.calculateSum(request);
    expect(outcome.code).toBe(status.INVALID_ARGUMENT);
    expect(outcome.details).toMatch(message);
  });

  it("answers a client built from the old int32 definition", async () => {
    const oldProto = join(tmpdir(), `summation-int32-${process.pid}.proto`);
    await writeFile(
      oldProto,
      `syntax = "proto3"; package summation;
       service SummationService { rpc CalculateSum (SummationRequest) returns (SummationResponse); }
       message SummationRequest { int32 a = 1; int32 b = 2; }
       message SummationResponse { int32 result = 1; string event_id = 2; string service_id = 3; }`,
    );
    const client = summationClient(`127.0.0.1:${service.service.grpcPort}`, oldProto);
    const outcome = await client.calculateSum({ a: -7, b: 3 });
    client.close();
    expect(outcome.code).toBe(status.OK);
    expect(Number(outcome.reply?.result)).toBe(-4);
    accepted.push(outcome.reply?.event_id as string);
  });

  it("refuses a message over 16 KiB with RESOURCE_EXHAUSTED", async () => {
    const bigProto = join(tmpdir(), `summation-big-${process.pid}.proto`);
    await writeFile(
      bigProto,
      `syntax = "proto3"; package summation;
       service SummationService { rpc CalculateSum (SummationRequest) returns (SummationResponse); }
       message SummationRequest { int64 a = 1; int64 b = 2; string padding = 15; }
       message SummationResponse { int64 result = 1; string event_id = 2; string service_id = 3; }`,
    );
    const client = summationClient(`127.0.0.1:${service.service.grpcPort}`, bigProto);
    const outcome = await client.calculateSum({ a: 1, b: 2, padding: "x".repeat(17 * 1024) });
    const small = await client.calculateSum({ a: 1, b: 2, padding: "unknown fields are ignored" });
    client.close();
    expect(outcome.code).toBe(status.RESOURCE_EXHAUSTED);
    expect(small.code).toBe(status.OK);
    accepted.push(small.reply?.event_id as string);
  });
});

describe("only valid requests create events", () => {
  it("the outbox's WAL holds exactly the accepted events", async () => {
    const events = await committed.take();
    expect(events.map((event) => event.id).sort()).toEqual([...accepted].sort());
  });
});
