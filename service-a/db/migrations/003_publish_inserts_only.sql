-- Debezium needs the outbox's inserts only: each event's DELETE (same transaction) would otherwise be
-- decoded by the walsender, sent to Kafka Connect and dropped there by the Outbox Event Router,
-- nearly doubling the work of both for nothing.
ALTER PUBLICATION outbox_publication SET (publish = 'insert');
