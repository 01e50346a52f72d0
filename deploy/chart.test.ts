// biome-ignore-all lint/suspicious/noTemplateCurlyInString: the connector and Helm use ${...} placeholders
/**
 * Offline checks of the Kubernetes chart (no cluster can run here): helm lint and template for both
 * profiles, every rendered object against the vendored schemas, the chart's own refusals, policies,
 * and parity with the native and Compose stacks, which share their configuration files with it.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { TOPICS } from "@sum/contract";
import { REPO_ROOT } from "@sum/native/settings";
import { settingsSchema as reconcilerSettings } from "@sum/reconciler/config";
import { settingsSchema as serviceASettings } from "@sum/service-a/config";
import { settingsSchema as serviceBSettings } from "@sum/service-b/config";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import {
  CHART_DIR,
  helmLint,
  type K8sObject,
  PROFILES,
  type Profile,
  parseManifest,
  renderManifest,
  TOOLS,
  tool,
  validate,
} from "./chart.js";

const read = (path: string) => readFileSync(join(REPO_ROOT, path), "utf8");
const manifests = Object.fromEntries(PROFILES.map((profile) => [profile, renderManifest(profile)])) as Record<
  Profile,
  string
>;
const rendered = (profile: Profile) => parseManifest(manifests[profile]);

function only(objects: K8sObject[], kind: string, nameSuffix = ""): K8sObject {
  const matching = objects.filter((object) => object.kind === kind && object.metadata.name.endsWith(nameSuffix));
  expect(matching, `one ${kind} named *${nameSuffix}`).toHaveLength(1);
  return matching[0] as K8sObject;
}

interface Container {
  name: string;
  image: string;
  env?: Array<{ name: string; value?: string; valueFrom?: { secretKeyRef?: { name: string; key: string } } }>;
  ports?: Array<{ name: string; containerPort: number }>;
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  securityContext?: Record<string, unknown>;
  readinessProbe?: { httpGet?: { path: string } };
  livenessProbe?: { httpGet?: { path: string } };
  command?: string[];
}

/** The pod templates of Deployments and Jobs: the workloads the chart itself defines. */
function podTemplates(objects: K8sObject[]) {
  return objects
    .filter((object) => object.kind === "Deployment" || object.kind === "Job")
    .map((object) => ({ object, pod: object.spec.template.spec as { securityContext: any; containers: Container[] } }));
}

function container(objects: K8sObject[], deploymentSuffix: string): Container {
  return only(objects, "Deployment", deploymentSuffix).spec.template.spec.containers[0];
}

function envNames(c: Container): string[] {
  return (c.env ?? []).map((variable) => variable.name);
}

/** A Compose service's environment, YAML merge keys applied, ${...} defaults left as written. */
function composeEnvironment(service: string): Record<string, string> {
  const compose = parse(read("docker-compose/docker-compose.yml"), { merge: true });
  return compose.services[service].environment;
}

/** key=value lines of a Java properties file. */
function properties(path: string): Record<string, string> {
  const lines = read(path)
    .split("\n")
    .filter((line) => /^[a-z]/.test(line));
  return Object.fromEntries(lines.map((line) => [line.slice(0, line.indexOf("=")), line.slice(line.indexOf("=") + 1)]));
}

function pomProperty(name: string): string {
  const match = new RegExp(`<${name}>([^<]+)</${name}>`).exec(read("native/jvm/pom.xml"));
  if (!match?.[1]) throw new Error(`native/jvm/pom.xml has no <${name}>`);
  return match[1];
}

