import { freePort } from "@sum/test-support";
import { expect, it } from "vitest";
import { runLoad } from "./load.js";

it("load against an address where nothing listens counts every request as failed and ends on time", async () => {
  const port = await freePort();
  const endpoints = { http: `http://127.0.0.1:${port}`, grpc: `127.0.0.1:${port}`, serviceB: "" };
  for (const transport of ["http", "grpc"] as const) {
    const started = performance.now();
    const result = await runLoad(endpoints, { transport, concurrency: 2, seconds: 1, rate: 20 });
    expect(result.acked, transport).toBe(0);
    expect(result.failed, transport).toBeGreaterThan(0);
    expect(result.ackedSum).toBe(0n);
    expect(performance.now() - started).toBeLessThan(10_000);
  }
});
