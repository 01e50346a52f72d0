import http2 from "node:http2";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { ReflectionService } from "@grpc/reflection";
import { HealthImplementation } from "grpc-health-check";
import type { Logger } from "pino";
import type { SumCommand, SumReceipt } from "../domain/calculate-sum.js";
import type { ServiceMetrics } from "../metrics.js";
import { HEALTH_PROTO_FILE, PROTO_FILE } from "../paths.js";
import { asAppError, ERROR_STATUS } from "./error-status.js";

export const SERVICE_NAME = "summation.SummationService";
const METHOD = `/${SERVICE_NAME}/CalculateSum`;
/** The same ceiling as the HTTP body limit. */
const MAX_MESSAGE_BYTES = 16 * 1024;

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

export function buildGrpcServer(deps: GrpcDeps): GrpcServer {
  const server = new grpc.Server({
    "grpc.max_receive_message_length": MAX_MESSAGE_BYTES,
    "grpc.keepalive_permit_without_calls": 1,
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

/** What grpc-js keeps to itself and a graceful stop needs: its HTTP/2 listeners and sessions. */
interface GrpcInternals {
  http2Servers: Map<http2.Http2Server, unknown>;
  sessions: Map<http2.ServerHttp2Session, unknown>;
}

/** Time for a client (nginx) to read the first GOAWAY and stop opening streams on its connection. */
const GOAWAY_GRACE_MS = 1000;

/**
 * Lets calls in flight finish, up to `timeoutMs`, then cuts the rest. grpc-js's own shutdown sends
 * one GOAWAY that refuses streams already on their way, which a proxy that reuses connections
 * (nginx) then answers as failed. So first the listeners stop accepting, and each session gets a
 * GOAWAY with the highest stream id (RFC 9113 6.8, as grpc-js does at max connection age): the
 * client opens no new streams there, and the ones on their way are still served. Then the shutdown.
 */
export async function closeGrpc(server: grpc.Server, timeoutMs: number): Promise<void> {
  const internals = server as unknown as GrpcInternals;
  for (const listener of internals.http2Servers.keys()) listener.close();
  const sessions = [...internals.sessions.keys()].filter((session) => !session.closed);
  for (const session of sessions) session.goaway(http2.constants.NGHTTP2_NO_ERROR, 2 ** 31 - 1);
  if (sessions.length > 0) await new Promise((resolve) => setTimeout(resolve, GOAWAY_GRACE_MS));
  await new Promise<void>((resolve) => {
    const timer = setTimeout(() => {
      server.forceShutdown();
      resolve();
    }, timeoutMs);
    server.tryShutdown(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}
