-- Which log each partition's offset belongs to. A Kafka log can be replaced under the same topic name
-- (a broker's lost disk, the topic deleted and created again); its offsets start again from 0, so a
-- stored offset alone would make Service B skip the new log's events as "applied before".
--   last_record_digest  a digest of the record at last_offset (key and value): the new log holds
--                       another record there, or none.
--   log_replacements, log_replaced_at  how often, and when last, the partition's log was found
--                       replaced and consumption started again from the new log's start.
--   replaced_log_end    the new log's end offset when it was found: until last_offset reaches it,
--                       Service B is still catching up with the new log.
ALTER TABLE partition_totals
  ADD COLUMN last_record_digest bytea,
  ADD COLUMN log_replacements   integer NOT NULL DEFAULT 0,
  ADD COLUMN log_replaced_at    timestamptz,
  ADD COLUMN replaced_log_end   bigint;
