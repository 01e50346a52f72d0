/**
 * nginx/nginx.conf as the native stack renders it, run by the real nginx in front of stand-in Service A
 * instances (plain HTTP and HTTP/2 servers, or none): nginx's own answers in the contract's JSON shape
 * and status, OUTCOME_UNKNOWN for a sum whose instance died without answering (HTTP and gRPC), and the
 * bounds on gRPC calls in flight per connection and per client address.
 */
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { createServer as createHttpServer } from "node:http";
import { createServer as createHttp2Server, constants as http2Constants, type ServerHttp2Stream } from "node:http2";
import type { Server, Socket } from "node:net";
import { availableParallelism, tmpdir } from "node:os";
import { join } from "node:path";
import type { Readable } from "node:stream";
import { freePort, summationClient, waitFor } from "@sum/runtime";
import {
  grpcFrame,
  http2Connection,
  type RawCall,
  type RawOutcome,
  rawCalculateSum,
  rawHttpExchange,
} from "@sum/test-support";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { portInUse } from "../process.js";
import { loadSettings, paths, REPO_ROOT } from "../settings.js";
import { NGINX, Nginx } from "./nginx.js";

/** The streams nginx/nginx.conf lets one HTTP/2 connection of its gRPC listener have open at once. */
const STREAMS_PER_CONNECTION = Number(
  /http2_max_concurrent_streams (\d+);/.exec(readFileSync(join(REPO_ROOT, "nginx", "nginx.conf"), "utf8"))?.[1],
);

// gRPC's status codes (this package does not depend on grpc-js).
const GRPC_OK = 0;
const GRPC_UNKNOWN = 2;
const GRPC_RESOURCE_EXHAUSTED = 8;
const GRPC_UNAVAILABLE = 14;

interface RunningNginx {
  /** The master process. */
  pid: number;
  httpPort: number;
  grpcPort: number;
  stop(): Promise<void>;
}

/**
 * The real nginx with nginx/nginx.conf, in front of one Service A instance on these ports;
 * `edit` changes the rendered file first (a test that needs a limit lower than the shipped one).
 */
async function startNginx(
  instance: { http: number; grpc: number },
  edit: (config: string) => string = (config) => config,
): Promise<RunningNginx> {
  const runDir = await mkdtemp(join(tmpdir(), "nginx-test-"));
  const httpPort = await freePort();
  const grpcPort = await freePort();
  const settings = loadSettings(
    {
      ...process.env,
      RUN_DIR: runDir,
      NGINX_HTTP_PORT: String(httpPort),
      NGINX_GRPC_PORT: String(grpcPort),
      NGINX_STATUS_PORT: String(await freePort()),
      SERVICE_A_INSTANCES: "1",
      SERVICE_A_HTTP_PORT_BASE: String(instance.http),
      SERVICE_A_GRPC_PORT_BASE: String(instance.grpc),
    },
    join(runDir, "no.env"),
  );
  await mkdir(paths(settings).config, { recursive: true });
  const { config, tempDir } = await new Nginx(settings).writeConfig();
  await writeFile(config, edit(await readFile(config, "utf8")));
  const nginx = spawn(NGINX, ["-p", tempDir, "-c", config], { stdio: "ignore" });
  await waitFor("nginx to listen", async () => (await portInUse(httpPort)) && portInUse(grpcPort));
  return {
    pid: nginx.pid as number,
    httpPort,
    grpcPort,
    async stop() {
      nginx.kill("SIGTERM");
      await new Promise((resolve) => nginx.once("exit", resolve));
      await rm(runDir, { recursive: true, force: true });
    },
  };
}

/** A raw HTTP/1.1 exchange with nginx, on a connection of its own. */
const exchange = (nginx: RunningNginx, request: string) =>
  rawHttpExchange(nginx.httpPort, request.replace("\r\n\r\n", "\r\nHost: x\r\nConnection: close\r\n\r\n"));

const POST_SUM = 'POST /sum HTTP/1.1\r\nContent-Type: application/json\r\nContent-Length: 15\r\n\r\n{"a":777,"b":0}';

/** Status line, headers and the JSON body of a raw HTTP answer. */
function parseAnswer(answer: string): { head: string; body: unknown } {
  const [head = "", body = ""] = answer.split("\r\n\r\n");
  return { head, body: JSON.parse(body) };
}

