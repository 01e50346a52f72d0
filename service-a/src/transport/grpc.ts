import type http2 from "node:http2";
import net from "node:net";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { ReflectionService } from "@grpc/reflection";
import { MAX_MESSAGE_BYTES } from "@sum/contract";
import { asAppError, ERROR_STATUS } from "@sum/service-kit";
import { HealthImplementation } from "grpc-health-check";
import type { Logger } from "pino";
import type { SumCommand, SumReceipt } from "../domain/calculate-sum.js";
import type { ServiceMetrics } from "../metrics.js";
import { HEALTH_PROTO_FILE, PROTO_FILE } from "../paths.js";

export const SERVICE_NAME = "summation.SummationService";
/** The method as gRPC names it (its span's name too). */
export const SUM_METHOD = `${SERVICE_NAME}/CalculateSum`;
const METHOD = `/${SUM_METHOD}`;

export interface GrpcDeps {
  calculateSum: (command: SumCommand) => Promise<SumReceipt>;
  metrics: ServiceMetrics;
  logger: Logger;
}

// int64 fields arrive as decimal strings, so no precision is lost before the domain checks the range.
// Each is at most 20 characters (protobuf decodes a varint of at most 10 bytes), so BigInt() of it
// costs nothing, and the decoder skips whatever else a message holds in one pass.
const packageDefinition = protoLoader.loadSync(PROTO_FILE, {
  keepCase: true,
  longs: String,
  defaults: true,
});
const proto = grpc.loadPackageDefinition(packageDefinition) as unknown as {
  summation: { SummationService: grpc.ServiceClientConstructor };
};

interface SummationRequest {
  a: string;
  b: string;
}

interface SummationResponse {
  result: string;
  event_id: string;
  service_id: string;
}

function metadataValue(metadata: grpc.Metadata, key: string): string | undefined {
  const value = metadata.get(key)[0];
  return value === undefined ? undefined : value.toString();
}

export interface GrpcServer {
  server: grpc.Server;
  health: HealthImplementation;
}

/** Calls one HTTP/2 connection may have open at once; more are refused with REFUSED_STREAM (as nginx's). */
export const MAX_CONCURRENT_STREAMS = 100;

export function buildGrpcServer(deps: GrpcDeps): GrpcServer {
  const server = new grpc.Server({
    "grpc.max_receive_message_length": MAX_MESSAGE_BYTES,
    "grpc.keepalive_permit_without_calls": 1,
    // grpc-js sets none of these itself: one connection could open streams without end, hold
    // unbounded buffered data, and stay open idle for ever.
    "grpc.max_concurrent_streams": MAX_CONCURRENT_STREAMS,
    // In MB, Node's own default, which grpc-js lifts: a connection's 100 calls at the 16 KiB message
    // limit hold under 2 MB; past 10, Node refuses new streams (ENHANCE_YOUR_CALM) until it drains.
    "grpc-node.max_session_memory": 10,
    // Idle connections are closed (GOAWAY) after 5 min: far longer than nginx keeps one idle (4 s)
    // or a Gateway does (60 s by default), so the GOAWAY never races a call they send (closeGrpc).
    "grpc.max_connection_idle_ms": 5 * 60_000,
    // A peer that stops answering (its host gone, no FIN) is found by a ping each minute, answered
    // within 20 s, instead of holding its calls and buffers until the kernel gives up hours later.
    "grpc.keepalive_time_ms": 60_000,
    "grpc.keepalive_timeout_ms": 20_000,
    // Channelz's per-call statistics (call counters, timestamps, session lookups) are read by no tool
    // here; without them a call costs about a fifth less server CPU (ghz against grpc-js alone).
    "grpc.enable_channelz": 0,
  });

  const calculateSum: grpc.handleUnaryCall<SummationRequest, SummationResponse> = (call, callback) => {
    const started = performance.now();
    const finish = (code: grpc.status) => {
      const labels = { transport: "grpc", route: METHOD, status: grpc.status[code] ?? String(code) };
      deps.metrics.requests.inc(labels);
      deps.metrics.requestDuration.observe(labels, (performance.now() - started) / 1000);
    };
    deps
      .calculateSum({
        a: BigInt(call.request.a),
        b: BigInt(call.request.b),
        idempotencyKey: metadataValue(call.metadata, "idempotency-key"),
        traceparent: metadataValue(call.metadata, "traceparent"),
      })
      .then((receipt) => {
        const metadata = new grpc.Metadata();
        metadata.set("x-service-id", receipt.serviceId);
        if (receipt.replayed) metadata.set("idempotent-replayed", "true");
        call.sendMetadata(metadata);
        finish(grpc.status.OK);
        callback(null, {
          result: receipt.result.toString(),
          event_id: receipt.eventId,
          service_id: receipt.serviceId,
        });
      })
      .catch((error: unknown) => {
        const appError = asAppError(error);
        const code = ERROR_STATUS[appError.code].grpc;
        if (ERROR_STATUS[appError.code].http >= 500)
          deps.logger.warn({ err: error, code: appError.code }, "call failed");
        const trailers = new grpc.Metadata();
        trailers.set("error-code", appError.code);
        finish(code);
        callback({ code, details: appError.message, metadata: trailers });
      });
  };

  server.addService(proto.summation.SummationService.service, { CalculateSum: calculateSum });
  const health = new HealthImplementation({ "": "NOT_SERVING", [SERVICE_NAME]: "NOT_SERVING" });
  health.addToServer(server);
  // Reflection describes the health service too, so `grpcurl ... grpc.health.v1.Health/Check` works without a .proto.
  new ReflectionService({ ...packageDefinition, ...protoLoader.loadSync(HEALTH_PROTO_FILE) }).addToServer(server);
  return { server, health };
}

