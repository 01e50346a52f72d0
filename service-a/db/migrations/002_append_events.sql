-- Writes a batch of events in one statement, so a batch without idempotency keys costs one round trip
-- and one autocommit instead of BEGIN, INSERT, DELETE, COMMIT. The statements of a SQL function run
-- in order, each seeing the previous one's rows, so the DELETE removes what the INSERT wrote (the
-- insert stays in the WAL for Debezium; the table stays empty).
CREATE FUNCTION append_events(ids uuid[], payloads jsonb[], traceparents text[], created timestamptz[])
RETURNS void LANGUAGE sql VOLATILE SECURITY INVOKER AS $$
  INSERT INTO outbox (id, aggregatetype, aggregateid, type, payload, traceparent, created_at)
  SELECT id, 'user-events', id::text, 'SumCalculated', payload, traceparent, created_at
  FROM unnest(ids, payloads, traceparents, created) AS e(id, payload, traceparent, created_at);
  DELETE FROM outbox WHERE id = ANY(ids);
$$;

REVOKE ALL ON FUNCTION append_events(uuid[], jsonb[], text[], timestamptz[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION append_events(uuid[], jsonb[], text[], timestamptz[]) TO service_a;