/** A call to CalculateSum through nginx's gRPC port, with the error-code trailer if any. */
async function calculateSum(nginx: RunningNginx) {
  const client = summationClient(`127.0.0.1:${nginx.grpcPort}`);
  try {
    return await client.calculateSum({ a: 777, b: 0 });
  } finally {
    client.close();
  }
}

interface DyingInstance {
  port: number;
  /** Every request it read to the end before dying: its path and body. */
  received: Array<{ path: string; body: Buffer }>;
  close(): Promise<void>;
}

/**
 * A stand-in Service A instance that reads each request to its end and then dies holding it, as
 * under kill -9: every connection cut, no answer. `create` makes its HTTP or HTTP/2 server.
 */
async function instanceThatDiesAfterReading(
  create: (onRequest: (request: Readable & { url?: string }) => void) => Server,
): Promise<DyingInstance> {
  const connections = new Set<Socket>();
  const received: DyingInstance["received"] = [];
  const server = create((request) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      received.push({ path: request.url ?? "", body: Buffer.concat(chunks) });
      for (const connection of connections) connection.destroy();
    });
  });
  server.on("connection", (connection: Socket) => {
    connections.add(connection);
    connection.on("close", () => connections.delete(connection));
  });
  const port = await freePort();
  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
  return {
    port,
    received,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/** The pids of `parent`'s child processes, from /proc. */
async function childPids(parent: number): Promise<number[]> {
  const children: number[] = [];
  for (const entry of await readdir("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = await readFile(`/proc/${entry}/stat`, "utf8").catch(() => "");
    // The field after the command's closing parenthesis is the state, then the parent's pid.
    const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
    if (ppid === parent) children.push(Number(entry));
  }
  return children;
}

it("nginx runs a worker per core, so a flood one worker answers leaves the others to every other caller", async () => {
  const nginx = await startNginx({ http: await freePort(), grpc: await freePort() });
  try {
    await waitFor("nginx's workers", async () => (await childPids(nginx.pid)).length >= availableParallelism());
    expect(await childPids(nginx.pid)).toHaveLength(availableParallelism());
  } finally {
    await nginx.stop();
  }
});

describe("nginx's own answers are in the contract's JSON shape, with the contract's status", () => {
  // Nothing listens on the instance's ports.
  let nginx: RunningNginx;
  beforeAll(async () => {
    nginx = await startNginx({ http: await freePort(), grpc: await freePort() });
  });
  afterAll(() => nginx.stop());

  it("every instance refuses the connection: 503 UNAVAILABLE with Retry-After (not the upstream's 502)", async () => {
    const answer = await exchange(nginx, POST_SUM);
    expect(answer).toMatch(/^HTTP\/1.1 503/);
    expect(answer).toMatch(/\r\nRetry-After: 1\r\n/);
    expect(answer).toContain('"code":"UNAVAILABLE"');
  });

  it("every instance refuses the connection over gRPC: UNAVAILABLE with error-code UNAVAILABLE", async () => {
    expect(await calculateSum(nginx)).toMatchObject({ code: GRPC_UNAVAILABLE, errorCode: "UNAVAILABLE" });
  });

  it("TRACE on a route: 405 with that route's Allow; elsewhere 404", async () => {
    expect(await exchange(nginx, "TRACE /sum HTTP/1.1\r\n\r\n")).toMatch(
      /^HTTP\/1.1 405[\s\S]*\r\nAllow: POST\r\n[\s\S]*"code":"METHOD_NOT_ALLOWED"/,
    );
    expect(await exchange(nginx, "TRACE /openapi.json HTTP/1.1\r\n\r\n")).toMatch(/\r\nAllow: GET, HEAD\r\n/);
    expect(await exchange(nginx, "TRACE /admin HTTP/1.1\r\n\r\n")).toMatch(/^HTTP\/1.1 404[\s\S]*"code":"NOT_FOUND"/);
  });

  it("a request line over 8 KiB or an unknown transfer coding: 400 INVALID_ARGUMENT", async () => {
    for (const request of [
      `GET /${"a".repeat(9000)} HTTP/1.1\r\n\r\n`,
      "POST /sum HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n",
    ]) {
      const answer = await exchange(nginx, request);
      expect(answer).toMatch(/^HTTP\/1.1 400/);
      expect(answer).toMatch(/\r\nContent-Type: application\/json\r\n/);
      expect(answer).toContain('"code":"INVALID_ARGUMENT"');
    }
  });
});

describe("a sum that reached an instance which died without answering: nginx answers OUTCOME_UNKNOWN, as Service A does", () => {
  let http: DyingInstance;
  let grpc: DyingInstance;
  let nginx: RunningNginx;
  beforeAll(async () => {
    http = await instanceThatDiesAfterReading((onRequest) => createHttpServer(onRequest));
    grpc = await instanceThatDiesAfterReading((onRequest) => createHttp2Server(onRequest));
    nginx = await startNginx({ http: http.port, grpc: grpc.port });
  });
  afterAll(async () => {
    await nginx.stop();
    await Promise.all([http.close(), grpc.close()]);
  });
  beforeEach(() => {
    http.received.length = 0;
    grpc.received.length = 0;
  });

  it("POST /sum: 500 OUTCOME_UNKNOWN with Retry-After, not a 503 that says nothing was written", async () => {
    const { head, body } = parseAnswer(await exchange(nginx, POST_SUM));
    expect(http.received.map((request) => [request.path, request.body.toString()])).toEqual([
      ["/sum", '{"a":777,"b":0}'],
    ]);
    expect(head).toMatch(/^HTTP\/1.1 500 /);
    expect(head).toMatch(/\r\nRetry-After: 1(\r\n|$)/);
    expect(head).toMatch(/\r\nContent-Type: application\/json(\r\n|$)/);
    expect(body).toEqual({
      error: { code: "OUTCOME_UNKNOWN", message: expect.stringContaining("retry with the same Idempotency-Key") },
    });
  });

  it("CalculateSum: UNKNOWN with error-code OUTCOME_UNKNOWN, not UNAVAILABLE, which gRPC retry policies retry blindly", async () => {
    const outcome = await calculateSum(nginx);
    expect(grpc.received.map(({ path }) => path)).toEqual(["/summation.SummationService/CalculateSum"]);
    expect(outcome).toMatchObject({
      code: GRPC_UNKNOWN,
      errorCode: "OUTCOME_UNKNOWN",
      details: expect.stringContaining("retry with the same Idempotency-Key"),
    });
  });

  it("GET /health that reached an instance stays 503 UNAVAILABLE: only a sum has an outcome to lose", async () => {
    const answer = await exchange(nginx, "GET /health HTTP/1.1\r\n\r\n");
    expect(http.received.map(({ path }) => path)).toEqual(["/readyz"]);
    expect(answer).toMatch(/^HTTP\/1.1 503[\s\S]*"code":"UNAVAILABLE"/);
  });
});

/**
 * A stand-in Service A instance over gRPC that holds every call sent with `hold: 1` until `release`,
 * and answers any other at once with OK and an empty reply: the calls held are the ones nginx
 * keeps in flight, each on an upstream connection of its own.
 */
async function instanceThatHoldsCalls() {
  const held: ServerHttp2Stream[] = [];
  const server = createHttp2Server();
  server.on("stream", (stream, headers) => {
    stream.on("error", () => undefined);
    if (headers.hold === "1") {
      held.push(stream);
      return;
    }
    stream.respond({ ":status": 200, "content-type": "application/grpc" }, { waitForTrailers: true });
    stream.on("wantTrailers", () => stream.sendTrailers({ "grpc-status": "0" }));
    stream.end(grpcFrame(Buffer.alloc(0)));
  });
  const port = await freePort();
  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
  return {
    port,
    held,
    release() {
      for (const stream of held.splice(0)) stream.close(http2Constants.NGHTTP2_CANCEL);
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const stream of held) stream.session?.destroy();
      }),
  };
}

