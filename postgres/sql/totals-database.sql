-- Run once per PostgreSQL leader, as a superuser, before Service B starts:
--   psql -v ON_ERROR_STOP=1 -v owner_password=... -v service_password=... -v reconciler_password=... \
--        -f totals-database.sql
-- Creates the roles and the `totals` database. Safe to run again (it resets the passwords).
--   totals_owner  owns the schema; Service B runs its migrations as this role.
--   service_b     what Service B runs as: it records processed events and updates the total.
--   reconciler    reads which events Service B applied, and where each partition stands; nothing more.
-- The streaming replica copies all of this; Service B reads the total there as service_b.

SELECT 'CREATE ROLE totals_owner LOGIN' WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'totals_owner') \gexec
SELECT 'CREATE ROLE service_b LOGIN' WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'service_b') \gexec
SELECT 'CREATE ROLE reconciler LOGIN' WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'reconciler') \gexec

ALTER ROLE totals_owner WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD :'owner_password';
ALTER ROLE service_b WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD :'service_password';
ALTER ROLE reconciler WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD :'reconciler_password';

SELECT 'CREATE DATABASE totals OWNER totals_owner' WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'totals') \gexec

\connect totals
REVOKE ALL ON DATABASE totals FROM PUBLIC;
GRANT CONNECT ON DATABASE totals TO service_b, reconciler;
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
ALTER SCHEMA public OWNER TO totals_owner;
