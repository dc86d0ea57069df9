"""One database shared with the real stock `mlflow server` 3.17.2, both ways, on SQLite and PostgreSQL.

Each side writes runs (params, metric history with NaN, tags, a dataset input, an artifact), a logged model
(params, tags, metrics, the run's output), the registry (model, version, tags, alias, stage) and a webhook
with a secret; then the other side must serve exactly the same data, and write on top of it.
"""

import base64
import hashlib
import hmac
import json
import math
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
import requests

from conftest import ROOT

pytestmark = pytest.mark.skipif(
    bool(os.environ.get("HARVESTER_COMPAT_URL") or os.environ.get("HARVESTER_COMPAT_STORE_URI")
         or os.environ.get("HARVESTER_COMPAT_ARTIFACTS")),
    reason="starts its own servers; runs once, in the sqlite/local round",
)

# One Fernet key for both servers: MLflow stores webhook secrets as Fernet tokens under it.
FERNET_KEY = base64.urlsafe_b64encode(b"harvester-compat-shared-key-0123").decode()
SECRET = "s3cret-shared"


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class _Server:
    """A server process on the shared database, healthy on enter, stopped on exit."""

    def __init__(self, kind, store, artifacts, workdir):
        self.kind, self.port = kind, _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = dict(os.environ, MLFLOW_WEBHOOK_SECRET_ENCRYPTION_KEY=FERNET_KEY,
                   MLFLOW_WEBHOOK_ALLOWED_SCHEMES="http,https", MLFLOW_WEBHOOK_ALLOW_PRIVATE_IPS="true")
        common = ["--backend-store-uri", store, "--artifacts-destination", str(artifacts),
                  "--host", "127.0.0.1", "--port", str(self.port)]
        if kind == "stock":
            args = [sys.executable, "-m", "mlflow", "server", *common, "--workers", "1"]
        else:
            args = [os.environ.get("HARVESTER_BIN", str(ROOT / "target" / "debug" / "harvester")), "server", *common]
        self.log = open(os.path.join(workdir, f"{kind}-{self.port}.log"), "w")
        self.proc = subprocess.Popen(args, env=env, cwd=workdir, stdout=self.log, stderr=subprocess.STDOUT)

    def __enter__(self):
        for _ in range(1200):
            try:
                if requests.get(self.url + "/health", timeout=1).status_code == 200:
                    return self
            except requests.RequestException:  # refused, or accepted but not answering yet
                pass
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        self.proc.kill()
        raise RuntimeError(f"{self.kind} server did not start; see {self.log.name}:\n" + open(self.log.name).read()[-3000:])

    def __exit__(self, *exc):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()

    def client(self):
        from mlflow import MlflowClient

        return MlflowClient(tracking_uri=self.url, registry_uri=self.url)


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request, tmp_path):
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/shared.db"
        return
    admin = os.environ.get("HARVESTER_TEST_PG_URL")
    if not admin:
        assert not os.environ.get("CI"), "CI must set HARVESTER_TEST_PG_URL"
        pytest.skip("HARVESTER_TEST_PG_URL is not set")
    import psycopg

    name = f"hv_shared_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(admin, autocommit=True) as c:
        c.execute(f"CREATE DATABASE {name}")
    yield admin.rsplit("/", 1)[0] + "/" + name
    with psycopg.connect(admin, autocommit=True) as c:
        c.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture
def servers(store, tmp_path):
    def make(kind):
        return _Server(kind, store, tmp_path / "artifacts", str(tmp_path))

    return make


def populate(c, who, hook_url):
    """Write one of everything through the stock client; returns the webhook id."""
    from mlflow.entities import Dataset, DatasetInput, InputTag, LoggedModelOutput

    exp = c.create_experiment(f"exp-{who}", tags={"made_by": who})
    run = c.create_run(exp, run_name=f"run-{who}", tags={"note": "x" * 300})
    rid = run.info.run_id
    c.log_param(rid, "alpha", "0.5")
    for step, v in enumerate([1.5, float("nan"), 0.25]):
        c.log_metric(rid, "loss", v, step=step, timestamp=1000 + step)
    c.set_tag(rid, "mlflow.note.content", f"written by {who}")
    ds = Dataset(name="train", digest="d1", source_type="local", source='{"uri": "/data"}')
    c.log_inputs(rid, [DatasetInput(ds, [InputTag("mlflow.data.context", "training")])])
    c.log_text(rid, f"hello from {who}", "notes/hello.txt")
    lm = c.create_logged_model(exp, name=f"lm-{who}", source_run_id=rid, params={"depth": "3"}, tags={"t": who})
    c.log_metric(rid, "acc", 0.9, step=1, timestamp=2000, model_id=lm.model_id)
    c.finalize_logged_model(lm.model_id, "READY")
    c.log_outputs(rid, [LoggedModelOutput(lm.model_id, 1)])
    c.set_terminated(rid)
    name = f"model-{who}"
    c.create_registered_model(name, tags={"team": who}, description=f"by {who}")
    mv = c.create_model_version(name, f"runs:/{rid}/model", run_id=rid, tags={"v": "1"}, description="first")
    c.set_registered_model_alias(name, "champion", mv.version)
    c.set_model_version_tag(name, mv.version, "checked", "yes")
    c.transition_model_version_stage(name, mv.version, "Staging")
    hook = c.create_webhook(f"hook-{who}", hook_url, events=["model_version.created"], secret=SECRET)
    return hook.webhook_id


def _v(x):
    return "NaN" if isinstance(x, float) and math.isnan(x) else x