const count = (outcomes: Array<RawOutcome | undefined>, match: (o: RawOutcome) => boolean) =>
  outcomes.filter((outcome) => outcome !== undefined && match(outcome)).length;

/** Each call's outcome once it has one (undefined before). */
function track(calls: RawCall[]) {
  const outcomes: Array<RawOutcome | undefined> = calls.map(() => undefined);
  calls.forEach((call, i) => {
    call.outcome.then((outcome) => {
      outcomes[i] = outcome;
    });
  });
  return outcomes;
}

describe("a flood of gRPC calls: nginx keeps what one connection and one client address hold in flight bounded", () => {
  let instance: Awaited<ReturnType<typeof instanceThatHoldsCalls>>;
  let nginx: RunningNginx;
  beforeAll(async () => {
    instance = await instanceThatHoldsCalls();
    // Nothing listens on the HTTP port: only the gRPC listener is used.
    nginx = await startNginx({ http: await freePort(), grpc: instance.port });
  });
  afterAll(async () => {
    await nginx.stop();
    await instance.close();
  });

  it(`one connection opening ${STREAMS_PER_CONNECTION + 20} calls at once: ${STREAMS_PER_CONNECTION} are passed on, 20 refused with REFUSED_STREAM`, async () => {
    const session = http2Connection(nginx.grpcPort);
    try {
      const outcomes = track(
        Array.from({ length: STREAMS_PER_CONNECTION + 20 }, () =>
          rawCalculateSum(session, grpcFrame(Buffer.alloc(0)), { hold: "1" }),
        ),
      );
      await waitFor(`${STREAMS_PER_CONNECTION} calls held and 20 refused`, () => {
        return (
          instance.held.length === STREAMS_PER_CONNECTION &&
          count(outcomes, (o) => o.rstCode === http2Constants.NGHTTP2_REFUSED_STREAM) === 20
        );
      });
    } finally {
      instance.release();
      session.destroy();
    }
  });

  it("a client address with 200 calls in flight gets RESOURCE_EXHAUSTED for more, while another address's caller gets answers", async () => {
    // 300 calls from 127.0.0.2, each connection carrying its most.
    const sessions = Array.from({ length: Math.ceil(300 / STREAMS_PER_CONNECTION) }, () =>
      http2Connection(nginx.grpcPort, "127.0.0.2"),
    );
    const caller = summationClient(`127.0.0.1:${nginx.grpcPort}`);
    try {
      const outcomes = track(
        Array.from({ length: 300 }, (_, index) =>
          rawCalculateSum(
            sessions[Math.floor(index / STREAMS_PER_CONNECTION)] as (typeof sessions)[number],
            grpcFrame(Buffer.alloc(0)),
            { hold: "1" },
          ),
        ),
      );
      await waitFor("200 calls held and 100 refused", () => {
        return (
          instance.held.length === 200 &&
          count(
            outcomes,
            (o) =>
              o.headers?.["grpc-status"] === String(GRPC_RESOURCE_EXHAUSTED) &&
              o.headers["error-code"] === "TOO_MANY_REQUESTS",
          ) === 100
        );
      });
      expect(await caller.calculateSum({ a: 1, b: 2 })).toMatchObject({ code: GRPC_OK });
    } finally {
      caller.close();
      instance.release();
      for (const session of sessions) session.destroy();
    }
  });
});

