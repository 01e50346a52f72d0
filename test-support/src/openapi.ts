import { Validator } from "@seriousme/openapi-schema-validator";
import { Ajv2020 } from "ajv/dist/2020.js";
import addFormats from "ajv-formats";

interface MediaType {
  schema?: object;
}
interface Response {
  headers?: Record<string, { schema: object }>;
  content?: Record<string, MediaType>;
}
export interface OpenApiDocument {
  openapi: string;
  paths: Record<string, Record<string, { responses: Record<string, Response> }>>;
}

/** What a live answer was, for `nonConformance`. */
export interface LiveResponse {
  method: string;
  /** The path requested, query string included or not. */
  url: string;
  status: number;
  headers: Headers;
  body: string;
}

/** Why `document` is not a valid OpenAPI document, by the standard validator; empty when it is. */
export async function openApiErrors(document: object): Promise<string[]> {
  const result = await new Validator().validate(document as Record<string, unknown>);
  if (result.valid) return [];
  const errors = result.errors ?? [];
  return typeof errors === "string" ? [errors] : errors.map((error) => JSON.stringify(error));
}

/** The path template of `document` that `path` matches (`/api/events/{id}` for `/api/events/x`). */
function pathTemplate(document: OpenApiDocument, path: string): string | undefined {
  return Object.keys(document.paths).find((template) =>
    new RegExp(`^${template.replace(/[.]/g, "\\.").replace(/\{[^}]+\}/g, "[^/]+")}$`).test(path),
  );
}

/**
 * How `response` departs from what `document` says of it: an undocumented status, another media
 * type, a body or a header out of its schema. Empty when it conforms.
 */
export function nonConformance(document: OpenApiDocument, response: LiveResponse): string[] {
  const path = response.url.split("?")[0] ?? "";
  const template = pathTemplate(document, path);
  const operation = template ? document.paths[template]?.[response.method.toLowerCase()] : undefined;
  if (!operation) return [`${response.method} ${path} is not in the document`];
  const described = operation.responses[String(response.status)] ?? operation.responses.default;
  if (!described) return [`${response.method} ${path}: status ${response.status} is not documented`];
  const ajv = addFormats.default(new Ajv2020({ strict: false, allErrors: true }));
  const problems: string[] = [];
  for (const [name, header] of Object.entries(described.headers ?? {})) {
    const value = response.headers.get(name);
    if (value !== null && !ajv.validate(header.schema, value)) {
      problems.push(`header ${name}: ${value} ${ajv.errorsText()}`);
    }
  }
  if (!described.content || response.method === "HEAD") return problems;
  const mediaType = (response.headers.get("content-type") ?? "").split(";")[0]?.trim() ?? "";
  const media = described.content[mediaType];
  if (!media) return [...problems, `media type ${mediaType} is not documented for ${response.status}`];
  if (media.schema && mediaType === "application/json") {
    const body: unknown = JSON.parse(response.body);
    if (!ajv.validate(media.schema, body)) problems.push(`body ${response.body}: ${ajv.errorsText()}`);
  }
  return problems;
}

/** Fetches `url` and says how the answer departs from `document` (see nonConformance). */
export async function fetchNonConformance(
  document: OpenApiDocument,
  url: string,
  init: RequestInit = {},
): Promise<{ response: LiveResponse; problems: string[] }> {
  const method = init.method ?? "GET";
  const answer = await fetch(url, init);
  const response = {
    method,
    url: new URL(url).pathname,
    status: answer.status,
    headers: answer.headers,
    body: await answer.text(),
  };
  return { response, problems: nonConformance(document, response) };
}
