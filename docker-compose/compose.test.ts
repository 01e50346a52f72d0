// biome-ignore-all lint/suspicious/noTemplateCurlyInString: Compose and the templates use ${...} placeholders
/**
 * Static checks of the Compose stack: no Docker engine is needed. They read docker-compose.yml the way
 * Compose does (variables from .env.example, as `make start` passes it; YAML merge keys), and compare
 * it with the specification, the contract, CI's build commands and the native stack.
 */
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, join, posix, resolve } from "node:path";
import { TOPICS } from "@sum/contract";
import { PASSWORD_SETTINGS, randomPasswords } from "@sum/native/passwords";
import { loadSettings, REPO_ROOT, SERVICE_SETTINGS } from "@sum/native/settings";
import { buildStack } from "@sum/native/stack";
import { OUTBOX_SLOT } from "@sum/postgres";
import { settingsSchema as reconcilerSettings } from "@sum/reconciler/config";
import { Ajv2020 } from "ajv/dist/2020.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { COMPOSE_DIR, COMPOSE_FILE, renderComposeConfig } from "./render-config.js";

interface Service {
  image?: string;
  build?: { context: string; dockerfile?: string; args?: Record<string, string> };
  command?: string[];
  entrypoint?: string[];
  environment?: Record<string, string>;
  volumes?: string[];
  ports?: string[];
  healthcheck?: { test?: string[]; disable?: boolean };
  depends_on?: Record<string, { condition?: string }> | string[];
}

const read = (path: string) => readFileSync(join(REPO_ROOT, path), "utf8");

/** KEY=VALUE lines of a .env file; with `commented`, also the `# KEY=VALUE` defaults it documents. */
function envFile(text: string, commented = false): Record<string, string> {
  const values: Record<string, string> = {};
  for (const line of text.split("\n")) {
    const match = (commented ? /^#?\s*([A-Z][A-Z0-9_]*)=(.*)$/ : /^([A-Z][A-Z0-9_]*)=(.*)$/).exec(line.trim());
    if (match?.[1] && match[2] !== undefined) values[match[1]] = match[2];
  }
  return values;
}

/** Compose's variable interpolation as this file uses it: ${NAME}, ${NAME:-default}, ${NAME:?error}. */
function interpolate(text: string, env: Record<string, string>): string {
  return text.replace(/\$\{([A-Z0-9_]+)(?::([-?])([^}]*))?\}/g, (_, name: string, operator?: string, argument = "") => {
    const value = env[name];
    if (value !== undefined && value !== "") return value;
    if (operator === "-") return argument;
    throw new Error(`${name} is not set${operator === "?" ? `: ${argument}` : ""}`);
  });
}

const composeText = readFileSync(COMPOSE_FILE, "utf8");
/** What Compose reads as `make start` runs it: .env.example, then the passwords it wrote into .env. */
const exampleEnv = { ...envFile(read(".env.example")), ...randomPasswords() };

function loadCompose(env: Record<string, string> = exampleEnv): { services: Record<string, Service> } {
  return parse(interpolate(composeText, env), { merge: true });
}

const compose = loadCompose();
const services = compose.services;
const entries = Object.entries(services);

function dependencies(service: Service): Array<[string, string | undefined]> {
  const dependsOn = service.depends_on ?? {};
  if (Array.isArray(dependsOn)) return dependsOn.map((name) => [name, undefined]);
  return Object.entries(dependsOn).map(([name, dependency]) => [name, dependency.condition]);
}

/** Set-up containers that run to completion: others wait for them with service_completed_successfully. */
const oneShots = new Set(
  entries.flatMap(([, service]) =>
    dependencies(service)
      .filter(([, condition]) => condition === "service_completed_successfully")
      .map(([name]) => name),
  ),
);
const longRunning = entries.filter(([name]) => !oneShots.has(name));

/** Bind mounts (short syntax, relative host path): host path in the repository, path in the container. */
function bindMounts(service: Service): Array<{ source: string; target: string }> {
  return (service.volumes ?? [])
    .filter((volume) => volume.startsWith("."))
    .map((volume) => {
      const [source = "", target = ""] = volume.split(":");
      return { source, target };
    });
}

/**
 * A Dockerfile's instructions, stage by stage: continuation lines joined, comments dropped, and the
 * build arguments `args` substituted where the stage declares them (ARG), as Docker does; elsewhere
 * a reference stays as written.
 */
