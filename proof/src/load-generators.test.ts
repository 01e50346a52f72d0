import { once } from "node:events";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { PROTO_FILE } from "@sum/runtime";
import { expect, it } from "vitest";
import { findLoadGenerators, runGrpcSum, runWrk, wrkThreads } from "./load-generators.js";

/**
 * A stand-in for nginx: answers POST /sum after a few milliseconds, so sums are in flight on every
 * connection when the phase ends, and keeps what it answered to compare with what wrk counted.
 */
async function sumServer(answer: (a: number, b: number) => number) {
  const answered = { count: 0, sum: 0, otherRequests: 0 };
  let inFlight = 0;
  let inFlightAtClose = -1;
  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    if (request.method !== "POST") {
      answered.otherRequests++;
      response.end();
      return;
    }
    inFlight++;
    let body = "";
    request.on("data", (chunk: Buffer) => {
      body += chunk.toString();
    });
    request.on("end", () => {
      const { a, b } = JSON.parse(body) as { a: number; b: number };
      const result = answer(a, b);
      setTimeout(() => {
        answered.count++;
        answered.sum += result;
        inFlight--;
        response.setHeader("content-type", "application/json");
        response.end(JSON.stringify({ result, a, b, event_id: "e", service_id: "stub" }));
      }, 3);
    });
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as AddressInfo;
  const close = async () => {
    inFlightAtClose = inFlight;
    server.closeAllConnections();
    server.close();
    await once(server, "close");
    return inFlightAtClose;
  };
  return { endpoints: { http: `http://127.0.0.1:${port}`, grpc: "", serviceB: "" }, answered, close };
}

/** The same stand-in over gRPC, with the contract's .proto. */
async function grpcSumServer(answer: (a: number, b: number) => number) {
  const answered = { count: 0, sum: 0, peers: new Set<string>() };
  let inFlight = 0;
  const definition = protoLoader.loadSync(PROTO_FILE, { longs: Number });
  const proto = grpc.loadPackageDefinition(definition) as unknown as {
    summation: { SummationService: { service: grpc.ServiceDefinition } };
  };
  const server = new grpc.Server();
  server.addService(proto.summation.SummationService.service, {
    calculateSum: (
      call: grpc.ServerUnaryCall<{ a: number; b: number }, unknown>,
      callback: grpc.sendUnaryData<unknown>,
    ) => {
      inFlight++;
      // "ipv4:127.0.0.2:41234" or "127.0.0.2:41234": the address the call came from.
      answered.peers.add(
        call
          .getPeer()
          .replace(/^ipv4:/, "")
          .replace(/:\d+$/, ""),
      );
      const result = answer(call.request.a, call.request.b);
      setTimeout(() => {
        answered.count++;
        answered.sum += result;
        inFlight--;
        callback(null, { result, event_id: "e", service_id: "stub" });
      }, 3);
    },
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (error, bound) =>
      error ? reject(error) : resolve(bound),
    ),
  );
  const close = () => {
    const inFlightAtClose = inFlight;
    server.forceShutdown();
    return inFlightAtClose;
  };
  return { endpoints: { http: "", grpc: `127.0.0.1:${port}`, serviceB: "" }, answered, close };
}

const generators = async () => {
  const found = await findLoadGenerators(() => {});
  const { wrk, grpcSum } = found;
  if (wrk === undefined) throw new Error("wrk is missing: make test installs it (apt) when run as root");
  if (grpcSum === undefined) throw new Error("grpc-sum could not be built: is Go on the PATH?");
  return { wrk, grpcSum };
};
const wrkPath = async () => (await generators()).wrk;

/** Every sum the stand-in answered was counted once, none wrong, and none was still being answered at the end. */
function expectEachAnswerCountedOnce(
  result: Awaited<ReturnType<typeof runWrk>>,
  answered: { count: number; sum: number },
  inFlightAtEnd: number,
) {
  expect(result.acked).toBeGreaterThan(100);
  expect(result.failed, JSON.stringify(result.failures)).toBe(0);
  expect(result.wrong).toBe(0);
  expect(result.acked).toBe(answered.count);
  expect(result.ackedSum).toBe(BigInt(answered.sum));
  expect(inFlightAtEnd).toBe(0);
}

