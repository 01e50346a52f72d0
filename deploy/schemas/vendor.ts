/**
 * Regenerates the JSON schemas in this folder, the ones kubeconform validates the chart's objects
 * against (no schema host is reachable when the tests run). Only the kinds the chart renders.
 *
 *   tsx deploy/schemas/vendor.ts strimzi/strimzi-kafka-operator=<git dir> nginx/nginx-gateway-fabric=<git dir>
 *
 * Go modules come from the Go module proxy (`go mod download`); the two GitHub repositories, which
 * publish no Go module with their CRDs, from local clones holding the commits named below.
 * SOURCES.md says where each file comes from and under which licence.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { parseAllDocuments } from "yaml";
import { KUBERNETES_VERSION, SCHEMAS_DIR } from "../chart.js";

type Source = { goModule: string; path: string } | { gitRepo: string; commit: string; path: string };

type Json = Record<string, unknown>;

const KUBERNETES = `k8s.io/kubernetes@v${KUBERNETES_VERSION}`;
const STRIMZI = { gitRepo: "strimzi/strimzi-kafka-operator", commit: "8541da1e336bdcda9647aeacfbc2048e57580a52" };
const NGINX_GATEWAY = { gitRepo: "nginx/nginx-gateway-fabric", commit: "e55bfe33969f313b210d3497b3ae56b923175d69" };
const CNPG = "github.com/cloudnative-pg/cloudnative-pg@v1.30.0";
const PROMETHEUS_OPERATOR = "github.com/prometheus-operator/prometheus-operator@v0.85.0";
const GATEWAY_API = "sigs.k8s.io/gateway-api@v1.6.3";

/** Core kinds: the OpenAPI v3 document of their group version, and the schema's name in it. */
const CORE_KINDS: Array<{ source: Source; definition: string }> = [
  ["api__v1", "io.k8s.api.core.v1.ConfigMap"],
  ["api__v1", "io.k8s.api.core.v1.Service"],
  ["apis__apps__v1", "io.k8s.api.apps.v1.Deployment"],
  ["apis__batch__v1", "io.k8s.api.batch.v1.Job"],
  ["apis__autoscaling__v2", "io.k8s.api.autoscaling.v2.HorizontalPodAutoscaler"],
  ["apis__policy__v1", "io.k8s.api.policy.v1.PodDisruptionBudget"],
  ["apis__networking.k8s.io__v1", "io.k8s.api.networking.v1.NetworkPolicy"],
].map(([file, definition]) => ({
  source: { goModule: KUBERNETES, path: `api/openapi-spec/v3/${file}_openapi.json` },
  definition: definition as string,
}));

const CRDS: Source[] = [
  ...[
    "040-Crd-kafka",
    "041-Crd-kafkaconnect",
    "043-Crd-kafkatopic",
    "044-Crd-kafkauser",
    "045-Crd-kafkanodepool",
    "047-Crd-kafkaconnector",
  ].map((name) => ({ ...STRIMZI, path: `install/cluster-operator/${name}.yaml` })),
  { goModule: CNPG, path: "config/crd/bases/postgresql.cnpg.io_clusters.yaml" },
  ...["podmonitors", "prometheusrules"].map((name) => ({
    goModule: PROMETHEUS_OPERATOR,
    path: `example/prometheus-operator-crd/monitoring.coreos.com_${name}.yaml`,
  })),
  ...["httproutes", "grpcroutes"].map((name) => ({
    goModule: GATEWAY_API,
    path: `config/crd/standard/gateway.networking.k8s.io_${name}.yaml`,
  })),
  { ...NGINX_GATEWAY, path: "config/crd/bases/gateway.nginx.org_clientsettingspolicies.yaml" },
];

function read(source: Source, gitDirs: Map<string, string>): string {
  if ("goModule" in source) {
    const { Dir } = JSON.parse(execFileSync("go", ["mod", "download", "-json", source.goModule], { encoding: "utf8" }));
    return readFileSync(join(Dir, source.path), "utf8");
  }
  const gitDir = gitDirs.get(source.gitRepo);
  if (!gitDir) throw new Error(`pass ${source.gitRepo}=<git dir of a clone> (commit ${source.commit})`);
  return execFileSync("git", ["--git-dir", gitDir, "show", `${source.commit}:${source.path}`], { encoding: "utf8" });
}

/**
 * kubeconform's "strict" schemas: an object with declared properties accepts no other, so a
 * misspelt field fails validation instead of being silently dropped by the API server. Branches of
 * oneOf/anyOf/allOf only constrain part of their object (Strimzi's env: value or valueFrom), so
 * they stay open.
 */
function strict(node: unknown, isBranch = false): unknown {
  if (Array.isArray(node)) return node.map((item) => strict(item, isBranch));
  if (node === null || typeof node !== "object") return node;
  const object = Object.fromEntries(
    Object.entries(node).map(([key, value]) => [key, strict(value, ["oneOf", "anyOf", "allOf"].includes(key))]),
  ) as Json;
  const open = isBranch || "additionalProperties" in object || object["x-kubernetes-preserve-unknown-fields"] === true;
  if (object.properties && !open) object.additionalProperties = false;
  return object;
}

function write(group: string, kind: string, version: string, schema: unknown): void {
  const path = join(SCHEMAS_DIR, group, `${kind.toLowerCase()}_${version}.json`);
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, `${JSON.stringify(strict(schema))}\n`);
  console.log(path);
}

/** One core kind: its schema and every schema it references, in one self-contained file. */
function vendorCoreKind(document: Json, definition: string): void {
  const all = (document.components as { schemas: Record<string, Json> }).schemas;
  const reachable: Record<string, Json> = {};
  const visit = (name: string) => {
    if (reachable[name]) return;
    reachable[name] = all[name] as Json;
    for (const [, referenced] of JSON.stringify(all[name]).matchAll(/"#\/components\/schemas\/([^"]+)"/g)) {
      visit(referenced as string);
    }
  };
  visit(definition);
  const [groupVersionKind] = (all[definition] as Json)["x-kubernetes-group-version-kind"] as Array<
    Record<"group" | "version" | "kind", string>
  >;
  if (!groupVersionKind) throw new Error(`${definition} names no group, version and kind`);
  const { group, version, kind } = groupVersionKind;
  write(group || "v1", kind, version, {
    $ref: `#/components/schemas/${definition}`,
    components: { schemas: reachable },
  });
}

function vendorCrd(text: string): void {
  for (const document of parseAllDocuments(text)) {
    const crd = document.toJSON() as { spec: { group: string; names: { kind: string }; versions: Json[] } };
    for (const version of crd.spec.versions) {
      // The version the API server stores, the one the chart writes.
      if (version.storage !== true) continue;
      const schema = (version.schema as { openAPIV3Schema: Json }).openAPIV3Schema;
      write(crd.spec.group, crd.spec.names.kind, version.name as string, schema);
    }
  }
}

const gitDirs = new Map(process.argv.slice(2).map((argument) => argument.split("=", 2) as [string, string]));
for (const { source, definition } of CORE_KINDS) vendorCoreKind(JSON.parse(read(source, gitDirs)), definition);
for (const source of CRDS) vendorCrd(read(source, gitDirs));
