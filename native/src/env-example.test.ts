// biome-ignore-all lint/suspicious/noTemplateCurlyInString: Compose's ${...} placeholders
/**
 * .env.example against the schemas that read it (the native stack's, which holds both services'
 * under their prefixes): it cannot drift from them.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { expect, it } from "vitest";
import { PASSWORD_SETTINGS, type PasswordSetting } from "./passwords.js";
import { REPO_ROOT, settingsSchema } from "./settings.js";

/** Each `KEY=value` and `# KEY=value` line, with the comment on the line above it. */
function documented(text: string): Map<string, { value: string; description: string | undefined }> {
  const assignment = /^(?:# )?([A-Z][A-Z0-9_]*)=(.*)$/;
  const lines = text.split("\n");
  const entries = new Map<string, { value: string; description: string | undefined }>();
  lines.forEach((line, index) => {
    const [, key, value = ""] = assignment.exec(line) ?? [];
    if (key === undefined) return;
    const above = lines[index - 1] ?? "";
    const description = above.startsWith("# ") && !assignment.test(above) ? above.slice(2) : undefined;
    entries.set(key, { value, description });
  });
  return entries;
}

const example = documented(readFileSync(join(REPO_ROOT, ".env.example"), "utf8"));
const schemas = Object.entries(settingsSchema.shape);
const isPassword = (key: string) => PASSWORD_SETTINGS.includes(key as PasswordSetting);

it("lists every setting, described on the line above it as its schema describes it", () => {
  const problems: string[] = [];
  for (const [key, schema] of schemas) {
    const entry = example.get(key);
    if (!entry) problems.push(`${key} is missing`);
    else if (entry.description !== schema.description)
      problems.push(
        `${key}: described as ${JSON.stringify(entry.description ?? null)}, its schema says "${schema.description}"`,
      );
  }
  expect(problems).toEqual([]);
});

it("gives every setting but the passwords its schema's default", () => {
  const problems: string[] = [];
  for (const [key, schema] of schemas) {
    const entry = example.get(key);
    if (
      entry &&
      !isPassword(key) &&
      JSON.stringify(schema.parse(entry.value)) !== JSON.stringify(schema.parse(undefined))
    )
      problems.push(`${key}=${entry.value}, its default is ${JSON.stringify(schema.parse(undefined))}`);
  }
  expect(problems).toEqual([]);
});

it("leaves every password empty, and no password setting has a default", () => {
  const written = PASSWORD_SETTINGS.filter((key) => example.get(key)?.value !== "").map(
    (key) => `${key}=${example.get(key)?.value ?? "(missing)"}`,
  );
  expect(written).toEqual([]);
  const withDefault = schemas.filter(([key, schema]) => isPassword(key) && schema.safeParse(undefined).success);
  expect(withDefault.map(([key]) => key)).toEqual([]);
  const unlisted = schemas.filter(([key]) => key.endsWith("_PASSWORD") && !isPassword(key));
  expect(unlisted.map(([key]) => key)).toEqual([]);
});

it("holds nothing else but variables docker-compose.yml reads, each described", () => {
  const compose = readFileSync(join(REPO_ROOT, "docker-compose", "docker-compose.yml"), "utf8");
  const problems: string[] = [];
  for (const [key, { description }] of example) {
    if (!(key in settingsSchema.shape) && !compose.includes(`\${${key}`)) problems.push(`${key}: nothing reads it`);
    if (description === undefined) problems.push(`${key}: no description on the line above it`);
  }
  expect(problems).toEqual([]);
});
