import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { expect, it } from "vitest";
import { pipelineStatus } from "./pipeline-status.js";
import { loadSettings } from "./settings.js";

it("make status names partitions stopped at a gap", async () => {
  // A Prometheus that knows one stopped partition and nothing else.
  const prometheus = createServer((request, response) => {
    const query = new URL(request.url ?? "/", "http://localhost").searchParams.get("query") ?? "";
    const result = query.includes("service_b_partition_gap") ? [{ metric: {}, value: [0, "1"] }] : [];
    response.setHeader("content-type", "application/json");
    response.end(JSON.stringify({ status: "success", data: { resultType: "vector", result } }));
  });
  await new Promise<void>((resolve) => prometheus.listen(0, "127.0.0.1", resolve));
  try {
    const { port } = prometheus.address() as AddressInfo;
    const lines = await pipelineStatus(loadSettings({ PROMETHEUS_PORT: String(port), SERVICE_B_PORT: "1" }));
    expect(lines).toContainEqual(expect.stringMatching(/^partitions stopped at a gap +1: records deleted before/));
  } finally {
    prometheus.close();
  }
});
