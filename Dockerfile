# Build and run Harvester. No system -dev packages are needed: SQLite and libpq are built from bundled sources.
FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked --bin harvester

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates curl python3 python3-venv \
    && rm -rf /var/lib/apt/lists/*
# The Python that serving workers run (pyfunc models; `--serving-env-manager local`), which also carries
# the MLflow UI that the server serves at `/`. Pinned as the compat tests pin it.
RUN python3 -m venv /opt/mlflow && /opt/mlflow/bin/pip install --no-cache-dir mlflow==3.17.2 scikit-learn==1.9.1
# Workers run as a user of their own: they cannot read the server's files, environment or memory.
RUN useradd --system --no-create-home --shell /usr/sbin/nologin harvester-worker
ENV VIRTUAL_ENV=/opt/mlflow HARVESTER_SERVING_PYTHON=/opt/mlflow/bin/python \
    HARVESTER_SERVING_USER=harvester-worker HARVESTER_SERVING_DIR=/data/serving
COPY --from=build /src/target/release/harvester /usr/local/bin/harvester
WORKDIR /data
EXPOSE 5000
HEALTHCHECK --interval=10s --timeout=3s CMD curl -fsS http://127.0.0.1:5000/health || exit 1
ENTRYPOINT ["harvester", "server", "--host", "0.0.0.0"]
