/**
 * `make capacity`: the capacity model (capacity.ts) of a `make bench` report as Markdown tables,
 * written into docs/scaling.md's generated part.
 *
 *   pnpm exec tsx deploy/capacity-cli.ts [results/bench.json] [--write docs/scaling.md]
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { REPO_ROOT } from "@sum/native/settings";
import type { BenchReport } from "@sum/proof/bench";
import { limits, measuredPhase, RATES, sizing, tierCosts } from "./capacity.js";

const figure = (value: number) =>
  value >= 100 ? Math.round(value).toLocaleString("en") : value.toFixed(value < 1 ? 2 : 1);

export function renderMarkdown(report: BenchReport, source: string): string {
  const costs = tierCosts(report);
  const phase = measuredPhase(report);
  const header = [
    "component",
    "CPU-s / 1,000 sums (measured)",
    ...RATES.flatMap((r) => [`cores @${r / 1000}k/s`, `pods @${r / 1000}k/s`]),
  ];
  const rows = costs.map((tier) => [
    tier.tier,
    tier.cpuPer1000.toFixed(3),
    ...RATES.flatMap((rate) => {
      const { cores, pods } = sizing(tier, rate, costs);
      return [cores === 0 ? "-" : figure(cores), pods];
    }),
  ]);
  const totals = RATES.map((rate) => costs.reduce((total, tier) => total + sizing(tier, rate, costs).cores, 0));
  rows.push([
    "**total**",
    costs.reduce((t, c) => t + c.cpuPer1000, 0).toFixed(3),
    ...totals.flatMap((t) => [figure(t), ""]),
  ]);
  const table = (cells: string[][]) => cells.map((row) => `| ${row.join(" | ")} |`).join("\n");
  const separator = (n: number) => Array.from({ length: n }, () => "---");
  const limitRows = limits(costs)
    .sort((a, b) => a.sumsPerSecond - b.sumsPerSecond)
    .map((l) => [l.part, Math.round(l.sumsPerSecond).toLocaleString("en"), l.why, l.beyond]);
  return [
    `From \`${source}\` of ${report.date}: phase \`${phase.name}\`, ${Math.round(phase.perSecond).toLocaleString("en")} sums/s, correctness ${report.correctness.passed ? "PASS" : "FAIL"}.`,
    "",
    table([header, separator(header.length), ...rows]),
    "",
    "Where each part that cannot simply add pods stops, first to last:",
    "",
    table([["part", "stops at sums/s", "why", "past it"], separator(4), ...limitRows]),
  ].join("\n");
}

const BEGIN = "<!-- capacity-table:begin (deploy/capacity-cli.ts writes this part) -->";
const END = "<!-- capacity-table:end -->";

/** The document with the part between the markers replaced by `markdown`. */
export function replaceTable(document: string, markdown: string): string {
  const start = document.indexOf(BEGIN);
  const end = document.indexOf(END);
  if (start < 0 || end < start) throw new Error(`the document has no ${BEGIN} ... ${END} part`);
  return `${document.slice(0, start + BEGIN.length)}\n${markdown}\n${document.slice(end)}`;
}

if (process.argv[1] === import.meta.filename) {
  const [input = join(REPO_ROOT, "results", "bench.json"), flag, output] = process.argv.slice(2);
  if (!existsSync(input)) {
    console.error(`${input} does not exist: run \`make bench\` first (it writes results/bench.json)`);
    process.exit(2);
  }
  const markdown = renderMarkdown(JSON.parse(readFileSync(input, "utf8")) as BenchReport, relative(REPO_ROOT, input));
  if (flag === "--write" && output) writeFileSync(output, replaceTable(readFileSync(output, "utf8"), markdown));
  console.log(markdown);
}