it("wrk spreads many connections over two threads, counts every answered sum once, and ends with none in flight", async () => {
  const wrk = await wrkPath();
  const stub = await sumServer((a, b) => a + b);
  const plan = { transport: "http", concurrency: 16, seconds: 2 } as const;
  const result = await runWrk(wrk, stub.endpoints, plan);
  const inFlightAtEnd = await stub.close();

  expect(wrkThreads(plan.concurrency)).toBe(2);
  expectEachAnswerCountedOnce(result, stub.answered, inFlightAtEnd);
  // A connection that went quiet after the deadline sent only an unfinished request, never answered.
  expect(stub.answered.otherRequests).toBe(0);
});

it("wrk counts an answer whose result is not its a + b as wrong, whichever connection it came on", async () => {
  const wrk = await wrkPath();
  const stub = await sumServer((a, b) => (a % 2 === 0 ? a + b : a + b + 1));
  const result = await runWrk(wrk, stub.endpoints, { transport: "http", concurrency: 8, seconds: 1 });
  await stub.close();

  expect(result.acked).toBe(stub.answered.count);
  expect(result.wrong).toBeGreaterThan(0);
  expect(result.wrong).toBeLessThan(result.acked);
});

it("grpc-sum counts every answered sum once, ends with no call in flight, and counts a result that is not a + b as wrong", async () => {
  const { grpcSum } = await generators();
  const right = await grpcSumServer((a, b) => a + b);
  const result = await runGrpcSum(grpcSum, right.endpoints, { transport: "grpc", concurrency: 16, seconds: 2 });
  const inFlightAtEnd = right.close();

  expectEachAnswerCountedOnce(result, right.answered, inFlightAtEnd);
  expect(result.p50).toBeLessThanOrEqual(result.p99);

  const wrong = await grpcSumServer((a, b) => (a % 2 === 0 ? a + b : a + b + 1));
  const checked = await runGrpcSum(grpcSum, wrong.endpoints, { transport: "grpc", concurrency: 8, seconds: 1 });
  wrong.close();
  expect(checked.wrong).toBeGreaterThan(0);
  expect(checked.wrong).toBeLessThan(checked.acked);
});

it("grpc-sum from several source addresses calls from each of them, and counts every answered sum once", async () => {
  const { grpcSum } = await generators();
  const stub = await grpcSumServer((a, b) => a + b);
  const sources = ["127.0.0.2", "127.0.0.3", "127.0.0.4"];
  const result = await runGrpcSum(grpcSum, stub.endpoints, { transport: "grpc", concurrency: 6, seconds: 1 }, sources);
  const inFlightAtEnd = stub.close();

  expectEachAnswerCountedOnce(result, stub.answered, inFlightAtEnd);
  expect([...stub.answered.peers].sort()).toEqual(sources);
});

it("grpc-sum refuses a source that is not an IP address, saying which", async () => {
  const { grpcSum } = await generators();
  const plan = { transport: "grpc", concurrency: 1, seconds: 1 } as const;
  const endpoints = { http: "", grpc: "127.0.0.1:1", serviceB: "" };
  await expect(runGrpcSum(grpcSum, endpoints, plan, ["127.0.0.2", "localhost"])).rejects.toThrow(
    '-source: "localhost" is not an IP address',
  );
});

it("grpc-sum against an address where nothing listens counts its calls as failed, with no latency to report", async () => {
  const { grpcSum } = await generators();
  const stub = await grpcSumServer((a, b) => a + b);
  stub.close();
  const result = await runGrpcSum(grpcSum, stub.endpoints, { transport: "grpc", concurrency: 2, seconds: 1 });
  expect(result.acked).toBe(0);
  expect(result.failures["gRPC Unavailable"]).toBeGreaterThan(0);
  expect(result.p99).toBeNaN();
});
