-- A counter Service B bumps on the leader every second and reads back on the replica: how far behind
-- the replica is, even when streaming has stopped (service-b/src/replica-lag.ts).
CREATE TABLE replica_heartbeat (
  id   smallint PRIMARY KEY CHECK (id = 1),
  beat bigint   NOT NULL DEFAULT 0
);
INSERT INTO replica_heartbeat (id) VALUES (1);

GRANT SELECT, UPDATE ON replica_heartbeat TO service_b;
