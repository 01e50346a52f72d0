import { freePort } from "@sum/runtime";
import { expect, it } from "vitest";
import { runLoad } from "./load.js";

it("load against an address where nothing listens counts every request as failed, at no more than its rate", async () => {
  const port = await freePort();
  const endpoints = { http: `http://127.0.0.1:${port}`, grpc: `127.0.0.1:${port}`, serviceB: "" };
  for (const transport of ["http", "grpc"] as const) {
    const result = await runLoad(endpoints, { transport, concurrency: 2, seconds: 1, rate: 20 });
    expect(result.acked, transport).toBe(0);
    expect(result.failed, transport).toBeGreaterThan(0);
    expect(result.ackedSum).toBe(0n);
    // An open loop: failures answered at once do not make it send faster than 20/s for 1 s.
    expect(result.acked + result.failed, transport).toBeLessThanOrEqual(20 + 2);
  }
});