describe.each(PROFILES)("the chart's %s profile", (profile) => {
  it("passes helm lint --strict", () => {
    expect(helmLint(profile)).toContain("0 chart(s) failed");
  });

  it("renders only objects that are valid against the vendored Kubernetes, Strimzi, CloudNativePG, Prometheus Operator and Gateway API schemas", () => {
    const result = validate(manifests[profile]);
    expect(result.problems).toEqual([]);
    expect(result.valid).toBe(rendered(profile).length);
    expect(result.skipped).toBe(0);
  });

  it("sets requests and a memory limit on every container it defines, and on every operator-run pod", () => {
    const objects = rendered(profile);
    for (const { object, pod } of podTemplates(objects)) {
      for (const c of pod.containers) {
        expect(c.resources?.requests, `${object.metadata.name}/${c.name}`).toMatchObject({
          cpu: expect.any(String),
          memory: expect.any(String),
        });
        expect(c.resources?.limits?.memory, `${object.metadata.name}/${c.name}`).toBeDefined();
      }
    }
    const operated = objects.filter((object) => ["KafkaNodePool", "KafkaConnect", "Cluster"].includes(object.kind));
    expect(operated.length).toBeGreaterThanOrEqual(4);
    for (const object of operated) expect(object.spec.resources?.requests, object.metadata.name).toBeDefined();
    expect(only(objects, "Kafka").spec.entityOperator.topicOperator.resources.requests).toBeDefined();
  });

  it("runs every container it defines as non-root, without privilege escalation, on a read-only root filesystem", () => {
    for (const { object, pod } of podTemplates(rendered(profile))) {
      expect(pod.securityContext.runAsNonRoot, object.metadata.name).toBe(true);
      expect(pod.securityContext.runAsUser, object.metadata.name).toBeGreaterThan(0);
      for (const c of pod.containers) {
        expect(c.securityContext, `${object.metadata.name}/${c.name}`).toMatchObject({
          runAsNonRoot: true,
          readOnlyRootFilesystem: true,
          allowPrivilegeEscalation: false,
          capabilities: { drop: ["ALL"] },
        });
      }
    }
  });

  it("probes readiness on /readyz and liveness on /healthz for both services and the reconciler", () => {
    const objects = rendered(profile);
    const deployments = objects.filter((object) => object.kind === "Deployment");
    expect(deployments).toHaveLength(3);
    for (const deployment of deployments) {
      for (const c of deployment.spec.template.spec.containers as Container[]) {
        expect(c.readinessProbe?.httpGet?.path, deployment.metadata.name).toBe("/readyz");
        expect(c.livenessProbe?.httpGet?.path, deployment.metadata.name).toBe("/healthz");
      }
    }
  });

  it("pins every image to a version, never `latest`", () => {
    const objects = rendered(profile);
    const images = [
      ...podTemplates(objects).flatMap(({ pod }) => pod.containers.map((c) => c.image)),
      ...objects.filter((object) => object.kind === "Cluster").map((object) => object.spec.imageName as string),
      only(objects, "KafkaConnect").spec.build.output.image as string,
    ];
    for (const image of images) expect(image, image).toMatch(/:(?!latest$)[\w.-]+$/);
  });

  it("reads every password from a Secret and writes none", () => {
    const objects = rendered(profile);
    expect(objects.filter((object) => object.kind === "Secret")).toEqual([]);
    const containers = [
      ...podTemplates(objects).flatMap(({ pod }) => pod.containers),
      only(objects, "KafkaConnect").spec.template.connectContainer as Container,
    ];
    for (const c of containers) {
      for (const variable of c.env ?? []) {
        if (/PASSWORD|SECRET|TOKEN/.test(variable.name)) {
          expect(variable.valueFrom?.secretKeyRef, `${c.name} ${variable.name}`).toBeDefined();
        } else {
          // URLs take their password from a variable read from a Secret, never a literal.
          expect(variable.value ?? "", `${c.name} ${variable.name}`).not.toMatch(/:\/\/[^:/@]+:[^$@][^@]*@/);
        }
      }
    }
    const connector = only(objects, "KafkaConnector");
    expect(connector.spec.config["database.password"]).toBe("${env:DEBEZIUM_DB_PASSWORD}");
  });
});

describe("the chart's values files", () => {
  const files = ["values.yaml", ...PROFILES.map((profile) => `values-${profile}.yaml`)];

  it.each(files)("%s holds Secret names only, no password", (file) => {
    const leaves = (node: unknown, path: string): Array<[string, unknown]> =>
      node !== null && typeof node === "object"
        ? Object.entries(node).flatMap(([key, value]) => leaves(value, `${path}.${key}`))
        : [[path, node]];
    const values = parse(readFileSync(join(CHART_DIR, file), "utf8"));
    for (const [path, value] of leaves(values, "")) {
      if (path.startsWith(".secrets.")) expect(value, path).toMatch(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);
      else expect(path, `${path}: a secret value in ${file}`).not.toMatch(/password|passwd|token|credential/i);
    }
  });
});

