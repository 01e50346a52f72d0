-- Debezium's Outbox Event Router reads id, aggregatetype, aggregateid, type, payload and traceparent;
-- created_at was decoded, sent, and parsed into a timestamp by Kafka Connect for every event, then
-- dropped (a tenth of Connect's CPU in a profile under load). A publication column list (PostgreSQL
-- 15 and later) leaves it out of the stream; on older servers the publication stays as it was.
DO $$
BEGIN
  IF current_setting('server_version_num')::integer >= 150000 THEN
    ALTER PUBLICATION outbox_publication SET TABLE outbox (id, aggregatetype, aggregateid, type, payload, traceparent);
  END IF;
END
$$;
