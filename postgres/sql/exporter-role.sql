-- The monitoring role postgres_exporter logs in as, on every server of the stack.
-- psql -v exporter_password=... -f exporter-role.sql
SELECT 'CREATE ROLE exporter LOGIN' WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'exporter') \gexec
ALTER ROLE exporter WITH LOGIN PASSWORD :'exporter_password';
GRANT pg_monitor TO exporter;
