#!/bin/bash
# PUTs the rendered debezium/outbox-connector.json to Kafka Connect and waits until the connector and
# its task are RUNNING, as the native stack's KafkaConnect.registerConnector does. The PUT is
# idempotent. A connector that cannot run is removed again; its replication slot, and so its
# position, stays in PostgreSQL.
set -euo pipefail
connect=http://kafka-connect:8083
connector=outbox-connector

if ! response=$(curl -sS --fail-with-body -X PUT -H 'content-type: application/json' \
  --data @/config/outbox-connector.json "$connect/connectors/$connector/config"); then
  echo "registering $connector failed: $response" >&2
  exit 1
fi

status=""
for _ in $(seq 60); do
  status=$(curl -fs "$connect/connectors/$connector/status" || true)
  # One state for the connector, then one per task.
  states=$(grep -o '"state": *"[A-Z]*"' <<<"$status" | cut -d'"' -f4 || true)
  if grep -q FAILED <<<"$states"; then
    break
  fi
  if [ "$(grep -c . <<<"$states")" -ge 2 ] && ! grep -qv RUNNING <<<"$states"; then
    echo "$connector and its task are RUNNING"
    exit 0
  fi
  sleep 1
done
echo "$connector did not reach RUNNING; removing it. Status: $status" >&2
curl -fsS -X DELETE "$connect/connectors/$connector" >/dev/null || true
exit 1