describe("the chart's refusals", () => {
  it("refuses more Service B replicas than the events topic has partitions", () => {
    expect(() => renderManifest("production", ["serviceB.replicas=7"])).toThrow(
      /serviceB.replicas \(7\) exceeds the partitions of user-events \(6\)/,
    );
    expect(parseManifest(renderManifest("production", ["serviceB.replicas=6"]))).not.toEqual([]);
  });

  it("refuses the `latest` tag for any image it builds", () => {
    for (const image of ["serviceA", "serviceB", "reconciler"]) {
      expect(() => renderManifest("small", [`images.${image}.tag=latest`])).toThrow(/the tag `latest` is refused/);
    }
  });

  it("refuses a reconcile window longer than Service B keeps applied ids", () => {
    expect(() =>
      renderManifest("small", ["serviceB.settings.PROCESSED_RETENTION_DAYS=2", "reconciler.settings.WINDOW_HOURS=49"]),
    ).toThrow(
      /reconciler.settings.WINDOW_HOURS \(49 hours\) is more than serviceB.settings.PROCESSED_RETENTION_DAYS \(2 days\)/,
    );
    expect(
      parseManifest(
        renderManifest("small", [
          "serviceB.settings.PROCESSED_RETENTION_DAYS=2",
          "reconciler.settings.WINDOW_HOURS=48",
        ]),
      ),
    ).not.toEqual([]);
  });

  it("refuses to render without debezium/outbox-connector.json behind its link", () => {
    const copy = join(mkdtempSync(join(tmpdir(), "chart-")), "sum-pipeline");
    cpSync(CHART_DIR, copy, { recursive: true, dereference: true });
    rmSync(join(copy, "files", "outbox-connector.json"));
    expect(() => renderManifest("small", [], copy)).toThrow(
      /outbox-connector.json \(a link to debezium\/outbox-connector.json\) is missing/,
    );
  });

  it("refuses an outbox of several instances whose commits wait for no standby", () => {
    expect(() => renderManifest("production", ["postgres.outbox.synchronousStandbys=0"])).toThrow(
      /postgres.outbox.synchronousStandbys is 0 with 3 instances: .* would be lost on failover/,
    );
  });

  it("refuses as many synchronous standbys as instances, as CloudNativePG's webhook does", () => {
    expect(() => renderManifest("production", ["postgres.totals.synchronousStandbys=3"])).toThrow(
      /postgres.totals.synchronousStandbys \(3\) must be below its instances \(3\)/,
    );
    expect(() =>
      renderManifest("small", ["postgres.outbox.instances=2", "postgres.outbox.synchronousStandbys=2"]),
    ).toThrow(/postgres.outbox.synchronousStandbys \(2\) must be below its instances \(2\)/);
  });

  it("refuses to render Kafka without node pools (values.yaml alone, no profile)", () => {
    expect(() => renderManifest("small", ["kafka.nodePools=null"])).toThrow(/kafka.nodePools is empty/);
  });
});

describe("the tools", () => {
  it("says how to install helm or kubeconform when it is missing", () => {
    const nowhere = { PATH: "/nonexistent", GOPATH: "/nonexistent" };
    expect(() => tool("helm", nowhere)).toThrow(`helm is not installed; install it with: ${TOOLS.helm}`);
    expect(() => tool("kubeconform", nowhere)).toThrow(TOOLS.kubeconform);
  });

  it("are the versions CI installs (.ci/run)", () => {
    const ci = read(".ci/run");
    for (const command of Object.values(TOOLS)) expect(ci).toContain(command.replace("go install ", ""));
  });
});

describe("validation against the vendored schemas", () => {
  const deployment = only(rendered("small"), "Deployment", "service-a");

  it("reports a misspelt field as invalid (the schemas are strict)", () => {
    const misspelt = { ...deployment, spec: { ...deployment.spec, replica: 2 } };
    const result = validate(JSON.stringify(misspelt));
    expect(result.invalid).toBe(1);
    expect(result.problems.join("\n")).toMatch(/replica/);
  });

  it("reports a kind without a vendored schema as an error, not as skipped", () => {
    const result = validate(JSON.stringify({ apiVersion: "example.com/v1", kind: "Unknown", metadata: { name: "x" } }));
    expect(result.errors).toBe(1);
    expect(result.skipped).toBe(0);
  });
});

