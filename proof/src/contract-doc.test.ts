// docs/CONTRACT.md against the code it describes: no running stack needed. Each check reads the
// fact from the code (or runs it) and the claim from the document, so a change to either side that
// the other does not follow fails here.
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join, resolve, sep } from "node:path";
import { status as GrpcStatus } from "@grpc/grpc-js";
import { DEAD_LETTER_HEADERS, EVENT_HEADERS, EVENTS_TOPIC, SUM_CALCULATED, TOPICS } from "@sum/contract";
import { randomPasswords } from "@sum/native/passwords";
import { REPO_ROOT, SERVICE_SETTINGS, settingsSchema } from "@sum/native/settings";
import { ERROR_STATUS } from "@sum/service-kit";
import { describe, expect, it } from "vitest";

const read = (path: string) => readFileSync(join(REPO_ROOT, path), "utf8");
const doc = read("docs/CONTRACT.md");

/** The cells of the first Markdown table after the line `heading`, header and separator rows left out. */
function tableAfter(heading: string): string[][] {
  const lines = doc.split("\n");
  const start = lines.indexOf(heading);
  if (start < 0) throw new Error(`docs/CONTRACT.md has no line "${heading}"`);
  const rows: string[][] = [];
  for (const line of lines.slice(start + 1)) {
    const text = line.trim();
    if (!text.startsWith("|")) {
      if (rows.length > 0) break;
      continue;
    }
    // Split on | except an escaped \| inside a cell.
    rows.push(
      text
        .slice(1, -1)
        .split(/(?<!\\)\|/)
        .map((cell) => cell.trim()),
    );
  }
  if (rows.length < 3) throw new Error(`no table after "${heading}" in docs/CONTRACT.md`);
  return rows.slice(2);
}

