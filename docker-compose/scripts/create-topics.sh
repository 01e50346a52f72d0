#!/bin/bash
# Creates the pipeline's topics as the native stack does (native/src/components/kafka.ts): the broker
# never creates them on first use, and an existing topic is left as it is. Fails when a topic has
# another partition count than asked for. TOPICS="name:partitions name:partitions ...".
set -euo pipefail
bootstrap=kafka:19092
for entry in $TOPICS; do
  name=${entry%%:*}
  partitions=${entry##*:}
  /opt/kafka/bin/kafka-topics.sh --bootstrap-server "$bootstrap" --create --if-not-exists \
    --topic "$name" --partitions "$partitions" --replication-factor 1
  actual=$(/opt/kafka/bin/kafka-topics.sh --bootstrap-server "$bootstrap" --describe --topic "$name" |
    grep -o 'PartitionCount: *[0-9]*' | grep -o '[0-9]*$')
  if [ "$actual" != "$partitions" ]; then
    echo "topic $name has $actual partitions, expected $partitions" >&2
    exit 1
  fi
  echo "topic $name: $partitions partitions"
done
