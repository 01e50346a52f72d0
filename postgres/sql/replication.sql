-- On Service B's leader: the role the replica streams as, and the physical slot that keeps the WAL
-- the replica still needs (REPLICA_SLOT in postgres/src/sql.ts).
-- psql -v replication_password=... -f replication.sql
SELECT 'CREATE ROLE replicator LOGIN REPLICATION' WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'replicator') \gexec
ALTER ROLE replicator WITH LOGIN REPLICATION PASSWORD :'replication_password';
SELECT pg_create_physical_replication_slot('replica_slot')
WHERE NOT EXISTS (SELECT FROM pg_replication_slots WHERE slot_name = 'replica_slot');
