import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { expect, it } from "vitest";
import { randomPasswords } from "./passwords.js";
import { pipelineStatus } from "./pipeline-status.js";
import { loadSettings } from "./settings.js";

/**
 * `make status`'s lines from a Prometheus that answers each query with the value of the first of
 * `answers` whose key the query contains, and with no series if that value is undefined or none does.
 */
async function statusFrom(answers: Array<[string, string | undefined]>): Promise<string[]> {
  const prometheus = createServer((request, response) => {
    const query = new URL(request.url ?? "/", "http://localhost").searchParams.get("query") ?? "";
    const value = answers.find(([key]) => query.includes(key))?.[1];
    const result = value === undefined ? [] : [{ metric: {}, value: [0, value] }];
    response.setHeader("content-type", "application/json");
    response.end(JSON.stringify({ status: "success", data: { resultType: "vector", result } }));
  });
  await new Promise<void>((resolve) => prometheus.listen(0, "127.0.0.1", resolve));
  try {
    const { port } = prometheus.address() as AddressInfo;
    return await pipelineStatus(
      loadSettings({ ...randomPasswords(), PROMETHEUS_PORT: String(port), SERVICE_B_PORT: "1" }),
    );
  } finally {
    prometheus.close();
  }
}

it("make status names partitions stopped at a gap", async () => {
  const lines = await statusFrom([["service_b_partition_gap", "1"]]);
  expect(lines).toContainEqual(expect.stringMatching(/^partitions stopped at a gap +1: records deleted before/));
});

/** A reconciler scraped and passing; `absent(` first, as its query names `up{job="reconciler"}` too. */
const reconciler = (figures: Record<string, string | undefined>): Array<[string, string | undefined]> => [
  ["absent(", undefined],
  ...Object.entries({
    'up{job="reconciler"}': "1",
    reconciler_missing_events: "0",
    reconciler_missing_after_repair_events: "0",
    reconciler_late_events: "12",
    reconciler_resent_events_total: "3.0416666",
    reconciler_last_pass_timestamp_seconds: "4.2",
    ...figures,
  }),
];

it.each([
  ["passing", reconciler({}), "0 missing, 12 late, 3 re-sent in 1 h (last pass 4 s ago)"],
  [
    "passing, events missing after a re-send",
    reconciler({ reconciler_missing_events: "5", reconciler_missing_after_repair_events: "2" }),
    "5 missing (2 still missing after a re-send: its log names the minutes), 12 late, 3 re-sent in 1 h (last pass 4 s ago)",
  ],
  [
    "before its first pass",
    reconciler({ reconciler_last_pass_timestamp_seconds: undefined }),
    "running, no pass ended yet",
  ],
  ["down", reconciler({ 'up{job="reconciler"}': "0" }), "down: Prometheus cannot scrape its metrics"],
  [
    "not scraped",
    [["absent(", "1"]] as Array<[string, string | undefined]>,
    "not scraped: Prometheus has no reconciler target",
  ],
])("make status shows the reconciler %s", async (_, answers, status) => {
  const lines = await statusFrom(answers);
  expect(lines).toContainEqual(`${"reconciler".padEnd(34)} ${status}`);
});
