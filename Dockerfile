# syntax=docker/dockerfile:1
# Build: docker build -t pulse .
# Run:   docker run -p 8080:8080 -e PULSE_DATABASE_URL=postgres://user:pass@db:5432/pulse pulse
# With PostgreSQL: docker compose up (docker-compose.yaml); Kubernetes: deploy/kubernetes/.
FROM maven:3.9-eclipse-temurin-17 AS build
WORKDIR /src
COPY pom.xml ./
COPY migrations migrations
COPY executors executors
COPY workers workers
COPY server server
RUN mvn -B -q -DskipTests package

FROM eclipse-temurin:17-jre
# python3 runs the example agent; curl is the health check's probe (newer base images drop it).
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 curl \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 pulse \
 && useradd --system --uid 10001 --gid 10001 --home-dir /var/lib/pulse --create-home pulse
WORKDIR /opt/pulse
COPY --from=build /src/server/target/pulse.jar /opt/pulse/pulse.jar
COPY config /opt/pulse/config
ENV PULSE_DATA_DIR=/var/lib/pulse \
    PULSE_AGENTS_DIR=/opt/pulse/config/agents
# Numeric, so that Kubernetes' runAsNonRoot can verify it.
USER 10001:10001
EXPOSE 8080
VOLUME /var/lib/pulse
# Liveness, not readiness: a node rides out a database outage by itself (see README), so an
# outage should not get it restarted. Starting includes migrations, hence the start period.
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 \
  CMD curl -fsS -o /dev/null "http://127.0.0.1:${PULSE_HTTP_PORT:-8080}/health/live" || exit 1
# C1 only, as the ./pulse launcher: see its comment and docs/benchmarks.md.
ENTRYPOINT ["java", "-XX:MaxRAMPercentage=75", "-XX:TieredStopAtLevel=1", "-jar", "/opt/pulse/pulse.jar"]
CMD ["serve"]
