#!/bin/bash
# Puts the Prometheus JMX exporter agent that Kafka and Connect load into the shared volume: the
# version native/jvm/pom.xml fetches, from Maven Central, checked against its SHA-256. Once.
set -euo pipefail
jar=/opt/jmx-exporter/jmx_prometheus_javaagent.jar
if echo "$JMX_EXPORTER_SHA256  $jar" | sha256sum --check --status 2>/dev/null; then
  exit 0
fi
curl -fsSL -o "$jar.part" \
  "https://repo1.maven.org/maven2/io/prometheus/jmx/jmx_prometheus_javaagent/$JMX_EXPORTER_VERSION/jmx_prometheus_javaagent-$JMX_EXPORTER_VERSION.jar"
echo "$JMX_EXPORTER_SHA256  $jar.part" | sha256sum --check
chmod 644 "$jar.part"
mv "$jar.part" "$jar"
