# Build and run Harvester. No system -dev packages are needed: SQLite and libpq are built from bundled sources.
FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked --bin harvester

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates curl && rm -rf /var/lib/apt/lists/*
COPY --from=build /src/target/release/harvester /usr/local/bin/harvester
WORKDIR /data
EXPOSE 5000
HEALTHCHECK --interval=10s --timeout=3s CMD curl -fsS http://127.0.0.1:5000/health || exit 1
ENTRYPOINT ["harvester", "server", "--host", "0.0.0.0"]
