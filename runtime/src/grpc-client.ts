import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";

/** The contract's .proto, at the repository root. */
export const PROTO_FILE = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "proto", "summation.proto");

export interface SumReply {
  result: string;
  event_id: string;
  service_id: string;
}

export interface GrpcOutcome {
  code: grpc.status;
  details?: string;
  /** The `error-code` trailer of a failed call: the contract's error code. */
  errorCode?: string;
  reply?: SumReply;
  replayed?: boolean;
}

export interface SummationClient {
  calculateSum(request: Record<string, unknown>, metadata?: Record<string, string>): Promise<GrpcOutcome>;
  close(): void;
}

/** A plain grpc-js client of the contract's .proto, as any user would write it. */
export function summationClient(target: string, protoFile = PROTO_FILE): SummationClient {
  const definition = protoLoader.loadSync(protoFile, { keepCase: true, longs: String, defaults: true });
  const proto = grpc.loadPackageDefinition(definition) as unknown as {
    summation: { SummationService: grpc.ServiceClientConstructor };
  };
  const client = new proto.summation.SummationService(
    target,
    grpc.credentials.createInsecure(),
  ) as unknown as grpc.Client & {
    CalculateSum: (
      request: Record<string, unknown>,
      metadata: grpc.Metadata,
      callback: (error: grpc.ServiceError | null, reply?: SumReply) => void,
    ) => grpc.ClientUnaryCall;
  };
  return {
    calculateSum(request, metadata = {}) {
      const md = new grpc.Metadata();
      for (const [key, value] of Object.entries(metadata)) md.set(key, value);
      return new Promise((resolve) => {
        let replayed = false;
        const call = client.CalculateSum(request, md, (error, reply) => {
          if (error) {
            const errorCode = error.metadata?.get("error-code")[0]?.toString();
            resolve({ code: error.code, details: error.details, ...(errorCode ? { errorCode } : {}) });
          } else resolve({ code: grpc.status.OK, ...(reply ? { reply } : {}), replayed });
        });
        call.on("metadata", (received) => {
          replayed = received.get("idempotent-replayed")[0] === "true";
        });
      });
    },
    close: () => client.close(),
  };
}
