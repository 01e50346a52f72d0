-- The running total: one row, exact (numeric), with how many events made it.
CREATE TABLE running_total (
  id             smallint    PRIMARY KEY CHECK (id = 1),
  total          numeric     NOT NULL DEFAULT 0,
  events_applied bigint      NOT NULL DEFAULT 0,
  updated_at     timestamptz
);
INSERT INTO running_total (id) VALUES (1);

-- Every event id ever applied (within the retention window): the key to exactly-once. An event is
-- added to the total in the same transaction that records its id, and only if the id was new.
CREATE TABLE processed_events (
  event_id     uuid        PRIMARY KEY,
  result       bigint      NOT NULL,
  processed_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX processed_events_processed_at ON processed_events (processed_at);

GRANT USAGE ON SCHEMA public TO service_b;
GRANT SELECT, UPDATE ON running_total TO service_b;
GRANT SELECT, INSERT, DELETE ON processed_events TO service_b;
