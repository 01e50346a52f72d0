import { writeFile } from "node:fs/promises";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as grpcJs from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { loadSettings, serviceAPorts } from "@sum/native/settings";
import { summationClient } from "@sum/runtime";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { PipelineClient } from "../src/clients.js";

const env = inject("stackEnv");
const settings = loadSettings({ ...process.env, ...env });
const http = `http://127.0.0.1:${settings.NGINX_HTTP_PORT}`;
const grpcTarget = `127.0.0.1:${settings.NGINX_GRPC_PORT}`;
const pipeline = new PipelineClient({
  http,
  grpc: grpcTarget,
  serviceB: `http://127.0.0.1:${settings.SERVICE_B_PORT}`,
  kafka: `127.0.0.1:${settings.KAFKA_PORT}`,
});
const grpc = summationClient(grpcTarget);

let appliedBefore: number;

beforeAll(async () => {
  appliedBefore = (await pipeline.settledTotal()).eventsApplied;
});

afterAll(() => {
  grpc.close();
  pipeline.close();
});

async function post(
  body: string,
  headers: Record<string, string> = { "content-type": "application/json" },
  method = "POST",
) {
  const response = await fetch(`${http}/sum`, { method, headers, body: method === "GET" ? undefined : body });
  const text = await response.text();
  return {
    status: response.status,
    text,
    json: (() => {
      try {
        return JSON.parse(text);
      } catch {
        return undefined;
      }
    })(),
  };
}

/** A raw HTTP/1.1 exchange, for what fetch will not send: huge headers, a body that stalls. */
function rawRequest(head: string, bodyParts: string[], gapMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(settings.NGINX_HTTP_PORT, "127.0.0.1");
    let received = "";
    socket.on("data", (chunk) => {
      received += chunk.toString();
    });
    socket.on("close", () => resolve(received));
    socket.on("error", reject);
    socket.setTimeout(30_000, () => socket.destroy());
    socket.write(head);
    let i = 0;
    const next = () => {
      if (i < bodyParts.length) {
        socket.write(bodyParts[i++] as string);
        setTimeout(next, gapMs);
      }
    };
    next();
  });
}

describe("hostile HTTP through nginx gets the contract's answer, never a 5xx", () => {
  it.each([
    ["broken JSON", '{"a": 1, "b": ', 400, "INVALID_ARGUMENT"],
    [
      "deep nesting beside a missing field",
      `{"a": 1, "x": ${"[".repeat(7000)}${"]".repeat(7000)}}`,
      400,
      "INVALID_ARGUMENT",
    ],
    ["deep nesting as the body", `${"[".repeat(8000)}${"]".repeat(8000)}`, 400, "INVALID_ARGUMENT"],
    ["a huge number", '{"a": 1e400, "b": 1}', 400, "INVALID_ARGUMENT"],
    ["a long number", `{"a": ${"9".repeat(5000)}, "b": 1}`, 400, "INVALID_ARGUMENT"],
    ["a string operand", '{"a": "1", "b": 1}', 400, "INVALID_ARGUMENT"],
    ["an object operand", '{"a": {"$gt": 1}, "b": 1}', 400, "INVALID_ARGUMENT"],
    ["__proto__ pollution", '{"__proto__": {"a": 1}, "b": 1}', 400, "INVALID_ARGUMENT"],
    ["a body over 16 KiB", `{"a": 1, "b": 2, "pad": "${"x".repeat(17_000)}"}`, 413, "PAYLOAD_TOO_LARGE"],
  ])("%s", async (_name, body, status, code) => {
    const response = await post(body);
    expect(response.status).toBe(status);
    expect(response.json?.error?.code).toBe(code);
    expect(response.json?.error?.message).toEqual(expect.any(String));
  });

  it.each(["text/plain", "application/xml", "multipart/form-data; boundary=x"])(
    "Content-Type %s gets 415",
    async (type) => {
      const response = await post('{"a": 1, "b": 2}', { "content-type": type });
      expect(response.status).toBe(415);
      expect(response.json?.error?.code).toBe("UNSUPPORTED_MEDIA_TYPE");
    },
  );

  it.each(["GET", "PUT", "DELETE", "PATCH"])("%s /sum gets 405 with Allow: POST", async (method) => {
    const response = await fetch(`${http}/sum`, { method });
    expect(response.status).toBe(405);
    expect(response.headers.get("allow")).toBe("POST");
  });

  it("an unknown route gets a JSON 404 from nginx", async () => {
    const response = await fetch(`${http}/admin/metrics`);
    expect(response.status).toBe(404);
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe("NOT_FOUND");
  });

  it("headers over 8 KiB get a JSON 400", async () => {
    const answer = await rawRequest(
      `POST /sum HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nX-Big: ${"b".repeat(9000)}\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}`,
      [],
      0,
    );
    expect(answer).toMatch(/^HTTP\/1.1 400/);
    expect(answer).toMatch(/"code":"INVALID_ARGUMENT"/);
  });

  it("a method Node cannot parse, which nginx passes on, gets Service A's JSON 400", async () => {
    const answer = await rawRequest(
      "FOO /sum HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
      [],
      0,
    );
    expect(answer).toMatch(/^HTTP\/1.1 400/);
    expect(answer).toMatch(/"code":"INVALID_ARGUMENT"/);
  });

  it("a body that stalls is cut off (nginx closes after 10 s), and a slow one that finishes is served", async () => {
    const slow = await rawRequest(
      "POST /sum HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 17\r\nConnection: close\r\n\r\n",
      ['{"a": ', "40, ", '"b": 2}'],
      400,
    );
    expect(slow).toMatch(/^HTTP\/1.1 200/);
    const stalled = await rawRequest(
      "POST /sum HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\nConnection: close\r\n\r\n",
      ['{"a": 1'],
      0,
    );
    // nginx answers a client_body_timeout by closing the connection: nothing reaches Service A.
    expect(stalled).not.toMatch(/^HTTP\/1.1 [25]/);
  }, 30_000);
});

