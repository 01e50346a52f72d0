import { readFileSync } from "node:fs";
import { Parser } from "@asyncapi/parser";
import { ASYNCAPI_FILE, asyncApiValidators } from "@sum/test-support";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { renderAsyncApi } from "./asyncapi.js";
import { DEAD_LETTER_HEADERS, EVENT_HEADERS, SUM_CALCULATED } from "./kafka.js";
import { decodeSumCalculated, EXAMPLE_SUM_CALCULATED, encodeSumCalculated } from "./sum-calculated.js";

const committed = readFileSync(ASYNCAPI_FILE, "utf8");
const validators = asyncApiValidators();
const ID = EXAMPLE_SUM_CALCULATED.eventId;
const valid = JSON.parse(encodeSumCalculated(EXAMPLE_SUM_CALCULATED)) as Record<string, unknown>;

describe("docs/asyncapi.yaml", () => {
  it("is the document the contract package generates (pnpm --filter @sum/contract run asyncapi)", () => {
    expect(committed).toBe(renderAsyncApi());
  });

  it("is a valid AsyncAPI 3.0 document for the standard parser", async () => {
    const { document, diagnostics } = await new Parser().parse(committed);
    // Severity 0 is an error; warnings and hints do not make a document invalid.
    expect(diagnostics.filter((diagnostic) => diagnostic.severity === 0)).toEqual([]);
    expect(document?.version()).toBe("3.0.0");
    expect(
      document
        ?.channels()
        .all()
        .map((channel) => channel.address()),
    ).toEqual(["user-events", "user-events.dlq"]);
  });

  it("the standard parser refuses a document that breaks the specification", async () => {
    const broken = committed.replace("action: receive", "action: listen");
    const { diagnostics } = await new Parser().parse(broken);
    expect(diagnostics.some((diagnostic) => diagnostic.severity === 0)).toBe(true);
  });

  it("its schemas accept an event as Service A writes it and a dead letter as Service B writes it", () => {
    const { sumCalculated, deadLetter } = validators;
    expect(sumCalculated?.payload(valid), JSON.stringify(sumCalculated?.payload.errors)).toBe(true);
    const headers = {
      [EVENT_HEADERS.eventId]: ID,
      [EVENT_HEADERS.eventType]: SUM_CALCULATED,
      [EVENT_HEADERS.traceparent]: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
    };
    expect(sumCalculated?.headers(headers)).toBe(true);
    const letter = {
      ...headers,
      [DEAD_LETTER_HEADERS.reason]: "the value is not JSON",
      [DEAD_LETTER_HEADERS.sourceTopic]: "user-events",
      [DEAD_LETTER_HEADERS.sourcePartition]: "2",
      [DEAD_LETTER_HEADERS.sourceOffset]: "17",
    };
    expect(deadLetter?.headers(letter)).toBe(true);
    expect(deadLetter?.headers({ ...letter, [DEAD_LETTER_HEADERS.truncated]: "true" })).toBe(true);
  });

  it("every example it gives satisfies its message's schemas", () => {
    const document = parse(committed) as {
      components: { messages: Record<string, { examples: Array<{ headers: unknown; payload: unknown }> }> };
    };
    const examples = Object.entries(document.components.messages).flatMap(([name, message]) =>
      message.examples.map((example) => ({ ...example, message: name })),
    );
    expect(examples.map((example) => example.message)).toEqual(["sumCalculated", "deadLetter", "deadLetterReplayed"]);
    for (const { message, headers, payload } of examples) {
      expect(validators[message]?.headers(headers), message).toBe(true);
      expect(validators[message]?.payload(payload), message).toBe(true);
    }
  });

  it("its schemas refuse headers without what the contract requires", () => {
    const { sumCalculated, deadLetter } = validators;
    expect(sumCalculated?.headers({ [EVENT_HEADERS.eventId]: ID, [EVENT_HEADERS.eventType]: SUM_CALCULATED })).toBe(
      false,
    );
    expect(deadLetter?.headers({ [DEAD_LETTER_HEADERS.reason]: "x" })).toBe(false);
  });

  // What JSON Schema can say: not that result is a+b, nor Service B's lenient reading of created_at.
  it.each([
    ["event_id", { ...valid, event_id: "not-a-uuid" }],
    ["a", { ...valid, a: "2" }],
    ["b", { ...valid, b: 3.5, result: 5.5 }],
    ["a", { ...valid, a: 2 ** 60, result: 2 ** 60 + 3 }],
    ["service_id", { ...valid, service_id: "" }],
    ["created_at", { ...valid, created_at: undefined }],
  ])("its payload schema refuses what Service B dead-letters: a bad %s", (field, payload) => {
    const decoded = decodeSumCalculated(Buffer.from(JSON.stringify(payload)), undefined);
    expect(decoded.valid).toBe(false);
    expect(decoded.valid ? "" : decoded.reason).toContain(field);
    expect(validators.sumCalculated?.payload(payload)).toBe(false);
  });
});