function dockerfileStages(path: string, args: Record<string, string> = {}): string[][] {
  const stages: string[][] = [];
  let declared = new Set<string>();
  for (const line of read(path)
    .replace(/\\\n\s*/g, " ")
    .split("\n")) {
    if (line.trim() === "" || line.startsWith("#")) continue;
    if (/^FROM\s/i.test(line)) {
      stages.push([]);
      declared = new Set();
    }
    const arg = /^ARG\s+([A-Za-z_]\w*)/.exec(line)?.[1];
    if (arg) declared.add(arg);
    stages
      .at(-1)
      ?.push(
        line.replace(/\$\{?([A-Za-z_]\w*)\}?/g, (reference, name: string) =>
          declared.has(name) ? (args[name] ?? reference) : reference,
        ),
      );
  }
  return stages;
}

/** RUN instructions of a Dockerfile, its build arguments substituted and BuildKit --mount options dropped. */
function dockerfileRuns(path: string, args: Record<string, string> = {}): string[] {
  return dockerfileStages(path, args)
    .flat()
    .filter((line) => line.startsWith("RUN "))
    .map((line) =>
      line
        .slice(4)
        .replace(/--mount=\S+\s+/g, "")
        .replace(/\s+/g, " ")
        .trim(),
    );
}

/** The images a Dockerfile starts from (not its own earlier stages). */
function dockerfileBaseImages(path: string): string[] {
  const stages = new Set<string>();
  const images: string[] = [];
  for (const match of read(path).matchAll(/^FROM\s+(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?/gim)) {
    const [, image = "", stage] = match;
    if (!stages.has(image)) images.push(image);
    if (stage) stages.add(stage);
  }
  return images;
}

/** The tag of `registry/name:tag` (a registry may carry a port, so the tag follows the last slash). */
function imageTag(image: string): string | undefined {
  const afterSlash = image.slice(image.lastIndexOf("/") + 1);
  return afterSlash.includes(":") ? afterSlash.split(":").pop() : undefined;
}

function properties(path: string): Record<string, string> {
  const values: Record<string, string> = {};
  for (const line of read(path).split("\n")) {
    const match = /^([a-z][\w.-]*)=(.*)$/.exec(line.trim());
    if (match?.[1] && match[2] !== undefined) values[match[1]] = match[2];
  }
  return values;
}

function pomProperty(name: string): string | undefined {
  return new RegExp(`<${name}>([^<]+)</${name}>`).exec(read("native/jvm/pom.xml"))?.[1];
}

/**
 * Every property of a native template must be set the same way in Compose, except where the value is
 * a ${...} placeholder (then it must be set, to Compose's own address or path) or the difference is
 * listed with its reason. Returns the mismatches, as readable lines.
 */
function configDifferences(
  native: Record<string, string>,
  environment: Record<string, string>,
  variableOf: (property: string) => string,
  allowed: Record<string, string>,
): string[] {
  const problems: string[] = [];
  for (const [property, value] of Object.entries(native)) {
    if (property in allowed) continue;
    const variable = variableOf(property);
    const composeValue = environment[variable];
    if (composeValue === undefined) problems.push(`${property}: ${variable} is not set`);
    else if (!value.includes("${") && String(composeValue) !== value)
      problems.push(`${property}: ${variable}=${composeValue}, native ${value}`);
  }
  return problems;
}

let renderDir: string;
let renderedFiles: string[];

beforeAll(async () => {
  renderDir = await mkdtemp(join(tmpdir(), "compose-rendered-"));
  renderedFiles = await renderComposeConfig(renderDir);
});

afterAll(async () => {
  await rm(renderDir, { recursive: true, force: true });
});

describe("docker-compose.yml", () => {
  it("is valid against the Compose specification's JSON schema", () => {
    const schema = JSON.parse(readFileSync(join(COMPOSE_DIR, "compose-spec.json"), "utf8"));
    // strict: false, as the upstream schema is not written for Ajv's strict mode (union types).
    const validate = new Ajv2020({ allErrors: true, strict: false }).compile(schema);
    const valid = validate(compose);
    expect(validate.errors ?? [], JSON.stringify(validate.errors, null, 2)).toEqual([]);
    expect(valid).toBe(true);
  });

  it("pins every image, its own Dockerfiles' base images included, to a version tag, never latest", () => {
    const images = entries.flatMap(([name, service]) => {
      if (!service.build) return [{ where: name, image: service.image ?? "(no image)" }];
      const dockerfile = join(service.build.context, service.build.dockerfile ?? "Dockerfile");
      const path = resolve(COMPOSE_DIR, dockerfile).slice(REPO_ROOT.length + 1);
      return dockerfileBaseImages(path).map((image) => ({ where: path, image }));
    });
    const unpinned = images.filter(({ image }) => {
      const tag = imageTag(image);
      // At least major.minor: "latest", "20" or "alpine" move under you.
      return tag === undefined || !/\d+\.\d+/.test(tag);
    });
    expect(images.length).toBeGreaterThan(entries.length / 2);
    expect(unpinned).toEqual([]);
  });

  it("builds and runs the services on the Node.js the workspace pins (.node-version), as make and CI do", () => {
    const pinned = read(".node-version").trim();
    const images = entries.flatMap(([, service]) => {
      if (!service.build) return [];
      const path = resolve(COMPOSE_DIR, service.build.context, service.build.dockerfile ?? "Dockerfile");
      return dockerfileBaseImages(path.slice(REPO_ROOT.length + 1)).filter((image) => image.startsWith("node:"));
    });
    // Service A's instances, Service B and the reconciler, each built in one stage and run in another.
    expect(images.length).toBeGreaterThanOrEqual(6);
    expect(new Set(images)).toEqual(new Set([`node:${pinned}-bookworm-slim`]));
  });

  it("refers only to files that exist: bind mounts, rendered configs, scripts, build contexts, Dockerfiles", () => {
    const rendered = new Set(renderedFiles.map((file) => basename(file)));
    const missing: string[] = [];
    for (const [name, service] of entries) {
      const mounts = bindMounts(service);
      for (const { source } of mounts) {
        const exists = source.startsWith("./rendered/")
          ? rendered.has(source.slice("./rendered/".length))
          : existsSync(resolve(COMPOSE_DIR, source));
        if (!exists) missing.push(`${name}: ${source}`);
      }
      // Paths in commands and variables that fall inside a bind mount must exist on the host.
      const words = [
        ...(service.entrypoint ?? []),
        ...(service.command ?? []),
        ...Object.values(service.environment ?? {}),
      ]
        .flatMap((value) => String(value).split(/[\s=:,]+/))
        .filter((word) => word.startsWith("/"));
      for (const word of words) {
        const mount = mounts.find(({ target }) => word === target || word.startsWith(`${target}/`));
        if (!mount || mount.source.startsWith("./rendered/")) continue;
        const hostPath = resolve(COMPOSE_DIR, mount.source, word.slice(mount.target.length + 1));
        if (!existsSync(hostPath)) missing.push(`${name}: ${word} (${hostPath})`);
      }
      if (service.build) {
        const context = resolve(COMPOSE_DIR, service.build.context);
        if (!existsSync(join(context, service.build.dockerfile ?? "Dockerfile")))
          missing.push(`${name}: ${service.build.dockerfile ?? "Dockerfile"} in ${context}`);
      }
    }
    expect(missing).toEqual([]);
  });

  it("builds the service images with the workspace commands CI uses", () => {
    // .ci/run runs `make test`, which installs first; `make build` runs the root build script.
    expect(read(".ci/run")).toMatch(/^make test\b/m);
    const makefile = read("Makefile");
    expect(makefile).toMatch(/^test: install\b/m);
    expect(makefile).toMatch(/^install: node_modules\/\.modules\.yaml\b/m);
    const install = /^node_modules\/\.modules\.yaml:.*\n\t(.+)$/m.exec(makefile)?.[1]?.replace("$(PNPM)", "pnpm");
    expect(install).toBe("pnpm install --frozen-lockfile");
    expect(/^build:.*\n\t(.+)$/m.exec(makefile)?.[1]).toBe("$(PNPM) run build");
    const buildScript: string = JSON.parse(read("package.json")).scripts.build;
    const selections = [...buildScript.matchAll(/--filter "([^"]+)"/g)].map((match) => match[1]);

    for (const [name, pkg] of [
      ["service-a-1", "@sum/service-a"],
      ["service-b", "@sum/service-b"],
      ["reconciler", "@sum/reconciler"],
    ] as const) {
      const build = services[name]?.build;
      expect(build && resolve(COMPOSE_DIR, build.context)).toBe(REPO_ROOT);
      const runs = dockerfileRuns(build?.dockerfile ?? "Dockerfile", build?.args);
      const selection = selections.find((filter) => filter === `${pkg}...`);
      expect(selection, `the root build script builds ${pkg}`).toBeDefined();
      expect(runs).toContain(install);
      expect(runs).toContain(`pnpm --filter "${selection}" build`);
    }
  });

  it("builds Service A, Service B and the reconciler from the one Dockerfile, named by its SERVICE argument, with what each reads at run time", () => {
    for (const [name, folder] of [
      ["service-a-1", "service-a"],
      ["service-b", "service-b"],
      ["reconciler", "reconciler"],
    ] as const) {
      const build = services[name]?.build;
      expect(build?.dockerfile ?? "Dockerfile", name).toBe("Dockerfile");
      expect(build?.args, name).toEqual({ SERVICE: folder });
      expect(services[name]?.image).toBe(`sum-pipeline/${folder}:local`);
      const stages = dockerfileStages("Dockerfile", build?.args);
      expect(dockerfileRuns("Dockerfile", build?.args)).toContain(
        `pnpm --filter "@sum/${folder}" deploy --prod --legacy /deploy`,
      );
      const runtime = stages.at(-1) ?? [];
      const workdir = runtime.findLast((line) => line.startsWith("WORKDIR "))?.slice("WORKDIR ".length);
      expect(workdir, name).toBe(`/app/${folder}`);
      // Where each COPY of the runtime stage lands (a target ending in / takes the source's name).
      const inImage = runtime
        .filter((line) => line.startsWith("COPY "))
        .map((line) => {
          const [source = "", target = ""] = line
            .split(/\s+/)
            .filter((word) => !word.startsWith("--"))
            .slice(1);
          const path = posix.resolve(workdir ?? "/", target);
          return target.endsWith("/") && !source.endsWith("/") ? posix.join(path, posix.basename(source)) : path;
        });
      const needed = [
        `/app/${folder}/package.json`,
        `/app/${folder}/node_modules`,
        `/app/${folder}/dist/src`,
        // src/paths.ts: db/migrations beside dist/; Service A's .proto in ../proto.
        ...(existsSync(join(REPO_ROOT, folder, "db", "migrations")) ? [`/app/${folder}/db`] : []),
        ...(folder === "service-a" ? ["/app/proto"] : []),
      ];
      expect(inImage, name).toEqual(expect.arrayContaining(needed));
      expect(runtime).toContain('CMD ["node", "dist/src/main.js"]');
      expect(existsSync(join(REPO_ROOT, folder, "src", "main.ts")), `${folder}/src/main.ts`).toBe(true);
    }
  });

  it("gives every long-running service a healthcheck, and every dependency a condition it can meet", () => {
    const problems: string[] = [];
    for (const [name, service] of longRunning) {
      const test = service.healthcheck?.test ?? [];
      if (service.healthcheck?.disable || test.length < 2 || test[0] === "NONE")
        problems.push(`${name}: no healthcheck`);
    }
    for (const [name, service] of entries) {
      for (const [dependency, condition] of dependencies(service)) {
        if (condition === "service_healthy" && !services[dependency]?.healthcheck)
          problems.push(`${name} waits for ${dependency} to be healthy, which has no healthcheck`);
        else if (condition !== "service_healthy" && condition !== "service_completed_successfully")
          problems.push(`${name} -> ${dependency}: condition ${condition ?? "(none)"}`);
      }
    }
    // `up --wait` counts a finished one-shot as a failure unless a running service waits for it.
    for (const oneShot of oneShots) {
      const waitedFor = longRunning.some(([, service]) =>
        dependencies(service).some(
          ([name, condition]) => name === oneShot && condition === "service_completed_successfully",
        ),
      );
      if (!waitedFor) problems.push(`${oneShot}: no long-running service waits for it to complete`);
    }
    expect(problems).toEqual([]);
  });

  it("starts no Service A before the schema and Debezium's replication slot exist", () => {
    const instances = entries.filter(([name]) => /^service-a-\d+$/.test(name));
    expect(instances.length).toBe(3);
    for (const [, service] of instances) {
      expect(dependencies(service)).toEqual(
        expect.arrayContaining([
          ["service-a-migrate", "service_completed_successfully"],
          ["outbox-slot-setup", "service_completed_successfully"],
        ]),
      );
    }
    // The slot is made after the migrations that create the publication.
    expect(dependencies(services["outbox-slot-setup"] ?? {})).toContainEqual([
      "service-a-migrate",
      "service_completed_successfully",
    ]);
  });

  it("publishes the contract's default ports, on 127.0.0.1 only", () => {
    // The port table of docs/CONTRACT.md, by the service that serves each port.
    const contract: Record<string, number[]> = {
      nginx: [8090, 50051],
      "service-b": [8082],
      reconciler: [8084],
      prometheus: [9090],
      grafana: [3000],
      jaeger: [16686],
      "kafka-ui": [8085],
      kafka: [9092],
      "kafka-connect": [8083],
      "postgres-outbox": [5434],
      "postgres-leader": [5435],
      "postgres-replica": [5436],
    };
    const published: Record<string, number[]> = {};
    const otherInterfaces: string[] = [];
    for (const [name, service] of entries) {
      for (const port of service.ports ?? []) {
        const [hostIp, hostPort] = port.split(":");
        if (hostIp !== "127.0.0.1") otherInterfaces.push(`${name}: ${port}`);
        published[name] = [...(published[name] ?? []), Number(hostPort)];
      }
    }
    expect(otherInterfaces).toEqual([]);
    expect(published).toEqual(contract);
  });

  it("takes every password from .env and hard-codes none: one unset stops Compose, naming it", () => {
    for (const name of PASSWORD_SETTINGS) {
      expect(() => loadCompose({ ...exampleEnv, [name]: "" })).toThrow(`${name} is not set: make start writes it`);
    }
    const defaulted = [...composeText.matchAll(/\$\{([A-Z0-9_]*PASSWORD[A-Z0-9_]*)(?::([-?]))?/g)]
      .filter(([, , operator]) => operator !== "?")
      .map(([reference]) => reference);
    expect(defaulted).toEqual([]);
  });

  it("make start writes the passwords into .env before Compose reads it", () => {
    // A make above this one (make test) must not pass its flags down.
    const env = { ...process.env, MAKEFLAGS: "", MFLAGS: "", MAKELEVEL: "" };
    const dryRun = spawnSync("make", ["-n", "--no-print-directory", "start", "STACK=compose"], {
      cwd: REPO_ROOT,
      encoding: "utf8",
      env,
    });
    expect(dryRun.status, dryRun.stderr).toBe(0);
    const commands = dryRun.stdout.split("\n");
    const passwords = commands.findIndex((line) => line.endsWith("native/src/cli.ts passwords"));
    const up = commands.findIndex((line) => line.startsWith("docker compose") && line.includes(" up "));
    expect(passwords).toBeGreaterThanOrEqual(0);
    expect(up).toBeGreaterThan(passwords);
  });

  it("runs Kafka UI read-only, behind a login whose password comes from .env", () => {
    const { KAFKA_UI_PASSWORD: _, ...withoutPassword } = exampleEnv;
    expect(() => loadCompose(withoutPassword)).toThrow(/KAFKA_UI_PASSWORD is not set/);
    const ui = services["kafka-ui"]?.environment ?? {};
    expect(ui).toMatchObject({
      KAFKA_CLUSTERS_0_READONLY: "true",
      AUTH_TYPE: "LOGIN_FORM",
      SPRING_SECURITY_USER_NAME: "admin",
      SPRING_SECURITY_USER_PASSWORD: exampleEnv.KAFKA_UI_PASSWORD,
    });
    expect(parse(composeText).services["kafka-ui"].environment.SPRING_SECURITY_USER_PASSWORD).toMatch(
      /^\$\{KAFKA_UI_PASSWORD:\?.+\}$/,
    );
    // Its healthcheck needs no login: kafbat's whitelist lets /actuator/health through.
    expect(services["kafka-ui"]?.healthcheck?.test).toContain("http://127.0.0.1:8080/actuator/health");
  });

  it("documents every variable it reads in .env.example, with the same default", () => {
    const documented = envFile(read(".env.example"), true);
    const problems: string[] = [];
    for (const [, name = "", operator, fallback] of composeText.matchAll(/\$\{([A-Z0-9_]+)(?::([-?])([^}]*))?\}/g)) {
      if (!(name in documented)) problems.push(`${name} is not in .env.example`);
      else if (operator === "-" && documented[name] !== fallback)
        problems.push(`${name}: Compose falls back to ${fallback}, .env.example says ${documented[name]}`);
    }
    expect(problems).toEqual([]);
  });
});

describe("the Compose stack next to the native one", () => {
  it("passes each service every setting of its schema from .env, under the service's name, with its default", () => {
    const written: Record<string, Service> = parse(composeText, { merge: true }).services;
    const instances = Object.keys(written).filter((name) => /^service-a-\d+$/.test(name));
    expect(instances.length).toBe(3);
    const settingsOf = (name: string) =>
      name === "reconciler"
        ? { prefix: "RECONCILE_", schema: reconcilerSettings }
        : SERVICE_SETTINGS[name === "service-b" ? "service-b" : "service-a"];
    const problems: string[] = [];
    for (const name of [...instances, "service-b", "reconciler"]) {
      const { prefix, schema } = settingsOf(name);
      const defaults: Record<string, unknown> = schema.parse({});
      for (const key of Object.keys(schema.shape)) {
        const expected = `\${${prefix}${key}:-${defaults[key]}}`;
        const actual = written[name]?.environment?.[key];
        if (actual !== expected) problems.push(`${name}: ${key} is ${actual ?? "not set"}, should be ${expected}`);
      }
    }
    expect(problems).toEqual([]);
  });

  it("gives the set-up containers every password postgres-setup.sh passes to the SQL for their step", () => {
    const script = read("docker-compose/postgres/postgres-setup.sh");
    const problems: string[] = [];
    for (const [name, service] of entries) {
      const [, file, step] = service.command ?? [];
      if (file !== "/setup/postgres-setup.sh" || step === undefined) continue;
      const branch = new RegExp(`^  ${step}\\)\\n([\\s\\S]*?);;`, "m").exec(script)?.[1];
      if (branch === undefined) problems.push(`${name}: postgres-setup.sh has no step ${step}`);
      for (const [, variable = ""] of (branch ?? "").matchAll(/[a-z_]+=([A-Z_]+)/g)) {
        if (!service.environment?.[variable]) problems.push(`${name}: ${variable} is not set`);
      }
    }
    expect(problems).toEqual([]);
  });

  it("runs the reconciler as its own role on the outbox and on Service B's leader, with Debezium's slot and Service B's retention of applied ids", () => {
    const written: Record<string, Service> = parse(composeText, { merge: true }).services;
    const environment = written.reconciler?.environment ?? {};
    expect(environment.OUTBOX_DATABASE_URL).toMatch(
      /^postgresql:\/\/reconciler:\$\{RECONCILER_DB_PASSWORD:\?[^}]+\}@postgres-outbox:5432\/outbox$/,
    );
    expect(environment.TOTALS_DATABASE_URL).toMatch(
      /^postgresql:\/\/reconciler:\$\{RECONCILER_DB_PASSWORD:\?[^}]+\}@postgres-leader:5432\/totals$/,
    );
    expect(environment.DEBEZIUM_SLOT).toBe(OUTBOX_SLOT);
    // The one setting Service B reads, so the two cannot disagree.
    expect(environment.PROCESSED_RETENTION_DAYS).toBe(written["service-b"]?.environment?.PROCESSED_RETENTION_DAYS);
  });

  it("creates the native stack's topics with the same partition counts", () => {
    const topics = String(services["kafka-setup"]?.environment?.TOPICS)
      .split(/\s+/)
      .map((entry) => {
        const [topic, partitions] = entry.split(":");
        return { topic, numPartitions: Number(partitions) };
      });
    expect(topics).toEqual(TOPICS);
  });

  it("configures the broker as native/jvm/kafka-server.properties does", () => {
    // The image turns KAFKA_A_B into a.b (and __ into _, ___ into -).
    const variableOf = (property: string) =>
      `KAFKA_${property.replaceAll("_", "__").replaceAll("-", "___").replaceAll(".", "_").toUpperCase()}`;
    const native = properties("native/jvm/kafka-server.properties");
    const environment = services.kafka?.environment ?? {};
    const differences = configDifferences(native, environment, variableOf, {
      "controller.quorum.bootstrap.servers": "the image formats storage for static voters only",
      "listener.security.protocol.map": "Compose adds PLAINTEXT_HOST, the listener for clients on the host",
    });
    expect(differences).toEqual([]);
    // Nor does Compose set broker properties the native stack does not.
    const known = new Set(Object.keys(native).map(variableOf));
    const extra = Object.keys(environment).filter(
      (variable) =>
        variable.startsWith("KAFKA_") &&
        !known.has(variable) &&
        !["KAFKA_OPTS", "KAFKA_HEAP_OPTS", "KAFKA_CONTROLLER_QUORUM_VOTERS"].includes(variable),
    );
    expect(extra).toEqual([]);
  });

  it("configures Kafka Connect as native/jvm/connect-distributed.properties does", () => {
    // The Debezium image's entrypoint takes these without the CONNECT_ prefix, and overrides their
    // CONNECT_ form; any other CONNECT_A_B becomes a.b.
    const unprefixed: Record<string, string> = {
      "bootstrap.servers": "BOOTSTRAP_SERVERS",
      "group.id": "GROUP_ID",
      "config.storage.topic": "CONFIG_STORAGE_TOPIC",
      "offset.storage.topic": "OFFSET_STORAGE_TOPIC",
      "status.storage.topic": "STATUS_STORAGE_TOPIC",
      "key.converter": "KEY_CONVERTER",
      "value.converter": "VALUE_CONVERTER",
      "offset.flush.interval.ms": "OFFSET_FLUSH_INTERVAL_MS",
      "rest.advertised.host.name": "ADVERTISED_HOST_NAME",
      "rest.advertised.port": "ADVERTISED_PORT",
    };
    const variableOf = (property: string) =>
      unprefixed[property] ?? `CONNECT_${property.replaceAll(".", "_").toUpperCase()}`;
    const differences = configDifferences(
      properties("native/jvm/connect-distributed.properties"),
      services["kafka-connect"]?.environment ?? {},
      variableOf,
      {
        "rest.advertised.host.name": "the worker's name on the Compose network instead of 127.0.0.1",
        "plugin.path": "the image sets it to its own plugin folder",
      },
    );
    expect(differences).toEqual([]);
  });

  it("runs the Kafka, Debezium and JMX exporter versions native/jvm/pom.xml fetches", () => {
    expect(imageTag(services.kafka?.image ?? "")).toBe(pomProperty("kafka.version"));
    expect(imageTag(services["kafka-connect"]?.image ?? "")).toBe(pomProperty("debezium.version"));
    expect(services["jmx-exporter-download"]?.environment?.JMX_EXPORTER_VERSION).toBe(
      pomProperty("jmx-exporter.version"),
    );
  });

  it("renders the connector from debezium/outbox-connector.json, changing only where the database is", () => {
    const template = JSON.parse(read("debezium/outbox-connector.json"));
    const rendered = JSON.parse(readFileSync(join(renderDir, "outbox-connector.json"), "utf8"));
    const filled = ["database.hostname", "database.port", "database.user"];
    const unchanged = (config: Record<string, string>) =>
      Object.fromEntries(Object.entries(config).filter(([key]) => !filled.includes(key)));
    expect(unchanged(rendered)).toEqual(unchanged(template));
    expect(rendered["database.hostname"]).toBe("postgres-outbox");
    expect(bindMounts(services["debezium-setup"] ?? {})).toContainEqual({
      source: "./rendered/outbox-connector.json",
      target: "/config/outbox-connector.json",
    });
  });

  it("gives Kafka Connect the connector's password in its environment only: the connector holds the placeholder", () => {
    const rendered = readFileSync(join(renderDir, "outbox-connector.json"), "utf8");
    expect(JSON.parse(rendered)["database.password"]).toBe("${env:DEBEZIUM_DB_PASSWORD}");
    const password = "connect-only-secret";
    const connect = loadCompose({ ...exampleEnv, DEBEZIUM_DB_PASSWORD: password }).services["kafka-connect"];
    expect(connect?.environment?.DEBEZIUM_DB_PASSWORD).toBe(password);
    // The worker resolves ${env:...} and only for that one variable (as the native worker, compared above).
    expect(connect?.environment).toMatchObject({
      CONNECT_CONFIG_PROVIDERS: "env",
      CONNECT_CONFIG_PROVIDERS_ENV_CLASS: "org.apache.kafka.common.config.provider.EnvVarConfigProvider",
      CONNECT_CONFIG_PROVIDERS_ENV_PARAM_ALLOWLIST_PATTERN: "DEBEZIUM_DB_PASSWORD",
    });
    expect(rendered).not.toContain(exampleEnv.DEBEZIUM_DB_PASSWORD);
  });

  it("creates Debezium's replication slot under the name the connector and the native stack use", () => {
    expect(JSON.parse(read("debezium/outbox-connector.json"))["slot.name"]).toBe(OUTBOX_SLOT);
    expect(read("postgres/sql/outbox-slot.sql")).toContain(
      `pg_create_logical_replication_slot('${OUTBOX_SLOT}', 'pgoutput')`,
    );
  });

  it("runs both PostgreSQL primaries with the native stack's settings, a cap on the WAL a slot may keep among them", () => {
    const stack = buildStack(loadSettings(), () => undefined);
    for (const [name, cluster] of [
      ["postgres-outbox", stack.outbox],
      ["postgres-leader", stack.leader],
    ] as const) {
      const native = Object.fromEntries(
        cluster.config.map((line) => {
          const [key = "", value = ""] = line.split(/\s*=\s*/);
          return [key, value.replace(/^'(.*)'$/, "$1")];
        }),
      );
      const command = services[name]?.command ?? [];
      const compose = Object.fromEntries(
        command.flatMap((word, i) =>
          command[i - 1] === "-c" && !word.startsWith("hba_file=") ? [word.split("=")] : [],
        ),
      );
      expect(compose, name).toEqual(native);
      expect(native.max_slot_wal_keep_size, name).toBeDefined();
    }
  });

  it("lets the same roles into both PostgreSQL primaries as the native stack does, from any address instead of 127.0.0.1", () => {
    const stack = buildStack(loadSettings(), () => undefined);
    for (const [file, cluster] of [
      ["docker-compose/postgres/pg_hba-outbox.conf", stack.outbox],
      ["docker-compose/postgres/pg_hba-totals.conf", stack.leader],
    ] as const) {
      const rules = read(file)
        .split("\n")
        .filter((line) => line.trim() !== "" && !line.startsWith("#"))
        .map((line) => line.trim().split(/\s+/).join(" "))
        .filter((rule) => !/^(local all postgres|host all postgres) /.test(rule));
      expect(rules, file).toEqual(cluster.hba.map((rule) => rule.replace(" 127.0.0.1/32 ", " all ")));
    }
  });

  it("scrapes every job of prometheus/prometheus.yml, each target a Compose service listening on that port", () => {
    type ScrapeConfig = { job_name: string; static_configs: Array<{ targets: string[] | string }> };
    const jobs = (text: string): ScrapeConfig[] => parse(text).scrape_configs;
    const rendered = jobs(readFileSync(join(renderDir, "prometheus.yml"), "utf8"));
    expect(rendered.map((job) => job.job_name)).toEqual(jobs(read("prometheus/prometheus.yml")).map((j) => j.job_name));
    const problems: string[] = [];
    for (const job of rendered) {
      const targets = job.static_configs.flatMap((config) => config.targets);
      if (targets.length === 0) problems.push(`${job.job_name}: no targets`);
      for (const target of targets) {
        const [host = "", port = ""] = String(target).split(":");
        const service = services[host];
        if (!service) problems.push(`${job.job_name}: ${host} is not a Compose service`);
        else if (!JSON.stringify([service.command, service.environment]).includes(port))
          problems.push(`${job.job_name}: ${host} is not configured to listen on ${port}`);
      }
    }
    expect(problems).toEqual([]);
  });

  it("balances nginx over exactly the Service A instances Compose runs, on their HTTP and gRPC ports", () => {
    const nginx = readFileSync(join(renderDir, "nginx.conf"), "utf8");
    const upstream = (name: string) =>
      [...(new RegExp(`upstream ${name} \\{([^}]*)\\}`).exec(nginx)?.[1] ?? "").matchAll(/server (\S+);?/g)].map(
        (match) => match[1],
      );
    const instances = entries.filter(([name]) => /^service-a-\d+$/.test(name));
    expect(upstream("service_a_http")).toEqual(
      instances.map(([name, service]) => `${name}:${service.environment?.HTTP_PORT}`),
    );
    expect(upstream("service_a_grpc")).toEqual(
      instances.map(([name, service]) => `${name}:${service.environment?.GRPC_PORT}`),
    );
  });
});
