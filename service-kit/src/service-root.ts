import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/**
 * The folder of the package a module belongs to (the nearest holding a package.json), given the
 * module's import.meta.url: the same whether it runs from src/ (tests) or dist/src/ (built).
 */
export function serviceRoot(moduleUrl: string): string {
  const file = fileURLToPath(moduleUrl);
  let dir = dirname(file);
  while (!existsSync(join(dir, "package.json"))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`no package.json above ${file}`);
    dir = parent;
  }
  return dir;
}
