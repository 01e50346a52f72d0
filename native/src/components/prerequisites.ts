import { existsSync } from "node:fs";
import { delimiter, join } from "node:path";
import { installedPostgresBinDir } from "@sum/postgres";
import { isRoot, run } from "../process.js";
import { REPO_ROOT } from "../settings.js";

/** One of PostgreSQL's programs, if installed (see installedPostgresBinDir). */
const postgresProgram = (program: string) => () => {
  const dir = installedPostgresBinDir();
  return dir !== undefined && existsSync(join(dir, program));
};

interface Prerequisite {
  what: string;
  present: () => boolean;
  debianPackage: string;
}

const onPath = (program: string) => () =>
  (process.env.PATH ?? "").split(":").some((dir) => existsSync(join(dir, program)));

const PREREQUISITES: Prerequisite[] = [
  // The distribution's default PostgreSQL (the metapackages pick its version).
  { what: "PostgreSQL server", present: postgresProgram("initdb"), debianPackage: "postgresql" },
  { what: "psql", present: postgresProgram("psql"), debianPackage: "postgresql-client" },
  { what: "nginx", present: () => existsSync("/usr/sbin/nginx") || onPath("nginx")(), debianPackage: "nginx" },
  { what: "Prometheus", present: onPath("prometheus"), debianPackage: "prometheus" },
  {
    what: "postgres_exporter",
    present: onPath("prometheus-postgres-exporter"),
    debianPackage: "prometheus-postgres-exporter",
  },
  { what: "nginx exporter", present: onPath("prometheus-nginx-exporter"), debianPackage: "prometheus-nginx-exporter" },
  { what: "Java 17", present: onPath("java"), debianPackage: "openjdk-17-jre-headless" },
  { what: "Maven", present: onPath("mvn"), debianPackage: "maven" },
];

/**
 * Installs what is missing from Debian's packages when root; otherwise names the exact command and
 * stops. The packages' own services (a Prometheus on 9090, an nginx on 80) are stopped and disabled:
 * the stack runs its own.
 */
export async function ensurePrerequisites(log: (line: string) => void): Promise<void> {
  const missing = PREREQUISITES.filter((p) => !p.present());
  if (missing.length === 0) return;
  const packages = missing.map((p) => p.debianPackage);
  const command = `apt-get update && apt-get install -y --no-install-recommends ${packages.join(" ")}`;
  if (!isRoot()) {
    throw new Error(
      `missing prerequisites: ${missing.map((p) => p.what).join(", ")}.\nInstall them, then run make start again:\n  sudo sh -c '${command}'`,
    );
  }
  log(`installing ${packages.join(", ")} (apt)`);
  await run("apt-get", ["update", "-qq"]);
  await run("apt-get", ["install", "-y", "-qq", "--no-install-recommends", ...packages], {
    env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" },
  });
  for (const service of ["prometheus", "nginx", "prometheus-postgres-exporter", "prometheus-nginx-exporter"]) {
    await run("systemctl", ["disable", "--now", service]).catch(() => undefined);
    await run("service", [service, "stop"]).catch(() => undefined);
  }
  const still = PREREQUISITES.filter((p) => !p.present());
  if (still.length > 0) throw new Error(`still missing after apt-get install: ${still.map((p) => p.what).join(", ")}`);
}

/** Tools Debian has no package for, built with `go install` (pinned) when Go is on the PATH. */
export const GO_TOOLS = {
  // The README's gRPC examples, and the test that runs them.
  grpcurl: "github.com/fullstorydev/grpcurl/cmd/grpcurl@v1.9.4",
} as const;

export const goOnPath = (env: NodeJS.ProcessEnv) =>
  (env.PATH ?? "")
    .split(delimiter)
    .filter(Boolean)
    .map((dir) => join(dir, "go"))
    .find((file) => existsSync(file));

/**
 * make bench's gRPC load generator (load-tests/grpc-sum), built with Go beside its source; Go's build
 * cache makes a build with nothing changed take a moment. Says how to get Go when it is missing.
 */
export async function buildGrpcSum(log: (line: string) => void, env: NodeJS.ProcessEnv = process.env): Promise<string> {
  const dir = join(REPO_ROOT, "load-tests", "grpc-sum");
  const go = goOnPath(env);
  if (go === undefined) throw new Error(`there is no Go to build ${dir} with: install Go 1.25+`);
  log("building load-tests/grpc-sum (go build)");
  await run(go, ["build", "-o", "grpc-sum", "."], { cwd: dir, env });
  return join(dir, "grpc-sum");
}

/** The tool's path: on the PATH, in ~/go/bin, or built there with `go install`; says how to get it otherwise. */
export async function ensureGoTool(
  tool: keyof typeof GO_TOOLS,
  log: (line: string) => void,
  env: NodeJS.ProcessEnv = process.env,
): Promise<string> {
  const dirs = (env.PATH ?? "").split(delimiter).filter(Boolean);
  const goBin = join(env.HOME ?? "", "go", "bin");
  const found = [...dirs, goBin].map((dir) => join(dir, tool)).find((file) => existsSync(file));
  if (found !== undefined) return found;
  const go = goOnPath(env);
  if (go === undefined) {
    throw new Error(
      `${tool} is missing and there is no Go to build it: install Go 1.21+ and run\n  go install ${GO_TOOLS[tool]}\nor put a ${tool} release binary on the PATH`,
    );
  }
  log(`building ${tool} (go install ${GO_TOOLS[tool]})`);
  await run(go, ["install", GO_TOOLS[tool]], { env: { ...env, GOBIN: goBin } });
  return join(goBin, tool);
}