def snapshot(c):
    """Everything a user reads back, in a stable order."""
    from mlflow.entities import ViewType

    out = {}
    exps = sorted(c.search_experiments(view_type=ViewType.ALL), key=lambda e: e.experiment_id)
    out["experiments"] = [(e.experiment_id, e.name, e.artifact_location, e.lifecycle_stage, e.creation_time,
                           sorted(e.tags.items())) for e in exps]
    ids = [e.experiment_id for e in exps]
    runs = sorted(c.search_runs(ids, run_view_type=ViewType.ALL), key=lambda r: r.info.run_id)
    out["runs"] = []
    for r in runs:
        rid = r.info.run_id
        out["runs"].append({
            "info": (rid, r.info.experiment_id, r.info.run_name, r.info.status, r.info.start_time, r.info.end_time,
                     r.info.artifact_uri, r.info.lifecycle_stage, r.info.user_id),
            "params": sorted(r.data.params.items()),
            "metrics": sorted((k, _v(v)) for k, v in r.data.metrics.items()),
            "tags": sorted(r.data.tags.items()),
            "history": {k: [(m.timestamp, m.step, _v(m.value)) for m in c.get_metric_history(rid, k)]
                        for k in sorted(r.data.metrics)},
            "datasets": sorted((d.dataset.name, d.dataset.digest, d.dataset.source_type, d.dataset.source,
                                sorted((t.key, t.value) for t in d.tags)) for d in r.inputs.dataset_inputs),
            "outputs": sorted((o.model_id, o.step) for o in (r.outputs.model_outputs if r.outputs else [])),
            "artifacts": sorted((f.path, f.is_dir) for f in c.list_artifacts(rid, "notes")),
            "text": open(c.download_artifacts(rid, "notes/hello.txt", tempfile.mkdtemp())).read(),
        })
    models = sorted(c.search_logged_models(ids), key=lambda m: m.model_id)
    out["logged_models"] = [(m.model_id, m.experiment_id, m.name, str(m.status), m.source_run_id, m.artifact_location,
                             sorted(m.params.items()), sorted(m.tags.items()),
                             sorted((x.key, _v(x.value), x.step, x.run_id) for x in m.metrics or []))
                            for m in models]
    regs = sorted(c.search_registered_models(), key=lambda m: m.name)
    out["registered_models"] = [(m.name, m.description, sorted(m.tags.items()), sorted(m.aliases.items()),
                                 sorted((v.version, v.current_stage) for v in m.latest_versions or []))
                                for m in regs]
    versions = sorted(c.search_model_versions(""), key=lambda v: (v.name, int(v.version)))
    # Harvester scans every version it finds (stock's ones too) and tags the result as harvester.scan.*;
    # those tags are Harvester's own addition, so the comparison leaves them out.
    out["versions"] = [(v.name, v.version, v.source, v.run_id, v.current_stage, v.status, v.description,
                        sorted((k, x) for k, x in v.tags.items() if not k.startswith("harvester.scan.")),
                        sorted(c.get_model_version(v.name, v.version).aliases))
                       for v in versions]
    out["webhooks"] = sorted((w.name, w.url, str(w.status), sorted(str(e) for e in w.events))
                             for w in c.list_webhooks())
    return out


class _Receiver:
    """A webhook receiver on 127.0.0.1 that records the deliveries it gets."""

    def __init__(self):
        got = self.got = []

        class H(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"])).decode()
                got.append((dict(self.headers), body))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *a):
                pass

        self.http = HTTPServer(("127.0.0.1", 0), H)
        self.url = f"http://127.0.0.1:{self.http.server_port}/hook"
        threading.Thread(target=self.http.serve_forever, daemon=True).start()


def assert_signed_with_secret(c, webhook_id, receiver):
    """A test delivery is signed with the secret the other server stored: it survived the shared database."""
    receiver.got.clear()
    result = c.test_webhook(webhook_id)
    assert result.success, result
    headers, body = receiver.got[-1]
    h = {k.lower(): v for k, v in headers.items()}
    msg = f"{h['x-mlflow-delivery-id']}.{h['x-mlflow-timestamp']}.{body}".encode()
    want = "v1," + base64.b64encode(hmac.new(SECRET.encode(), msg, hashlib.sha256).digest()).decode()
    assert h["x-mlflow-signature"] == want


def _diff(a, b):
    return json.dumps({k: (a[k], b.get(k)) for k in a if a[k] != b.get(k)}, indent=1, default=str)[:6000]


def round_trip(servers, first, second):
    """`first` makes the database and writes; `second` serves exactly that, signs with the stored secret and
    writes on top; `first` again serves everything both wrote and signs with `second`'s secret."""
    receiver = _Receiver()
    with servers(first) as a:
        first_hook = populate(a.client(), first, receiver.url)
        written = snapshot(a.client())
    with servers(second) as b:
        seen = snapshot(b.client())
        assert seen == written, _diff(written, seen)
        assert_signed_with_secret(b.client(), first_hook, receiver)
        second_hook = populate(b.client(), second, receiver.url)
        both = snapshot(b.client())
    with servers(first) as a:
        seen = snapshot(a.client())
        assert seen == both, _diff(both, seen)
        assert_signed_with_secret(a.client(), second_hook, receiver)


def test_harvester_serves_a_stock_database_and_stock_reads_back(servers):
    round_trip(servers, "stock", "harvester")


def test_stock_serves_a_database_harvester_created(servers):
    round_trip(servers, "harvester", "stock")
