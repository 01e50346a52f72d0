-- In the outbox database: Debezium's logical replication slot (slot.name in
-- debezium/outbox-connector.json; OUTBOX_SLOT in postgres/src/sql.ts).
SELECT pg_create_logical_replication_slot('outbox_slot', 'pgoutput')
WHERE NOT EXISTS (SELECT FROM pg_replication_slots WHERE slot_name = 'outbox_slot');