describe("hostile gRPC through nginx gets the contract's status", () => {
  it("an out-of-range int64 gets INVALID_ARGUMENT with a message a person can act on", async () => {
    const outcome = await grpc.calculateSum({ a: "9223372036854775807", b: "1" });
    expect(outcome.code).toBe(3);
    expect(outcome.details).toMatch(/a is out of range: it must be between/);
  });

  it("an unknown service or method gets UNIMPLEMENTED", async () => {
    const proto = join(tmpdir(), `wrong-${process.pid}.proto`);
    await writeFile(
      proto,
      `syntax = "proto3"; package summation;
       service SummationService { rpc Subtract (R) returns (R); }
       service Other { rpc CalculateSum (R) returns (R); }
       message R { int64 a = 1; }`,
    );
    const pkg = grpcJs.loadPackageDefinition(protoLoader.loadSync(proto)) as any;
    const call = (Client: any, method: string) =>
      new Promise<number>((resolve) => {
        const client = new Client(grpcTarget, grpcJs.credentials.createInsecure());
        client[method]({ a: 1 }, (error: { code: number } | null) => {
          client.close();
          resolve(error ? error.code : 0);
        });
      });
    expect(await call(pkg.summation.SummationService, "Subtract")).toBe(12);
    expect(await call(pkg.summation.Other, "CalculateSum")).toBe(12);
  });

  it("a message over 16 KiB gets RESOURCE_EXHAUSTED", async () => {
    const proto = join(tmpdir(), `big-${process.pid}.proto`);
    await writeFile(
      proto,
      `syntax = "proto3"; package summation;
       service SummationService { rpc CalculateSum (SummationRequest) returns (SummationResponse); }
       message SummationRequest { int64 a = 1; int64 b = 2; string padding = 9; }
       message SummationResponse { int64 result = 1; string event_id = 2; string service_id = 3; }`,
    );
    const big = summationClient(grpcTarget, proto);
    const outcome = await big.calculateSum({ a: 1, b: 2, padding: "x".repeat(20_000) });
    big.close();
    expect(outcome.code).toBe(8);
  });
});

describe("after all of that", () => {
  it("no bad input created an event or changed the total, and every instance is still ready", async () => {
    // The one slow-but-valid body above is the only event these tests may create.
    expect((await pipeline.settledTotal()).eventsApplied - appliedBefore).toBe(1);
    for (const instance of serviceAPorts(settings)) {
      expect((await fetch(`http://127.0.0.1:${instance.http}/readyz`)).status).toBe(200);
    }
    expect((await fetch(`${http}/health`)).status).toBe(200);
  });

  it("random bodies through nginx: never a 5xx, and an event exactly for the valid ones", async () => {
    const before = (await pipeline.settledTotal()).eventsApplied;
    let valid = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          a: fc.oneof(fc.integer(), fc.double(), fc.string(), fc.constant(null)),
          b: fc.integer({ min: -5, max: 5 }),
        }),
        async (body) => {
          const response = await post(JSON.stringify(body));
          expect(response.status).toBeLessThan(500);
          const ok =
            typeof body.a === "number" &&
            Number.isSafeInteger(body.a) &&
            Number.isSafeInteger(body.a + body.b) &&
            Math.abs(body.a + body.b) <= Number.MAX_SAFE_INTEGER;
          expect(response.status).toBe(ok ? 200 : 400);
          if (ok) valid += 1;
        },
      ),
      { numRuns: 300 },
    );
    expect((await pipeline.settledTotal()).eventsApplied - before).toBe(valid);
  });
});
