/**
 * The chart as the tests and CI see it: rendered with helm, validated with kubeconform against the
 * schemas vendored in deploy/schemas. Both tools come from the Go module proxy (.ci/run installs them).
 */
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { homedir } from "node:os";
import { delimiter, join } from "node:path";
import { parseAllDocuments } from "yaml";

export const DEPLOY_DIR = import.meta.dirname;
export const CHART_DIR = join(DEPLOY_DIR, "helm", "sum-pipeline");
export const SCHEMAS_DIR = join(DEPLOY_DIR, "schemas");
/** The Kubernetes version the core schemas are vendored from, and that helm renders for. */
export const KUBERNETES_VERSION = "1.34.3";
export const PROFILES = ["small", "production"] as const;
export type Profile = (typeof PROFILES)[number];

/** How CI installs each tool (.ci/run runs the same commands). */
export const TOOLS = {
  helm: "go install helm.sh/helm/v3/cmd/helm@v3.22.0",
  kubeconform: "go install github.com/yannh/kubeconform/cmd/kubeconform@v0.8.0",
} as const;

export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  spec?: any;
  data?: Record<string, string>;
}

/** The tool's path, from PATH or where `go install` puts it; a missing tool says how to install it. */
export function tool(name: keyof typeof TOOLS, env: NodeJS.ProcessEnv = process.env): string {
  const dirs = [...(env.PATH ?? "").split(delimiter), join(env.GOPATH ?? join(homedir(), "go"), "bin")];
  const found = dirs.map((dir) => join(dir, name)).find((path) => existsSync(path));
  if (!found) throw new Error(`${name} is not installed; install it with: ${TOOLS[name]} (into $HOME/go/bin)`);
  return found;
}

function run(file: string, args: string[], input?: string): string {
  try {
    return execFileSync(file, args, { encoding: "utf8", input, stdio: ["pipe", "pipe", "pipe"] });
  } catch (error) {
    const { stdout, stderr } = error as { stdout?: string; stderr?: string };
    throw new Error(`${file} ${args.join(" ")} failed:\n${stdout ?? ""}${stderr ?? ""}`);
  }
}

function valuesFile(profile: Profile): string {
  return join(CHART_DIR, `values-${profile}.yaml`);
}

export function helmLint(profile: Profile): string {
  return run(tool("helm"), [
    "lint",
    "--strict",
    "--kube-version",
    KUBERNETES_VERSION,
    CHART_DIR,
    "-f",
    valuesFile(profile),
  ]);
}

/** `helm template` of a profile as YAML text; `set` adds --set overrides. */
export function renderManifest(profile: Profile, set: string[] = [], chartDir = CHART_DIR): string {
  const overrides = set.flatMap((value) => ["--set", value]);
  return run(tool("helm"), [
    "template",
    "sum",
    chartDir,
    "--namespace",
    "sum-pipeline",
    "--kube-version",
    KUBERNETES_VERSION,
    "-f",
    valuesFile(profile),
    ...overrides,
  ]);
}

export function parseManifest(manifest: string): K8sObject[] {
  return parseAllDocuments(manifest)
    .map((document) => document.toJSON() as K8sObject | null)
    .filter((object): object is K8sObject => object !== null);
}

export interface Validation {
  valid: number;
  invalid: number;
  errors: number;
  skipped: number;
  problems: string[];
}

/**
 * kubeconform over a manifest, strictly (unknown fields are errors) and only against the vendored
 * schemas: a kind without one is an error, never skipped.
 */
export function validate(manifest: string): Validation {
  const args = [
    "-strict",
    "-summary",
    "-output",
    "json",
    "-schema-location",
    join(SCHEMAS_DIR, "{{.Group}}/{{.ResourceKind}}_{{.ResourceAPIVersion}}.json"),
    "-",
  ];
  let output: string;
  try {
    output = execFileSync(tool("kubeconform"), args, { encoding: "utf8", input: manifest });
  } catch (error) {
    // Exit status 1 when a resource is invalid; the JSON report is still on stdout.
    output = (error as { stdout: string }).stdout;
  }
  const report = JSON.parse(output) as {
    resources: Array<{ kind: string; name: string; status: string; msg: string }>;
    summary: { valid: number; invalid: number; errors: number; skipped: number };
  };
  return {
    ...report.summary,
    problems: report.resources.map(
      (resource) => `${resource.kind} ${resource.name}: ${resource.status} ${resource.msg}`,
    ),
  };
}
