import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Ajv, type ValidateFunction } from "ajv";
import addFormatsModule from "ajv-formats";
import { parse } from "yaml";

// ajv-formats is CommonJS: under NodeNext its default import is the module object.
const addFormats = addFormatsModule.default;

export const ASYNCAPI_FILE = join(import.meta.dirname, "..", "..", "docs", "asyncapi.yaml");

export interface MessageValidators {
  headers: ValidateFunction;
  payload: ValidateFunction;
}

interface AsyncApiMessage {
  headers: object;
  payload: object;
}

/**
 * A validator of the headers and of the payload of each message docs/asyncapi.yaml defines, by its
 * key under components.messages: tests hold live Kafka messages to the published document.
 */
export function asyncApiValidators(file = ASYNCAPI_FILE): Record<string, MessageValidators> {
  const document = parse(readFileSync(file, "utf8")) as { components: { messages: Record<string, AsyncApiMessage> } };
  const ajv = new Ajv({ allErrors: true });
  addFormats(ajv);
  return Object.fromEntries(
    Object.entries(document.components.messages).map(([name, message]) => [
      name,
      { headers: ajv.compile(message.headers), payload: ajv.compile(message.payload) },
    ]),
  );
}