/** The text under a `## ` heading, up to the next one. */
function section(heading: string): string {
  const text = doc.split(/^(?=## )/m).find((part) => part.startsWith(`${heading}\n`));
  if (text === undefined) throw new Error(`docs/CONTRACT.md has no section "${heading}"`);
  return text;
}

/** The text of a cell that is one code span, such as `UNAVAILABLE`. */
function codeSpan(cell: string | undefined): string | undefined {
  return /^`([^`]+)`$/.exec(cell ?? "")?.[1];
}

/** Every capture group 1 of `pattern` in `text`. */
function all(text: string, pattern: RegExp): string[] {
  return [...text.matchAll(pattern)].map((match) => match[1] as string);
}

const sorted = (values: Iterable<string>) => [...values].sort();

describe("the repository stands on its own", () => {
  const listed = spawnSync("git", ["ls-files", "-z"], { cwd: REPO_ROOT, encoding: "utf8" });
  const files = listed.stdout.split("\0").filter((file) => file !== "" && existsSync(join(REPO_ROOT, file)));
  const texts = files
    .map((file) => ({ file, text: readFileSync(join(REPO_ROOT, file), "utf8") }))
    .filter(({ text }) => !text.includes("\0"));

  it("no tracked file names a path outside the repository or one particular machine", () => {
    expect(listed.status, listed.stderr).toBe(0);
    expect(texts.length).toBeGreaterThan(100);
    const forbidden: Array<[RegExp, string]> = [
      [/\.\.\/shared\b/, "a folder beside the repository"],
      // Absolute paths into someone's file system (not a URL's path: no host name before them).
      [/(?<![\w.:/-])\/work\//, "an absolute path of a development machine"],
      [/(?<![\w.:/-])\/home\/[a-z]/, "an absolute path in a home directory"],
      [/(?<![\w.:/-])\/Users\/[A-Za-z]/, "an absolute path in a home directory"],
      [/\bthis\s+machine\b/i, "one particular machine"],
    ];
    const problems: string[] = [];
    for (const { file, text } of texts) {
      text.split("\n").forEach((line, index) => {
        for (const [pattern, what] of forbidden) {
          if (pattern.test(line)) problems.push(`${file}:${index + 1}: ${what}: ${line.trim()}`);
        }
      });
    }
    expect(problems).toEqual([]);
  });

  it("every relative link in a Markdown file leads to a file inside the repository", () => {
    const root = resolve(REPO_ROOT) + sep;
    const problems: string[] = [];
    for (const { file, text } of texts.filter(({ file }) => file.endsWith(".md"))) {
      for (const target of all(text, /\]\(([^)\s]+)\)/g)) {
        const path = target.split("#")[0] ?? "";
        if (path === "" || /^[a-z][a-z0-9+.-]*:/i.test(path)) continue;
        const resolved = resolve(REPO_ROOT, dirname(file), path);
        if (!resolved.startsWith(root)) problems.push(`${file}: ${target} is outside the repository`);
        else if (!existsSync(resolved)) problems.push(`${file}: ${target} does not exist`);
      }
    }
    expect(problems).toEqual([]);
  });

  it("README.md points at docs/CONTRACT.md as the contract", () => {
    expect(read("README.md")).toContain("](docs/CONTRACT.md)");
  });
});

describe("docs/CONTRACT.md matches the code", () => {
  it("lists every make target `make help` shows, and no other", () => {
    // A make above this one (make test) must not pass its flags down.
    const env = { ...process.env, MAKEFLAGS: "", MFLAGS: "", MAKELEVEL: "" };
    const help = spawnSync("make", ["--no-print-directory", "-s", "help"], { cwd: REPO_ROOT, encoding: "utf8", env });
    expect(help.status, help.stderr).toBe(0);
    const targets = all(help.stdout, /^ {2}([a-zA-Z0-9_-]+) /gm);
    expect(targets.length).toBeGreaterThan(10);
    const documented = tableAfter("## Make targets (repository root)").map(
      ([target]) => /^`make ([a-zA-Z0-9_-]+)`$/.exec(target ?? "")?.[1] ?? `unreadable: ${target}`,
    );
    expect(sorted(documented)).toEqual(sorted(targets));
  });

  it("gives every error code of Service A with its HTTP status, gRPC status and Retry-After", () => {
    const documented = Object.fromEntries(
      tableAfter("### Error codes").map(([code, http, grpc, retry]) => [
        codeSpan(code) ?? `unreadable: ${code}`,
        { http: Number(http), grpc: codeSpan(grpc), retryable: retry === "yes" },
      ]),
    );
    const actual = Object.fromEntries(
      Object.entries(ERROR_STATUS).map(([code, { http, grpc, retryable }]) => [
        code,
        { http, grpc: GrpcStatus[grpc], retryable },
      ]),
    );
    expect(documented).toEqual(actual);
  });

  it("knows every error code Service B answers", () => {
    const sources = readdirSync(join(REPO_ROOT, "service-b/src"), { recursive: true, encoding: "utf8" })
      .filter((file) => file.endsWith(".ts") && !file.endsWith(".test.ts"))
      .map((file) => read(join("service-b/src", file)));
    const codes = sources.flatMap((source) => all(source, /new AppError\("([A-Z_]+)"/g));
    expect(codes.length).toBeGreaterThan(0);
    const documented = tableAfter("### Error codes").map(([code]) => codeSpan(code));
    for (const code of codes) expect(documented, code).toContain(code);
  });

  it("gives every port with the default the stacks use", () => {
    const defaults = (text: string, pattern: RegExp) =>
      new Map([...text.matchAll(pattern)].map(([, name = "", port = ""]) => [name, Number(port.replaceAll("_", ""))]));
    const native = new Map(
      // Passwords have no default: given, so that the rest parse to theirs.
      Object.entries(settingsSchema.parse(randomPasswords()))
        .filter(([name]) => /_PORT(_BASE)?$/.test(name))
        .map(([name, port]) => [name, Number(port)]),
    );
    const compose = defaults(read("docker-compose/docker-compose.yml"), /\$\{([A-Z0-9_]+_PORT):-(\d+)\}/g);
    const example = defaults(read(".env.example"), /^#?\s*([A-Z0-9_]+_PORT(?:_BASE)?)=(\d+)\s*$/gm);
    expect(native.size).toBeGreaterThan(10);
    expect(compose.size).toBeGreaterThan(5);

    const rows = tableAfter("## Ports").map(([port, setting]) => ({
      port: Number.parseInt(port ?? "", 10),
      setting: codeSpan(setting) ?? `unreadable: ${setting}`,
    }));
    const problems: string[] = [];
    for (const { port, setting } of rows) {
      const sources = { "native/src/settings.ts": native, "docker-compose.yml": compose, ".env.example": example };
      if (!native.has(setting) && !compose.has(setting)) problems.push(`${setting}: not a setting of either stack`);
      for (const [source, values] of Object.entries(sources)) {
        const value = values.get(setting);
        if (value !== undefined && value !== port)
          problems.push(`${setting}: ${port} in the doc, ${value} in ${source}`);
      }
    }
    const documented = new Set(rows.map((row) => row.setting));
    for (const setting of [...native.keys(), ...compose.keys()]) {
      if (!documented.has(setting)) problems.push(`${setting}: a port setting missing from the doc's table`);
    }
    expect(problems).toEqual([]);
  });

  it("quotes proto/summation.proto as it is", () => {
    const quoted = /^```proto\n([\s\S]*?)^```$/m.exec(doc)?.[1];
    expect(quoted?.trim()).toBe(read("proto/summation.proto").trim());
  });

  it("names every route of Service A and Service B in the service's section", () => {
    // Each service's own routes, and the two every service's API gets from service-kit (/metrics, /openapi.json).
    const missing = (path: string, heading: string) => {
      const routes = [
        ...(read(path) + read("service-kit/src/http-api.ts")).matchAll(
          /\bapi\.(get|post|put|patch|delete)(?:<[^>]*>)?\(\s*"([^"]+)"/g,
        ),
      ].map(([, method = "", route = ""]) => `${method.toUpperCase()} ${route.replace(/:(\w+)/g, "{$1}")}`);
      expect(routes.length, path).toBeGreaterThanOrEqual(4);
      return routes.filter((route) => !section(heading).includes(`\`${route}\``));
    };
    expect(missing("service-a/src/transport/http.ts", "## Service A over HTTP (through nginx on 8090)")).toEqual([]);
    expect(missing("service-b/src/transport/http/http.ts", "## Service B (8082)")).toEqual([]);
  });

  it("names every gRPC metadata key Service A reads or sends", () => {
    const keys = all(
      read("service-a/src/transport/grpc.ts"),
      /(?:metadataValue\(call\.metadata, |\.set\()"([a-z-]+)"/g,
    );
    expect(keys).toEqual(expect.arrayContaining(["idempotency-key", "traceparent", "x-service-id", "error-code"]));
    const grpc = section("## Service A over gRPC (through nginx on 50051)");
    const missing = keys.filter((key) => !grpc.includes(`\`${key}\``) && !grpc.includes(`\`${key}: `));
    expect(missing).toEqual([]);
  });

  it("gives the topics with their partitions, and every Kafka header the pipeline adds", () => {
    const topics = tableAfter("## Events").map(([topic, partitions]) => ({
      topic: codeSpan(topic),
      numPartitions: Number(partitions),
    }));
    expect(topics).toEqual(TOPICS);

    // Debezium's Event Router puts the event id in the header `id` itself, the other two where the
    // connector places them: under the contract's names, which the services read.
    const connector = JSON.parse(read("debezium/outbox-connector.json")) as Record<string, string>;
    const placed = (connector["transforms.outbox.table.fields.additional.placement"] ?? "")
      .split(",")
      .filter((entry) => entry.split(":")[1] === "header")
      .map((entry) => entry.split(":")[2] ?? "");
    expect(sorted(placed)).toEqual(sorted([EVENT_HEADERS.eventType, EVENT_HEADERS.traceparent]));
    // The outbox row routes to the topic (aggregatetype) and names the event type (type) in SQL.
    expect(read("service-a/db/migrations/002_append_events.sql")).toContain(
      `SELECT id, '${EVENTS_TOPIC}', id::text, '${SUM_CALCULATED}'`,
    );
    const events = section("## Events");
    const headers = [...Object.values(EVENT_HEADERS), ...Object.values(DEAD_LETTER_HEADERS)];
    const missing = headers.filter((header) => !events.includes(`\`${header}\``));
    expect(missing).toEqual([]);
  });

  it("gives each service setting's default as the service has it, under the name .env gives it", () => {
    const settings: Record<string, { parse: (value: undefined) => unknown }> = settingsSchema.shape;
    const servicePrefixes = Object.values(SERVICE_SETTINGS).map((service) => service.prefix);
    const problems: string[] = [];
    for (const [name = "", fallback = ""] of tableAfter("## Settings")) {
      const setting = codeSpan(name) ?? name;
      const schema = settings[setting];
      if (schema === undefined || !servicePrefixes.some((prefix) => setting.startsWith(prefix)))
        problems.push(`${setting}: not a service setting`);
      else if (String(schema.parse(undefined)) !== fallback)
        problems.push(`${setting}: ${fallback} in the doc, ${String(schema.parse(undefined))} in its service`);
    }
    expect(problems).toEqual([]);
  });
});
