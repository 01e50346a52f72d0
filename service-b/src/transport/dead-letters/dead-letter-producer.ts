import { SpanKind, SpanStatusCode, type Tracer } from "@opentelemetry/api";
import { DEAD_LETTER_HEADERS } from "@sum/contract";
import { contextOf } from "@sum/service-kit";
import { type IHeaders, type Kafka, type Message, Partitioners, type Producer } from "kafkajs";
import type { DeadLetter, DeadLetters } from "../../domain/apply-batch.js";
import { type IncomingMessage, traceparentOfMessage } from "../../domain/sum-event.js";
import { asDeadLetterHeaders } from "./dead-letter-headers.js";

/** Most bytes of dead letters in one write: half the broker's default limit for a batch (1 MiB). */
const MAX_WRITE_BYTES = 512 * 1024;
/** What is kept of the key and of the value of a dead letter too large to write whole. */
const TRUNCATED_BYTES = 1024;

function bytes(message: IncomingMessage): number {
  let size = (message.key?.length ?? 0) + (message.value?.length ?? 0);
  for (const [name, value] of Object.entries(message.headers)) size += name.length + (value?.length ?? 0);
  return size;
}

/** Whether the broker refused a write as too large (kafkajs wraps its protocol errors in others). */
function isTooLarge(error: unknown): boolean {
  for (let cause = error; cause instanceof Error; cause = cause.cause) {
    const type = (cause as { type?: unknown }).type;
    if (type === "MESSAGE_TOO_LARGE" || type === "RECORD_LIST_TOO_LARGE") return true;
  }
  return false;
}

/** Consecutive runs of letters of at most MAX_WRITE_BYTES each (a larger letter alone). */
function chunks(letters: DeadLetter[]): DeadLetter[][] {
  const runs: DeadLetter[][] = [];
  let run: DeadLetter[] = [];
  let runBytes = 0;
  for (const letter of letters) {
    const size = bytes(letter.message);
    if (run.length > 0 && runBytes + size > MAX_WRITE_BYTES) {
      runs.push(run);
      run = [];
      runBytes = 0;
    }
    run.push(letter);
    runBytes += size;
  }
  if (run.length > 0) runs.push(run);
  return runs;
}

/**
 * The dead-letter topic: the original key, value and headers, plus why and where from
 * (dlq-source-topic, -partition and -offset, which also identify a letter written twice). Every dlq-*
 * header is the pipeline's: an original's own of such a name is kept as dlq-original-header-<name>. Letters
 * go in writes of at most MAX_WRITE_BYTES; a write the broker finds too large is split, and a single
 * letter it refuses is written cut short (dlq-truncated, dlq-original-size: the value's size), so
 * poison never blocks a partition. What this process has written is not written again on a retry.
 */
export function kafkaDeadLetters(producer: Producer, topic: string, sourceTopic: string): DeadLetters {
  const dlqHeaders = ({ message, reason }: DeadLetter): IHeaders => ({
    [DEAD_LETTER_HEADERS.reason]: reason,
    [DEAD_LETTER_HEADERS.sourceTopic]: sourceTopic,
    [DEAD_LETTER_HEADERS.sourcePartition]: String(message.partition),
    [DEAD_LETTER_HEADERS.sourceOffset]: message.offset,
  });
  const whole = (letter: DeadLetter): Message => ({
    key: letter.message.key,
    value: letter.message.value,
    headers: { ...asDeadLetterHeaders(letter.message.headers), ...dlqHeaders(letter) },
  });
  // Only the dlq headers: the source partition and offset point at all of it, while Kafka keeps it.
  const truncated = (letter: DeadLetter): Message => ({
    key: letter.message.key?.subarray(0, TRUNCATED_BYTES) ?? null,
    value: letter.message.value?.subarray(0, TRUNCATED_BYTES) ?? null,
    headers: {
      ...dlqHeaders(letter),
      [DEAD_LETTER_HEADERS.truncated]: "true",
      [DEAD_LETTER_HEADERS.originalSize]: String(letter.message.value?.length ?? 0),
    },
  });

  /** The offset of the last letter written, by source partition. */
  const written = new Map<number, bigint>();
  const write = async (letters: DeadLetter[]): Promise<void> => {
    try {
      await producer.send({ topic, acks: -1, messages: letters.map(whole) });
    } catch (error) {
      if (!isTooLarge(error)) throw error;
      if (letters.length > 1) {
        const half = Math.ceil(letters.length / 2);
        await write(letters.slice(0, half));
        await write(letters.slice(half));
        return;
      }
      await producer.send({ topic, acks: -1, messages: letters.map(truncated) });
    }
    const last = (letters[letters.length - 1] as DeadLetter).message;
    written.set(last.partition, BigInt(last.offset));
  };

  return {
    async send(letters: DeadLetter[]) {
      const unwritten = letters.filter(
        ({ message }) => BigInt(message.offset) > (written.get(message.partition) ?? -1n),
      );
      for (const chunk of chunks(unwritten)) await write(chunk);
    },
  };
}

/**
 * The dead-letter topic's own producer, from the client the consumer uses too; connected by its
 * owner. Each letter is sent in a span under the traceparent its message carried, if any.
 */
export function deadLetterProducer(
  kafka: Kafka,
  options: { topic: string; sourceTopic: string; tracer: Tracer },
): DeadLetters & { connect(): Promise<void>; disconnect(): Promise<void> } {
  const { topic, sourceTopic, tracer } = options;
  const producer = kafka.producer({
    idempotent: true,
    maxInFlightRequests: 1,
    createPartitioner: Partitioners.DefaultPartitioner,
  });
  const deadLetters = kafkaDeadLetters(producer, topic, sourceTopic);
  return {
    async send(letters) {
      const spans = letters.map(({ message, reason }) =>
        tracer.startSpan(
          "dead-letter",
          {
            kind: SpanKind.PRODUCER,
            attributes: {
              "messaging.system": "kafka",
              "messaging.operation.type": "send",
              "messaging.destination.name": topic,
              "sum.dead_letter.reason": reason,
              "sum.source.offset": message.offset,
            },
          },
          contextOf(traceparentOfMessage(message)),
        ),
      );
      try {
        await deadLetters.send(letters);
      } catch (error) {
        for (const span of spans) span.setStatus({ code: SpanStatusCode.ERROR, message: (error as Error).message });
        throw error;
      } finally {
        for (const span of spans) span.end();
      }
    },
    connect: () => producer.connect(),
    disconnect: () => producer.disconnect(),
  };
}
