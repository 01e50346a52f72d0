import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** This folder: dashboards/ holds the dashboard JSON, provisioning/ what Grafana loads at start. */
export const GRAFANA_DIR = dirname(fileURLToPath(import.meta.url));

export interface DatasourceRef {
  type?: string;
  uid?: string;
}

export interface Target {
  refId?: string;
  expr?: string;
  datasource?: DatasourceRef;
}

export interface Threshold {
  color: string;
  value: number | null;
}

export interface Panel {
  id?: number;
  type?: string;
  title?: string;
  description?: string;
  gridPos?: { x: number; y: number; w: number; h: number };
  datasource?: DatasourceRef;
  fieldConfig?: { defaults?: { unit?: string; thresholds?: { mode: string; steps: Threshold[] } } };
  targets?: Target[];
  /** A row's panels while it is collapsed; an open row's panels follow it in the dashboard's list. */
  panels?: Panel[];
}

export interface Dashboard {
  uid?: string;
  title?: string;
  schemaVersion?: number;
  panels?: Panel[];
  templating?: { list?: Array<{ name: string }> };
  annotations?: { list?: unknown[] };
  time?: { from: string; to: string };
}

export function readDashboard(file: string): Dashboard {
  return JSON.parse(readFileSync(join(GRAFANA_DIR, "dashboards", file), "utf8")) as Dashboard;
}

/** Every panel that is not a row, with the title of the row it sits in ("" above the first row). */
export function panelsInRows(dashboard: Dashboard): Array<{ row: string; panel: Panel }> {
  const placed: Array<{ row: string; panel: Panel }> = [];
  let row = "";
  for (const panel of dashboard.panels ?? []) {
    if (panel.type === "row") {
      row = panel.title ?? "";
      for (const inner of panel.panels ?? []) placed.push({ row, panel: inner });
    } else {
      placed.push({ row, panel });
    }
  }
  return placed;
}

const NOT_METRICS = new Set(["and", "or", "unless", "bool", "offset", "inf", "nan"]);

/**
 * The metric names a PromQL expression reads: what is left once strings, label matchers, range
 * windows and label lists (by, on, ...) are removed, and function calls (a name before "(") skipped.
 */
export function metricNames(expr: string): string[] {
  const bare = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\{[^}]*\}/g, "")
    .replace(/\[[^\]]*\]/g, "")
    .replace(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, "");
  const names = [...bare.matchAll(/(?<![\w.$])[a-zA-Z_:][\w:]*(?![\w:]|\s*\()/g)].map((match) => match[0]);
  return [...new Set(names.filter((name) => !NOT_METRICS.has(name.toLowerCase())))];
}