describe("parity with the native and Compose stacks", () => {
  const small = rendered("small");
  const production = rendered("production");

  it("creates the same topics with the same partitions, replicated as each profile says", () => {
    const topics = (objects: K8sObject[]) =>
      objects
        .filter((object) => object.kind === "KafkaTopic")
        .map((object) => ({ topic: object.spec.topicName, numPartitions: object.spec.partitions }));
    expect(topics(small)).toEqual(TOPICS);
    expect(topics(production)).toEqual(TOPICS);
    const composeTopics = parse(read("docker-compose/docker-compose.yml")).services["kafka-setup"].environment.TOPICS;
    expect(TOPICS.map((t) => `${t.topic}:${t.numPartitions}`).join(" ")).toBe(composeTopics);
    for (const topic of production.filter((object) => object.kind === "KafkaTopic")) {
      expect(topic.spec).toMatchObject({ replicas: 3, config: { "min.insync.replicas": 2 } });
    }
  });

  it("runs the connector from debezium/outbox-connector.json, changing only the database address, the slot's failover and the heartbeat topic's replication", () => {
    const template = JSON.parse(read("debezium/outbox-connector.json")) as Record<string, string>;
    for (const [objects, replication] of [
      [small, "1"],
      [production, "3"],
    ] as const) {
      const connector = only(objects, "KafkaConnector");
      const { "connector.class": connectorClass, "tasks.max": tasksMax, ...config } = template;
      expect(connector.spec.class).toBe(connectorClass);
      expect(String(connector.spec.tasksMax)).toBe(tasksMax);
      expect(connector.spec.config).toEqual({
        ...config,
        "database.hostname": "sum-outbox-db-rw",
        "database.port": "5432",
        "database.user": "debezium",
        "database.password": "${env:DEBEZIUM_DB_PASSWORD}",
        "slot.failover": "true",
        "topic.creation.default.replication.factor": replication,
      });
    }
  });

  it("builds Connect with the Debezium plugin and runs Kafka at the versions native/jvm/pom.xml fetches", () => {
    for (const objects of [small, production]) {
      const connect = only(objects, "KafkaConnect");
      expect(connect.spec.build.plugins[0].artifacts).toEqual([
        {
          type: "maven",
          group: "io.debezium",
          artifact: "debezium-connector-postgres",
          version: pomProperty("debezium.version"),
        },
      ]);
      expect(connect.spec.version).toBe(pomProperty("kafka.version"));
      expect(only(objects, "Kafka").spec.kafka.version).toBe(pomProperty("kafka.version"));
    }
  });

  it("configures the Connect worker as native/jvm/connect-distributed.properties, but for replication", () => {
    const native = properties("native/jvm/connect-distributed.properties");
    const connect = only(small, "KafkaConnect").spec;
    expect(connect.groupId).toBe(native["group.id"]);
    expect(connect.configStorageTopic).toBe(native["config.storage.topic"]);
    expect(connect.offsetStorageTopic).toBe(native["offset.storage.topic"]);
    expect(connect.statusStorageTopic).toBe(native["status.storage.topic"]);
    const config = Object.fromEntries(Object.entries(connect.config).map(([key, value]) => [key, String(value)]));
    // The config providers too: the connector's ${env:...} placeholder resolves alike in all stacks.
    for (const key of Object.keys(config)) expect(config[key], key).toBe(native[key]);
    expect(config["config.providers.env.param.allowlist.pattern"]).toBe("DEBEZIUM_DB_PASSWORD");
    expect(only(production, "KafkaConnect").spec.config["offset.storage.replication.factor"]).toBe(3);
  });

  it("configures the brokers as native/jvm/kafka-server.properties, with replication 3 and min.insync.replicas 2 in production", () => {
    const native = properties("native/jvm/kafka-server.properties");
    const config = (objects: K8sObject[]) =>
      Object.entries(only(objects, "Kafka").spec.kafka.config as Record<string, unknown>).map(
        ([key, value]) => [key, String(value)] as const,
      );
    for (const [key, value] of config(small)) expect(value, key).toBe(native[key]);
    const replication = /replication\.factor$|min\.isr$|min\.insync\.replicas$/;
    for (const [key, value] of config(production)) {
      if (!replication.test(key)) expect(value, key).toBe(native[key]);
      else expect(value, key).toBe(/replication\.factor$/.test(key) ? "3" : "2");
    }
    expect(production.filter((object) => object.kind === "KafkaNodePool").map((pool) => pool.spec)).toMatchObject([
      { roles: ["controller"], replicas: 3 },
      { roles: ["broker"], replicas: 3 },
    ]);
  });

  it("gives each service and the reconciler the ports and environment variable names the Compose stack gives it, and every setting of its settingsSchema", () => {
    const values = parse(readFileSync(join(CHART_DIR, "values.yaml"), "utf8"));
    const services = [
      {
        suffix: "service-a",
        compose: "service-a-1",
        schema: serviceASettings,
        values: values.serviceA.settings,
        ports: ["HTTP_PORT", "GRPC_PORT"],
      },
      {
        suffix: "service-b",
        compose: "service-b",
        schema: serviceBSettings,
        values: values.serviceB.settings,
        ports: ["HTTP_PORT"],
      },
      {
        suffix: "reconciler",
        compose: "reconciler",
        schema: reconcilerSettings,
        values: values.reconciler.settings,
        ports: ["HTTP_PORT"],
      },
    ];
    // Read from Secrets and put into the URLs; the topics and group, set so consumer, KafkaTopics and
    // ACLs agree; the Kafka user (the other stacks' listeners are PLAINTEXT, unauthenticated).
    const chartOnly = /_PASSWORD$|^KAFKA_TOPIC$|^KAFKA_DLQ_TOPIC$|^KAFKA_GROUP_ID$|^KAFKA_SASL_/;
    for (const service of services) {
      const c = container(small, service.suffix);
      const composeEnv = composeEnvironment(service.compose);
      expect(
        envNames(c)
          .filter((name) => !chartOnly.test(name))
          .sort(),
      ).toEqual(Object.keys(composeEnv).sort());
      // Every setting, with the default its schema gives it.
      const defaults = Object.entries(service.schema.parse({})).map(([name, value]) => [name, String(value)]);
      expect(Object.entries(service.values as Record<string, string>)).toEqual(defaults);
      expect(envNames(c)).toEqual(expect.arrayContaining(Object.keys(service.schema.shape)));
      const env = Object.fromEntries((c.env ?? []).map((variable) => [variable.name, variable.value]));
      for (const port of service.ports) {
        expect(env[port]).toBe(composeEnv[port]);
        const containerPort = (c.ports ?? []).map((p) => p.containerPort);
        expect(containerPort).toContain(Number(composeEnv[port]));
        const servicePorts = only(small, "Service", service.suffix).spec.ports.map((p: { port: number }) => p.port);
        expect(servicePorts).toContain(Number(composeEnv[port]));
      }
    }
  });

  it("points Service B's reads at the totals cluster's read-only Service and its writes at the primary", () => {
    const env = Object.fromEntries((container(small, "service-b").env ?? []).map((v) => [v.name, v.value]));
    expect(env.REPLICA_DATABASE_URL).toMatch(/@sum-totals-db-ro:5432\/totals$/);
    expect(env.LEADER_DATABASE_URL).toMatch(/@sum-totals-db-rw:5432\/totals$/);
  });

  it("creates the roles and grants with the bootstrap SQL files the other stacks run, passing each the variables it reads", () => {
    const setup = only(small, "ConfigMap", "db-setup");
    const job = only(small, "Job", "db-setup");
    for (const [file, key] of [
      ["postgres/sql/outbox-database.sql", "outbox-database.sql"],
      ["postgres/sql/totals-database.sql", "totals-database.sql"],
    ] as const) {
      const sql = read(file);
      expect(setup.data?.[key]).toBe(sql);
      // The same files Compose mounts into its set-up containers.
      expect(read("docker-compose/docker-compose.yml")).toContain("../postgres/sql:/sql:ro");
      const needed = new Set([...sql.matchAll(/:'(\w+)'/g)].map((match) => match[1]));
      const c = (job.spec.template.spec.containers as Container[]).find((x) => x.command?.join(" ").includes(key));
      const command = c?.command?.join(" ") ?? "";
      const passed = new Set([...command.matchAll(/\\getenv ([a-z_]+) ([A-Z_]+)/g)].map((match) => match[1]));
      expect(passed).toEqual(needed);
      // On psql's standard input, from the environment: never a password on a command line (/proc/*/cmdline).
      // No variable is expanded anywhere in the command, and the one psql variable set on its command
      // line is ON_ERROR_STOP.
      expect(command).not.toContain("$");
      expect([...command.matchAll(/(?:-v|--set|--variable)[ =]?(\w+)=/g)].map((match) => match[1])).toEqual([
        "ON_ERROR_STOP",
      ]);
      expect(command).toMatch(/\| psql /);
    }
    // The roles the services and Connect log in as are the ones the SQL creates.
    const roles = new Set(
      [
        ...(read("postgres/sql/outbox-database.sql") + read("postgres/sql/totals-database.sql")).matchAll(
          /CREATE ROLE (\w+)/g,
        ),
      ].map((m) => m[1]),
    );
    const urls = ["service-a", "service-b", "reconciler"].flatMap((suffix) =>
      (container(small, suffix).env ?? []).filter((v) => v.name.endsWith("_URL")).map((v) => v.value ?? ""),
    );
    for (const url of urls) expect(roles).toContain(/postgresql:\/\/(\w+):/.exec(url)?.[1]);
    expect(roles).toContain(only(small, "KafkaConnector").spec.config["database.user"]);
  });

  it("scrapes every job of prometheus/prometheus.yml under its name, but nginx's and Prometheus's own", () => {
    // The Gateway replaces nginx; the Prometheus Operator's Prometheus scrapes itself.
    const jobs = (parse(read("prometheus/prometheus.yml")).scrape_configs as Array<{ job_name: string }>)
      .map((job) => job.job_name)
      .filter((job) => job !== "nginx" && job !== "prometheus");
    const scraped = production
      .filter((object) => object.kind === "PodMonitor")
      .flatMap((monitor) =>
        monitor.spec.podMetricsEndpoints.flatMap((endpoint: any) =>
          endpoint.relabelings.filter((rule: any) => rule.targetLabel === "job").map((rule: any) => rule.replacement),
        ),
      );
    expect(scraped).toEqual(expect.arrayContaining(jobs));
  });

  it("alerts with the rules of prometheus/alerts.yml", () => {
    expect(only(production, "PrometheusRule").spec).toEqual(parse(read("prometheus/alerts.yml")));
  });

  it("provides grafana/dashboards/dma.json to Grafana's sidecar unchanged", () => {
    const dashboard = only(production, "ConfigMap", "dashboard");
    expect(dashboard.metadata.labels?.grafana_dashboard).toBe("1");
    expect(dashboard.data?.["dma.json"]).toBe(read("grafana/dashboards/dma.json"));
  });

  it("runs the slot queries of prometheus/postgres-queries.yml on the primaries, and the JMX rules of prometheus/jmx-*.yml", () => {
    const queries = parse(only(production, "ConfigMap", "postgres-queries").data?.["queries.yml"] ?? "");
    const shared = parse(read("prometheus/postgres-queries.yml"));
    for (const name of Object.keys(shared)) shared[name].primary = true;
    expect(queries).toEqual(shared);
    const jmx = only(production, "ConfigMap", "jmx");
    expect(jmx.data?.["jmx-kafka.yml"]).toBe(read("prometheus/jmx-kafka.yml"));
    expect(jmx.data?.["jmx-connect.yml"]).toBe(read("prometheus/jmx-connect.yml"));
  });

  it("routes /sum and /health (to /readyz) over HTTP, and gRPC, as nginx/nginx.conf does, with its 16 KiB body limit", () => {
    const nginx = read("nginx/nginx.conf");
    expect(nginx).toContain("client_max_body_size 16k;");
    expect(nginx).toContain("location = /sum");
    expect(nginx).toContain("proxy_pass http://service_a_http/readyz;");
    const http = only(production, "HTTPRoute");
    expect(http.spec.rules.map((rule: any) => rule.matches[0].path.value)).toEqual(["/sum", "/health"]);
    expect(http.spec.rules[1].filters[0].urlRewrite.path.replaceFullPath).toBe("/readyz");
    expect(only(production, "GRPCRoute").spec.rules[0].backendRefs[0].port).toBe(50052);
    const policies = production.filter((object) => object.kind === "ClientSettingsPolicy");
    expect(policies.map((policy) => [policy.spec.targetRef.kind, policy.spec.body.maxSize])).toEqual([
      ["HTTPRoute", "16k"],
      ["GRPCRoute", "16k"],
    ]);
  });
});

