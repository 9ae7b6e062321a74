#!/usr/bin/env bash
# Compile the tests' real Kafka Java consumer (test/fixtures/kafka/ConsumeAndHold.java) against the
# Kafka jars of install-kafka.sh, into the cache keyed by Kafka version and source hash.
# Prints the class directory. Needs a JDK (installed from Debian when javac is missing).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
LIB=$(bash "$(dirname "$0")/install-kafka.sh")
SRC="$(cd "$(dirname "$0")/.." && pwd)/test/fixtures/kafka/ConsumeAndHold.java"
SUM=$(sha256sum "$SRC" | cut -c1-12)
D="$SG_CACHE/java-consumer/${KAFKA_VERSION:-4.1.1}-$SUM"
if [ ! -f "$D/ConsumeAndHold.class" ]; then
  command -v javac >/dev/null || apt_ensure openjdk-17-jdk-headless
  mkdir -p "$D"
  javac -cp "$LIB/*" -d "$D" "$SRC"
fi
echo "$D"
