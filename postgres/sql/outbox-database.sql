-- Run once per PostgreSQL server, as a superuser, before Service A starts:
--   psql -v ON_ERROR_STOP=1 -v owner_password=... -v service_password=... -v debezium_password=... \
--        -v reconciler_password=... -f outbox-database.sql
-- Creates the four roles and the `outbox` database. Safe to run again: it changes nothing that exists,
-- except that it resets the passwords to the ones given.
--   outbox_owner  owns the schema; Service A runs its migrations as this role.
--   service_a     what Service A runs as: it can only write the outbox and its idempotency keys.
--   debezium      streams the outbox through logical replication; it can read only the outbox.
--   reconciler    reads the outbox (the ledger of acknowledged events) and re-sends or forgets its
--                 events only through the functions Service A's migrations grant it.

SELECT 'CREATE ROLE outbox_owner LOGIN' WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'outbox_owner') \gexec
SELECT 'CREATE ROLE service_a LOGIN' WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'service_a') \gexec
SELECT 'CREATE ROLE debezium LOGIN REPLICATION' WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'debezium') \gexec
SELECT 'CREATE ROLE reconciler LOGIN' WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'reconciler') \gexec

ALTER ROLE outbox_owner WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD :'owner_password';
ALTER ROLE service_a WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD :'service_password';
ALTER ROLE debezium WITH LOGIN REPLICATION NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD :'debezium_password';
ALTER ROLE reconciler WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD :'reconciler_password';

SELECT 'CREATE DATABASE outbox OWNER outbox_owner' WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'outbox') \gexec

\connect outbox
REVOKE ALL ON DATABASE outbox FROM PUBLIC;
GRANT CONNECT ON DATABASE outbox TO service_a, debezium, reconciler;
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
ALTER SCHEMA public OWNER TO outbox_owner;