describe("one client address calling faster than nginx's rate per address: its calls wait, other addresses' do not", () => {
  const SHIPPED_RATE = "rate=2000r/s";
  let instance: Awaited<ReturnType<typeof instanceThatHoldsCalls>>;
  let nginx: RunningNginx;
  beforeAll(async () => {
    instance = await instanceThatHoldsCalls();
    // The shipped rate, lowered to 10 calls/s so that the wait is seconds long, far above any noise.
    nginx = await startNginx({ http: await freePort(), grpc: instance.port }, (config) => {
      expect(config).toContain(SHIPPED_RATE);
      return config.replace(SHIPPED_RATE, "rate=10r/s");
    });
  });
  afterAll(async () => {
    await nginx.stop();
    await instance.close();
  });

  it("30 calls at once from 127.0.0.2 are all answered OK, 10 a second, while 127.0.0.1's call is answered at once", async () => {
    const session = http2Connection(nginx.grpcPort, "127.0.0.2");
    const caller = summationClient(`127.0.0.1:${nginx.grpcPort}`);
    try {
      const answeredAt: number[] = [];
      const calls = Array.from({ length: 30 }, () => rawCalculateSum(session, grpcFrame(Buffer.alloc(0))));
      for (const call of calls) call.outcome.then(() => answeredAt.push(Date.now()));
      await waitFor("127.0.0.2's first call answered", () => answeredAt.length > 0);
      expect(await caller.calculateSum({ a: 1, b: 2 })).toMatchObject({ code: GRPC_OK });
      // 10 a second: the other address's answer came while most of 127.0.0.2's calls still waited.
      expect(answeredAt.length).toBeLessThan(20);
      const outcomes = await Promise.all(calls.map((call) => call.outcome));
      expect(outcomes.map((outcome) => outcome.trailers?.["grpc-status"] ?? outcome.headers?.["grpc-status"])).toEqual(
        calls.map(() => String(GRPC_OK)),
      );
      // The 29 after the first, at 10 a second: at least 2.8 s from the first answer to the last.
      expect(Math.max(...answeredAt) - Math.min(...answeredAt)).toBeGreaterThanOrEqual(2_800);
    } finally {
      caller.close();
      session.destroy();
    }
  });
});
