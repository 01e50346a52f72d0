/**
 * The doors between the workspace's packages: each is used through its `exports`, declares every
 * workspace package it imports, and neither packages nor modules import each other in a circle.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join, normalize, sep } from "node:path";
import { expect, it } from "vitest";
import { parse } from "yaml";
import { REPO_ROOT } from "./settings.js";

interface Manifest {
  name: string;
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
  exports?: Record<string, string | { source: string }>;
}

interface Package {
  dir: string;
  manifest: Manifest;
  /** Its TypeScript files, relative to the repository root. */
  files: string[];
}

const IMPORT = /(?:^|\s)(?:import|export)\s[^"';]*?from\s+"([^"]+)"|import\(\s*"([^"]+)"\s*\)/g;

function typeScriptFiles(dir: string): string[] {
  return readdirSync(join(REPO_ROOT, dir), { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return ["node_modules", "dist"].includes(entry.name) ? [] : typeScriptFiles(path);
    return entry.name.endsWith(".ts") ? [path] : [];
  });
}

const workspace = parse(readFileSync(join(REPO_ROOT, "pnpm-workspace.yaml"), "utf8")) as { packages: string[] };
const packages: Package[] = workspace.packages.map((dir) => ({
  dir,
  manifest: JSON.parse(readFileSync(join(REPO_ROOT, dir, "package.json"), "utf8")) as Manifest,
  files: typeScriptFiles(dir),
}));
const byName = new Map(packages.map((p) => [p.manifest.name, p]));

function imports(file: string): string[] {
  return [...readFileSync(join(REPO_ROOT, file), "utf8").matchAll(IMPORT)].map((m) => m[1] ?? m[2] ?? "");
}

/** The workspace package whose folder holds `file` (relative to the root), if any. */
const owner = (file: string) => packages.find((p) => file.startsWith(p.dir + sep));

/** The workspace package an import names (`@sum/native/settings` names `@sum/native`). */
const packageNamed = (specifier: string) => byName.get(specifier.split("/").slice(0, 2).join("/"));

/** The file an import reaches, relative to the root: through the package's `exports`, or a relative path. */
function target(from: string, specifier: string): string | undefined {
  if (specifier.startsWith(".")) return normalize(join(dirname(from), specifier)).replace(/\.js$/, ".ts");
  const to = packageNamed(specifier);
  const entry = to?.manifest.exports?.[`.${specifier.slice(to.manifest.name.length)}`];
  if (to === undefined || entry === undefined) return undefined;
  return normalize(join(to.dir, typeof entry === "string" ? entry : entry.source));
}

/** The circles of a graph (each as its members, sorted), by Tarjan's strongly connected components. */
function circles(graph: Map<string, string[]>): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const found: string[][] = [];
  const visit = (node: string) => {
    index.set(node, index.size);
    low.set(node, index.get(node) ?? 0);
    stack.push(node);
    for (const next of graph.get(node) ?? []) {
      if (!index.has(next)) {
        visit(next);
        low.set(node, Math.min(low.get(node) ?? 0, low.get(next) ?? 0));
      } else if (stack.includes(next)) low.set(node, Math.min(low.get(node) ?? 0, index.get(next) ?? 0));
    }
    if (low.get(node) !== index.get(node)) return;
    const members: string[] = [];
    for (;;) {
      const member = stack.pop();
      if (member === undefined) break;
      members.push(member);
      if (member === node) break;
    }
    if (members.length > 1) found.push(members.sort());
  };
  for (const node of graph.keys()) if (!index.has(node)) visit(node);
  return found;
}

it("no module reaches into another workspace package by a relative path: packages are used through their exports", () => {
  const crossings = packages.flatMap((p) =>
    p.files.flatMap((file) =>
      imports(file)
        .filter((specifier) => specifier.startsWith("."))
        .map((specifier) => ({ file, to: owner(normalize(join(dirname(file), specifier))) }))
        .filter(({ to }) => to !== undefined && to !== p)
        .map(({ file, to }) => `${file} -> ${to?.dir}`),
    ),
  );
  expect(crossings).toEqual([]);
});

it("each package declares every workspace package it imports, and each import names one of its exports", () => {
  const problems = packages.flatMap((p) => {
    const declared = { ...p.manifest.dependencies, ...p.manifest.devDependencies };
    return p.files.flatMap((file) =>
      imports(file)
        .filter((specifier) => packageNamed(specifier) !== undefined)
        .flatMap((specifier) => {
          const name = packageNamed(specifier)?.manifest.name ?? "";
          if (name === p.manifest.name) return [`${file}: imports its own package (${specifier})`];
          if (!(name in declared)) return [`${file}: imports ${specifier}, not in ${p.dir}/package.json`];
          const reached = target(file, specifier);
          return reached !== undefined && existsSync(join(REPO_ROOT, reached))
            ? []
            : [`${file}: ${specifier} is none of ${name}'s exports`];
        }),
    );
  });
  expect(problems).toEqual([]);
});

it("no two workspace packages depend on each other, through any chain (pnpm's cyclic workspace dependencies)", () => {
  const graph = new Map(
    packages.map((p) => [
      p.manifest.name,
      Object.keys({ ...p.manifest.dependencies, ...p.manifest.devDependencies }).filter((name) => byName.has(name)),
    ]),
  );
  expect(circles(graph)).toEqual([]);
});

it("no module imports itself through a chain of imports", () => {
  const graph = new Map(
    packages.flatMap((p) =>
      p.files.map((file) => [file, imports(file).flatMap((specifier) => target(file, specifier) ?? [])]),
    ),
  );
  expect(circles(graph)).toEqual([]);
});