/** Each commit waits for one standby (and waits while none is up); failover only to a standby holding every commit. */
const SYNCHRONOUS_ONE = { method: "any", number: 1, dataDurability: "required", failoverQuorum: true };

describe("the outbox's failover", () => {
  const outbox = (objects: K8sObject[]) => only(objects, "Cluster", "outbox-db");

  // What CloudNativePG 1.30 does with these, and where its source says so: templates/postgres.yaml.
  it.each(PROFILES)(
    "%s: has CloudNativePG keep Debezium's slot behind every standby (synchronized_standby_slots), by what its webhook asks of synchronizeLogicalDecoding on PostgreSQL 17",
    (profile) => {
      const spec = outbox(rendered(profile)).spec;
      expect(spec.imageName).toMatch(/postgresql:(1[7-9]|[2-9]\d)\./);
      expect(spec.replicationSlots.highAvailability).toEqual({ enabled: true, synchronizeLogicalDecoding: true });
      expect(spec.postgresql.parameters).toMatchObject({ hot_standby_feedback: "on", sync_replication_slots: "on" });
      expect(spec.postgresql.parameters).not.toHaveProperty("synchronized_standby_slots");
    },
  );

  it.each([2, 3, 5])(
    "with %d instances, makes each commit wait for a synchronous standby and failover for one holding every commit",
    (instances) => {
      const spec = outbox(parseManifest(renderManifest("small", [`postgres.outbox.instances=${instances}`]))).spec;
      expect(spec.instances).toBe(instances);
      expect(spec.postgresql.synchronous).toEqual(SYNCHRONOUS_ONE);
    },
  );

  it("with one instance, has no standby to wait for", () => {
    expect(outbox(rendered("small")).spec.postgresql.synchronous).toBeUndefined();
  });
});

