// CalculateSum through nginx over gRPC. Run: k6 run load-tests/sum-grpc.ts (see README.md for the settings).
import { check } from "k6";
import { Rate } from "k6/metrics";
import grpc from "k6/net/grpc";
import type { Options } from "k6/options";
import { randomOperand, scenarioFromEnv, UUID } from "./load.ts";

const GRPC_ADDR = __ENV.GRPC_ADDR ?? "localhost:50051";

// k6 has no built-in failure rate for gRPC (http_req_failed is HTTP only): this one mirrors it.
const grpcReqFailed = new Rate("grpc_req_failed");

const client = new grpc.Client();
// k6 resolves this path from the script's folder, so the contract's .proto is used as is.
client.load(["../proto"], "summation.proto");

export const options: Options = {
  scenarios: { sum_grpc: scenarioFromEnv() },
  thresholds: {
    grpc_req_failed: ["rate<0.01"],
    grpc_req_duration: ["p(99)<100"],
    checks: ["rate>0.99"],
  },
};

/** k6's JSON form of SummationResponse: int64 fields arrive as strings, names in lowerCamelCase. */
interface SumReply {
  result: string;
  eventId: string;
}

export default function (): void {
  // A virtual user keeps one connection (HTTP/2 to nginx) across its iterations.
  if (__ITER === 0) client.connect(GRPC_ADDR, { plaintext: true });
  const a = randomOperand();
  const b = randomOperand();
  const response = client.invoke("summation.SummationService/CalculateSum", { a, b });
  grpcReqFailed.add(response.status !== grpc.StatusOK);
  const reply = response.status === grpc.StatusOK ? (response.message as SumReply) : undefined;
  check(response, {
    "status is OK": (r) => r.status === grpc.StatusOK,
    // Both sides are exact: |a + b| stays below 2^53, and the int64 comes as a decimal string.
    "result is a + b": () => reply?.result === String(a + b),
    "event_id is a UUID": () => UUID.test(reply?.eventId ?? ""),
  });
}
