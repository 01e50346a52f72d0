-- Each partition's share of the total, and the offset of its last message applied (an event or
-- poison), written in the same transaction as its events. Service B resumes each partition after
-- that offset whatever the consumer group's committed offset says, so an event applied once is never
-- added again, however long ago its id left processed_events. One row per partition: instances
-- consuming different partitions never wait on one another. The total is the sum of the rows.
CREATE TABLE partition_totals (
  topic          text        NOT NULL,
  partition      integer     NOT NULL,
  last_offset    bigint,
  total          numeric     NOT NULL DEFAULT 0,
  events_applied bigint      NOT NULL DEFAULT 0,
  updated_at     timestamptz,
  PRIMARY KEY (topic, partition),
  CHECK ((partition = -1) = (last_offset IS NULL))
);

-- What running_total held (all applied before offsets were kept here) is carried over as a row of
-- its own, partition -1 of no topic, without an offset: the total and the count stay as they were.
LOCK TABLE running_total IN ACCESS EXCLUSIVE MODE;
INSERT INTO partition_totals (topic, partition, last_offset, total, events_applied, updated_at)
SELECT '', -1, NULL, total, events_applied, updated_at FROM running_total;
DROP TABLE running_total;

-- processed_events now guards what offsets cannot: Debezium publishing an event again at a new offset
-- (after a Connect crash). Its retention need only outlast such a redelivery.

GRANT SELECT, INSERT, UPDATE ON partition_totals TO service_b;
