// POST /sum through nginx. Run: k6 run load-tests/sum-http.ts (see README.md for the settings).
import { check } from "k6";
import http from "k6/http";
import type { Options } from "k6/options";
import { randomOperand, scenarioFromEnv, UUID } from "./load.ts";

const BASE_URL = __ENV.BASE_URL ?? "http://localhost:8090";

export const options: Options = {
  scenarios: { sum_http: scenarioFromEnv() },
  thresholds: {
    http_req_failed: ["rate<0.01"],
    http_req_duration: ["p(99)<100"],
    checks: ["rate>0.99"],
  },
};

interface SumResponse {
  result: number;
  event_id: string;
}

export default function (): void {
  const a = randomOperand();
  const b = randomOperand();
  const response = http.post(`${BASE_URL}/sum`, JSON.stringify({ a, b }), {
    headers: { "Content-Type": "application/json" },
  });
  // Only a 200 has the sum's body; an error body has another shape (or is not JSON at all).
  const body = response.status === 200 ? (response.json() as unknown as SumResponse) : undefined;
  check(response, {
    "status is 200": (r) => r.status === 200,
    "result is a + b": () => body?.result === a + b,
    "event_id is a UUID": () => UUID.test(body?.event_id ?? ""),
  });
}
