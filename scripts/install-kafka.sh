#!/usr/bin/env bash
# Fetch the Apache Kafka broker jars (KRaft) from Maven Central into the cache.
# Prints the lib directory. Needs Java 17+ and Maven (installed from Debian when missing).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
KV=${KAFKA_VERSION:-4.1.1}
D="$SG_CACHE/kafka/$KV"
if [ ! -f "$D/.complete" ]; then
  command -v java >/dev/null || apt_ensure openjdk-17-jre-headless
  command -v mvn >/dev/null || apt_ensure maven
  mkdir -p "$D"
  cat >"$D/pom.xml" <<POM
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>local.surgeguard</groupId><artifactId>kafka-runtime</artifactId><version>1</version><packaging>pom</packaging>
  <dependencies>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka_2.13</artifactId><version>$KV</version></dependency>
    <dependency><groupId>org.slf4j</groupId><artifactId>slf4j-api</artifactId><version>2.0.16</version></dependency>
    <dependency><groupId>org.apache.logging.log4j</groupId><artifactId>log4j-slf4j2-impl</artifactId><version>2.24.3</version></dependency>
    <dependency><groupId>org.apache.logging.log4j</groupId><artifactId>log4j-core</artifactId><version>2.24.3</version></dependency>
  </dependencies>
</project>
POM
  log "downloading Kafka $KV jars"
  mvn -B -q -f "$D/pom.xml" -Dmaven.repo.local="$SG_CACHE/m2" \
    org.apache.maven.plugins:maven-dependency-plugin:3.8.1:copy-dependencies \
    -DincludeScope=runtime -DoutputDirectory="$D/lib"
  touch "$D/.complete"
fi
echo "$D/lib"
