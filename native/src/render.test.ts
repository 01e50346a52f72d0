// biome-ignore-all lint/suspicious/noTemplateCurlyInString: the strings under test are templates
import { describe, expect, it } from "vitest";
import { renderTemplate } from "./render.js";
import { parseDotenv } from "./settings.js";

describe("renderTemplate", () => {
  it("fills upper-case placeholders and leaves Debezium's lower-case ones alone", () => {
    expect(renderTemplate('{"port": "${PORT}", "topic": "${routedByValue}"}', { PORT: 5434 })).toBe(
      '{"port": "5434", "topic": "${routedByValue}"}',
    );
  });

  it("refuses a placeholder with no value, naming it and the file", () => {
    expect(() => renderTemplate("listen ${NGINX_PORT};", {}, "nginx.conf")).toThrow(
      "nginx.conf: no value for ${NGINX_PORT}",
    );
  });
});

describe("parseDotenv", () => {
  it("reads KEY=VALUE lines, skipping comments and blanks, unquoting values", () => {
    const text = "# a comment\n\nKAFKA_PORT=19092\nRUN_DIR = \"/var/tmp/run\"\nBAD LINE\nPASSWORD='a=b'\n";
    expect(parseDotenv(text)).toEqual({ KAFKA_PORT: "19092", RUN_DIR: "/var/tmp/run", PASSWORD: "a=b" });
  });
});