describe("the production profile's resilience", () => {
  const objects = rendered("production");

  it("keeps both PostgreSQL clusters at three instances, each with a synchronous standby", () => {
    const clusters = objects.filter((object) => object.kind === "Cluster");
    expect(clusters).toHaveLength(2);
    for (const cluster of clusters) {
      expect(cluster.spec.instances).toBe(3);
      expect(cluster.spec.postgresql.synchronous).toEqual(SYNCHRONOUS_ONE);
    }
  });

  it("has a disruption budget for each service and an autoscaler for Service A", () => {
    expect(objects.filter((object) => object.kind === "PodDisruptionBudget")).toHaveLength(2);
    expect(only(objects, "HorizontalPodAutoscaler").spec.scaleTargetRef.name).toBe("sum-service-a");
  });

  it("lets only Service A, Connect and the reconciler reach the outbox database, and only Service B and the reconciler the totals database", () => {
    const clientsOf = (name: string) =>
      only(objects, "NetworkPolicy", name)
        .spec.ingress.filter((rule: any) => rule.ports.some((port: any) => port.port === 5432))
        .flatMap((rule: any) => rule.from.map((peer: any) => peer.podSelector?.matchLabels))
        .map(
          (labels: Record<string, string>) =>
            labels["app.kubernetes.io/name"] ?? labels["strimzi.io/kind"] ?? labels["cnpg.io/cluster"],
        );
    expect(clientsOf("outbox-db")).toEqual(["service-a", "KafkaConnect", "reconciler", "db-setup", "sum-outbox-db"]);
    expect(clientsOf("totals-db")).toEqual(["service-b", "reconciler", "db-setup", "sum-totals-db"]);
  });

  it("lets only Strimzi's cluster operator and Connect's own workers reach Connect's REST API, and only Prometheus its metrics", () => {
    const connect = only(objects, "NetworkPolicy", "connect");
    const workers = { "strimzi.io/cluster": "sum-connect", "strimzi.io/kind": "KafkaConnect" };
    expect(connect.spec.podSelector.matchLabels).toEqual(workers);
    expect(connect.spec.policyTypes).toEqual(["Ingress"]);
    expect(connect.spec.ingress).toEqual([
      {
        from: [
          {
            podSelector: { matchLabels: { "strimzi.io/kind": "cluster-operator" } },
            namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "strimzi" } },
          },
          { podSelector: { matchLabels: workers } },
        ],
        ports: [{ port: 8083 }],
      },
      {
        from: [{ namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "monitoring" } } }],
        ports: [{ port: 9404 }],
      },
    ]);
  });
});