export function listenGrpc(server: grpc.Server, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.bindAsync(`${host}:${port}`, grpc.ServerCredentials.createInsecure(), (error, boundPort) =>
      error ? reject(error) : resolve(boundPort),
    );
  });
}

/** What grpc-js keeps to itself and a graceful stop needs: its HTTP/2 listeners, each with its open sessions. */
interface GrpcInternals {
  http2Servers: Map<http2.Http2Server, { sessions: Set<http2.ServerHttp2Session> }>;
}

/**
 * Lets calls in flight finish, up to `timeoutMs`, then cuts the rest. A GOAWAY from the server races
 * with a call the client is sending on that connection, and nginx answers such a call as failed
 * (it retries no POST). So the listeners stop accepting, the connections keep serving, and the
 * client closes each one itself: nginx after a call once the connection is 5 s old, or after 4 s
 * idle (nginx/nginx.conf). Only what is left at the deadline gets grpc-js's shutdown (GOAWAY);
 * returns how many sessions that was (none, with nginx set up as it is).
 */
export async function closeGrpc(server: grpc.Server, timeoutMs: number): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  const internals = server as unknown as GrpcInternals;
  // net.Server's close: it stops accepting, no more. Http2Server's own close also sends every open
  // session a GOAWAY from Node.js 24 on (nodejs/node#57586), the very race this avoids.
  for (const listener of internals.http2Servers.keys()) net.Server.prototype.close.call(listener);
  const sessions = [...internals.http2Servers.values()]
    .flatMap((listener) => [...listener.sessions])
    .filter((session) => !session.closed);
  const closedByClients = Promise.all(
    sessions.map((session) => new Promise((resolve) => session.once("close", resolve))),
  );
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([closedByClients, new Promise((resolve) => (timer = setTimeout(resolve, timeoutMs)))]);
  clearTimeout(timer);
  const cut = sessions.filter((session) => !session.closed).length;
  await new Promise<void>((resolve) => {
    const force = setTimeout(
      () => {
        server.forceShutdown();
        resolve();
      },
      Math.max(0, deadline - Date.now()),
    );
    server.tryShutdown(() => {
      clearTimeout(force);
      resolve();
    });
  });
  return cut;
}
