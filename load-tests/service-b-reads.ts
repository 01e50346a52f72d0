// GET /api/total and /api/summation on Service B. Run: k6 run load-tests/service-b-reads.ts (see README.md).
import { check } from "k6";
import http from "k6/http";
import type { Options } from "k6/options";
import { scenarioFromEnv } from "./load.ts";

const SERVICE_B_URL = __ENV.SERVICE_B_URL ?? "http://localhost:8082";

export const options: Options = {
  scenarios: { service_b_reads: scenarioFromEnv() },
  thresholds: {
    http_req_failed: ["rate<0.01"],
    http_req_duration: ["p(99)<100"],
    checks: ["rate>0.99"],
  },
};

interface Total {
  total: string;
  events_applied: number;
  source: string;
}

export default function (): void {
  const total = http.get(`${SERVICE_B_URL}/api/total`);
  const body = total.status === 200 ? (total.json() as unknown as Total) : undefined;
  const applied = body?.events_applied ?? -1;
  check(total, {
    "GET /api/total is 200": (r) => r.status === 200,
    // An exact decimal: a string of digits, never a float that rounds.
    "total is an exact decimal string": () => typeof body?.total === "string" && /^-?\d+$/.test(body.total),
    "events_applied is a whole number": () => Number.isInteger(applied) && applied >= 0,
    "source is the replica or the leader": () => body?.source === "replica" || body?.source === "leader",
  });

  const summation = http.get(`${SERVICE_B_URL}/api/summation`);
  check(summation, {
    "GET /api/summation is 200": (r) => r.status === 200,
    "the body is a bare JSON number": (r) => typeof r.json() === "number",
  });
}