describe("the reconciler", () => {
  const objects = rendered("production");
  const env = (c: Container) => Object.fromEntries((c.env ?? []).map((variable) => [variable.name, variable.value]));

  it("runs as one pod, the old one stopped before a new one starts, whatever the profile", () => {
    const deployment = only(objects, "Deployment", "reconciler");
    expect(deployment.spec.replicas).toBe(1);
    expect(deployment.spec.strategy).toEqual({ type: "Recreate" });
    const autoscaled = objects
      .filter((object) => object.kind === "HorizontalPodAutoscaler")
      .map((autoscaler) => autoscaler.spec.scaleTargetRef.name);
    expect(autoscaled).not.toContain(deployment.metadata.name);
  });

  it("reads both primaries as its own role, Debezium's slot as the connector names it, and Service B's retention of applied ids", () => {
    const reconciler = env(container(objects, "reconciler"));
    expect(reconciler.OUTBOX_DATABASE_URL).toBe(
      "postgresql://reconciler:$(RECONCILER_DB_PASSWORD)@sum-outbox-db-rw:5432/outbox",
    );
    expect(reconciler.TOTALS_DATABASE_URL).toBe(
      "postgresql://reconciler:$(RECONCILER_DB_PASSWORD)@sum-totals-db-rw:5432/totals",
    );
    expect(reconciler.DEBEZIUM_SLOT).toBe(JSON.parse(read("debezium/outbox-connector.json"))["slot.name"]);
    expect(reconciler.KAFKA_TOPIC).toBe(TOPICS[0]?.topic);
    // One value: changing Service B's changes the reconciler's.
    const changed = parseManifest(renderManifest("small", ["serviceB.settings.PROCESSED_RETENTION_DAYS=9"]));
    expect(env(container(changed, "service-b")).PROCESSED_RETENTION_DAYS).toBe("9");
    expect(env(container(changed, "reconciler")).PROCESSED_RETENTION_DAYS).toBe("9");
  });

  it("is let into Kafka's listener, and reached only by Prometheus", () => {
    const peers = only(objects, "Kafka").spec.kafka.listeners[0].networkPolicyPeers;
    expect(peers.map((peer: any) => peer.podSelector.matchLabels["app.kubernetes.io/name"])).toContain("reconciler");
    expect(only(objects, "NetworkPolicy", "reconciler").spec.ingress).toEqual([
      {
        from: [{ namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "monitoring" } } }],
        ports: [{ port: 8084 }],
      },
    ]);
  });
});

