import { readFile } from "node:fs/promises";

/**
 * Fills `${NAME}` placeholders (upper-case names only, as envsubst would) from `values`. Lower-case
 * ones such as Debezium's `${routedByValue}` are left alone. A placeholder with no value is an error,
 * so a typo never ships an empty port.
 */
export function renderTemplate(template: string, values: Record<string, string | number>, source = "template"): string {
  return template.replace(/\$\{([A-Z][A-Z0-9_]*)\}/g, (_, name: string) => {
    const value = values[name];
    if (value === undefined) throw new Error(`${source}: no value for \${${name}}`);
    return String(value);
  });
}

export async function renderFile(file: string, values: Record<string, string | number>): Promise<string> {
  return renderTemplate(await readFile(file, "utf8"), values, file);
}
