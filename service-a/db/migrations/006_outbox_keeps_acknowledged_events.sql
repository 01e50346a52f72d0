-- The outbox keeps its rows now, for the reconciler's window (reconciler/, RECONCILE_WINDOW_HOURS):
-- they are the ledger of acknowledged events, each written in the transaction that acknowledges it,
-- which the reconciler compares with what Service B applied and re-sends from. Appending is an
-- insert alone (cheaper than the insert and delete before it: no dead row for each event); the
-- reconciler deletes rows past its window in batches, off the request path.
CREATE OR REPLACE FUNCTION append_events(ids uuid[], payloads jsonb[], traceparents text[], created timestamptz[])
RETURNS void LANGUAGE sql VOLATILE SECURITY INVOKER AS $$
  INSERT INTO outbox (id, aggregatetype, aggregateid, type, payload, traceparent, created_at)
  SELECT id, 'user-events', id::text, 'SumCalculated', payload, traceparent, created_at
  FROM unnest(ids, payloads, traceparents, created) AS e(id, payload, traceparent, created_at);
$$;
REVOKE DELETE, SELECT (id) ON outbox FROM service_a;

-- Ids are UUIDv7: the first 48 bits are the Unix milliseconds of the event's creation, so ids sort
-- by creation time, and a time range of events is a range of ids. This is the smallest id of `at`'s
-- millisecond.
CREATE FUNCTION uuidv7_floor(at timestamptz) RETURNS uuid LANGUAGE sql IMMUTABLE STRICT AS $$
  SELECT (substr(h, 1, 8) || '-' || substr(h, 9, 4) || '-0000-0000-000000000000')::uuid
  FROM lpad(to_hex(floor(extract(epoch FROM at) * 1000)::bigint), 12, '0') AS h
$$;

-- Each event the reconciler sent again: how often, and when last (on this database's clock).
CREATE TABLE outbox_resends (
  event_id  uuid        PRIMARY KEY,
  attempts  integer     NOT NULL,
  resent_at timestamptz NOT NULL
);

-- Sends events again through the same path: each row is deleted and inserted again as it was (the
-- same id, the same payload) in one statement, so Debezium publishes the insert again, and Service B
-- skips the id if it applied it already. The re-send is noted in the same transaction. The
-- reconciler can re-send only events that are in the outbox, as they are.
CREATE FUNCTION resend_events(ids uuid[]) RETURNS SETOF uuid
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp AS $$
  WITH gone AS (
    DELETE FROM outbox WHERE id = ANY(ids) RETURNING *
  ), again AS (
    INSERT INTO outbox SELECT * FROM gone RETURNING id
  ), noted AS (
    INSERT INTO outbox_resends (event_id, attempts, resent_at)
    SELECT id, 1, now() FROM again
    ON CONFLICT (event_id) DO UPDATE SET attempts = outbox_resends.attempts + 1, resent_at = excluded.resent_at
  )
  SELECT id FROM again
$$;

-- Forgets up to `batch` events created before `before` (and their re-sends); returns how many. It
-- refuses to forget the last hour, whatever the caller asks: the shortest window the reconciler takes.
CREATE FUNCTION forget_events_before(before timestamptz, batch integer) RETURNS bigint
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
  forgotten bigint;
BEGIN
  IF before > now() - interval '1 hour' THEN
    RAISE EXCEPTION 'events of the last hour are never forgotten (asked to forget before %)', before;
  END IF;
  WITH gone AS (
    DELETE FROM outbox WHERE id IN (
      SELECT id FROM outbox WHERE id < uuidv7_floor(before) ORDER BY id LIMIT batch)
    RETURNING id
  ), unnoted AS (
    DELETE FROM outbox_resends WHERE event_id IN (SELECT id FROM gone)
  )
  SELECT count(*) INTO forgotten FROM gone;
  RETURN forgotten;
END
$$;

REVOKE ALL ON FUNCTION resend_events(uuid[]), forget_events_before(timestamptz, integer) FROM PUBLIC;
GRANT SELECT ON outbox, outbox_resends TO reconciler;
GRANT EXECUTE ON FUNCTION resend_events(uuid[]), forget_events_before(timestamptz, integer) TO reconciler;
