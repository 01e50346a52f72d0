-- The transactional outbox read by Debezium's Outbox Event Router. Service A inserts each event and
-- deletes it in the same transaction: the insert reaches the WAL, which is what Debezium streams,
-- and the table itself stays empty, so it cannot grow (the pattern Debezium documents).
CREATE TABLE outbox (
  id            uuid        PRIMARY KEY,          -- the event id (UUIDv7, time-ordered); Kafka header `id`
  aggregatetype text        NOT NULL,             -- routes to the Kafka topic
  aggregateid   text        NOT NULL,             -- the Kafka message key
  type          text        NOT NULL,             -- Kafka header `eventType`
  payload       jsonb       NOT NULL,             -- the Kafka message value
  traceparent   text,                             -- W3C trace context of the request that made the event
  created_at    timestamptz NOT NULL DEFAULT now()
);

-- An Idempotency-Key remembers the response it produced for 24 hours.
CREATE TABLE idempotency_keys (
  key        text        PRIMARY KEY,
  a          bigint      NOT NULL,
  b          bigint      NOT NULL,
  event_id   uuid        NOT NULL,
  service_id text        NOT NULL,
  created_at timestamptz NOT NULL
);
CREATE INDEX idempotency_keys_created_at ON idempotency_keys (created_at);

-- Debezium reads only this table, through a publication created here (not by Debezium, which would
-- need to own the table or be a superuser).
CREATE PUBLICATION outbox_publication FOR TABLE outbox;

GRANT USAGE ON SCHEMA public TO service_a, debezium;
-- DELETE ... WHERE id = ANY(...) needs SELECT on the id column, and nothing more.
GRANT INSERT, DELETE, SELECT (id) ON outbox TO service_a;
GRANT SELECT, INSERT, UPDATE, DELETE ON idempotency_keys TO service_a;
GRANT SELECT ON outbox TO debezium;