describe.each(PROFILES)("Kafka's authentication and ACLs (%s)", (profile) => {
  const objects = rendered(profile);
  const kafka = only(objects, "Kafka").spec.kafka;
  const users = objects.filter((object) => object.kind === "KafkaUser");
  const acls = users.flatMap((user) =>
    (user.spec.authorization.acls as KafkaUserAcl[]).map((acl) => ({ user: user.metadata.name, ...acl })),
  );
  const env = (suffix: string) =>
    Object.fromEntries((container(objects, suffix).env ?? []).map((variable) => [variable.name, variable]));
  /** The users an ACL lets do `operation` on the topic: by name, prefix or wildcard, directly or through All. */
  const allowed = (operation: string, topic: string) =>
    acls
      .filter(
        (acl) =>
          acl.resource.type === "topic" &&
          (acl.resource.name === "*" ||
            (acl.resource.patternType === "prefix"
              ? topic.startsWith(acl.resource.name)
              : acl.resource.name === topic)) &&
          (acl.operations.includes(operation) || acl.operations.includes("All")),
      )
      .map((acl) => acl.user);
  const [events, deadLetters] = TOPICS.map((topic) => topic.topic) as [string, string];

  it("has every client log in with SCRAM-SHA-512 on the one listener, and authorizes with ACLs (simple)", () => {
    expect(kafka.listeners).toHaveLength(1);
    expect(kafka.listeners[0].authentication).toEqual({ type: "scram-sha-512" });
    expect(kafka.authorization).toEqual({ type: "simple" });
    expect(only(objects, "Kafka").spec.entityOperator.userOperator.resources.requests).toBeDefined();
    expect(users.map((user) => user.metadata.name).sort()).toEqual([
      "sum-connect-kafka",
      "sum-reconciler-kafka",
      "sum-service-b-kafka",
    ]);
    for (const user of users) {
      expect(user.metadata.labels?.["strimzi.io/cluster"]).toBe(only(objects, "Kafka").metadata.name);
      expect(user.spec.authentication).toEqual({ type: "scram-sha-512" });
      expect(user.spec.authorization.type).toBe("simple");
    }
  });

  it("lets nothing but Connect write the events topic, and nothing but Service B the dead-letter topic", () => {
    expect(allowed("Write", events)).toEqual(["sum-connect-kafka"]);
    expect(allowed("Write", deadLetters)).toEqual(["sum-service-b-kafka"]);
    // Every grant names its resource exactly and allows: no wildcard, prefix, All or deny to reason about.
    for (const acl of acls) {
      expect(acl.resource.patternType, acl.resource.name).toBe("literal");
      expect(acl.resource.name).not.toBe("*");
      expect(acl.operations).not.toContain("All");
      expect(acl.type ?? "allow").toBe("allow");
    }
  });

  it("gives Connect its group and internal topics as the KafkaConnect names them, and Debezium's heartbeat topic", () => {
    const connect = only(objects, "KafkaConnect").spec;
    const connector = JSON.parse(read("debezium/outbox-connector.json")) as Record<string, string>;
    const heartbeats = `${connector["topic.heartbeat.prefix"]}.${connector["topic.prefix"]}`;
    const mine = acls.filter((acl) => acl.user === "sum-connect-kafka");
    expect(mine.map((acl) => [acl.resource.type, acl.resource.name, acl.operations])).toEqual([
      ["topic", connect.configStorageTopic, ["Create", "Describe", "DescribeConfigs", "Read", "Write"]],
      ["topic", connect.offsetStorageTopic, ["Create", "Describe", "DescribeConfigs", "Read", "Write"]],
      ["topic", connect.statusStorageTopic, ["Create", "Describe", "DescribeConfigs", "Read", "Write"]],
      ["group", connect.groupId, ["Read"]],
      ["topic", events, ["Describe", "Write"]],
      ["topic", heartbeats, ["Create", "Describe", "Write"]],
    ]);
    expect(connect.authentication).toEqual({
      type: "scram-sha-512",
      username: "sum-connect-kafka",
      passwordSecret: { secretName: "sum-connect-kafka", password: "password" },
    });
  });

  it("lets Service B read the events in its own group and write dead letters, and the reconciler only describe the events topic", () => {
    const serviceB = env("service-b");
    expect(
      acls.filter((acl) => acl.user === "sum-service-b-kafka").map((acl) => [acl.resource.name, acl.operations]),
    ).toEqual([
      [serviceB.KAFKA_TOPIC?.value, ["Describe", "Read"]],
      [serviceB.KAFKA_GROUP_ID?.value, ["Read"]],
      [serviceB.KAFKA_DLQ_TOPIC?.value, ["Describe", "Write"]],
    ]);
    expect(
      acls.filter((acl) => acl.user === "sum-reconciler-kafka").map((acl) => [acl.resource.name, acl.operations]),
    ).toEqual([[env("reconciler").KAFKA_TOPIC?.value, ["Describe"]]]);
  });

  it.each(["service-b", "reconciler"])(
    "has %s log in as its KafkaUser, its password from the Secret Strimzi makes for it",
    (suffix) => {
      const variables = env(suffix);
      const user = `sum-${suffix}-kafka`;
      expect(variables.KAFKA_SASL_MECHANISM?.value).toBe(kafka.listeners[0].authentication.type);
      expect(variables.KAFKA_SASL_USERNAME?.value).toBe(user);
      expect(variables.KAFKA_SASL_PASSWORD?.valueFrom?.secretKeyRef).toEqual({ name: user, key: "password" });
    },
  );
});

interface KafkaUserAcl {
  type?: "allow" | "deny";
  resource: { type: string; name: string; patternType?: string };
  operations: string[];
}
