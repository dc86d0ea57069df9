"""The EvalAI bridge end to end with the stock client: a test EvalAI (replaying the recorded fixtures in
tests/fixtures/evalai, with a real MLflow model package as the submission's input file) is harvested by a
Harvester replica started with --evalai-config; the stock client then finds the run by its EvalAI tag, its
params, metrics and artifacts, and loads the registered version with mlflow.pyfunc.load_model."""
import http.server
import io
import json
import os
import subprocess
import tempfile
import threading
import time
import zipfile
from pathlib import Path

import pytest
import requests

from conftest import _SERVER, ROOT, _free_port

FIXTURES = ROOT / "tests" / "fixtures" / "evalai"
TOKEN = "compat-evalai-token"
SECRET = "compat-webhook-secret"

MODEL_CODE = '''
import mlflow
import pandas as pd


class Doubler(mlflow.pyfunc.PythonModel):
    def predict(self, context, model_input, params=None):
        return model_input * 2


mlflow.models.set_model(Doubler())
'''


def model_package(workdir):
    """A submission as the competition template makes it: one MLflow model (models from code) in a zip."""
    import mlflow
    import pandas as pd

    code = Path(workdir) / "model.py"
    code.write_text(MODEL_CODE)
    model_dir = Path(workdir) / "model"
    mlflow.pyfunc.save_model(path=str(model_dir), python_model=str(code),
                             input_example=pd.DataFrame({"x": [1.0, 2.0]}))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("README.md", "team alpha's submission\n")
        for f in model_dir.rglob("*"):
            if f.is_file():
                z.write(f, f"model/{f.relative_to(model_dir)}")
    return buf.getvalue()


class FakeEvalai(http.server.ThreadingHTTPServer):
    def __init__(self, package):
        super().__init__(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server_address[1]}"
        record = json.loads((FIXTURES / "jobs_submission_1.json").read_text())
        media = "/media/submission_files/challenge_1/phase_1/submission_1"
        self.files = {f"{media}/input.zip": package, f"{media}/stdout.txt": b"evaluated 2 lines\n",
                      f"{media}/stderr.txt": b"", f"{media}/result.json": b"[{'accuracy': 0.91, 'f1': 0.88}]"}
        record.update(input_file=f"{self.url}{media}/input.zip", stdout_file=f"{self.url}{media}/stdout.txt",
                      stderr_file=f"{self.url}{media}/stderr.txt", environment_log_file=None,
                      submission_result_file=f"{self.url}{media}/result.json")
        self.record = record
        challenges = json.loads((FIXTURES / "challenges_host_team_challenges.json").read_text())
        self.routes = {
            "/api/challenges/challenge/1/": next(c for c in challenges["results"] if c["id"] == 1),
            "/api/challenges/challenge/1/challenge_phase": json.loads((FIXTURES / "challenges_phases_host.json").read_text()),
            "/api/challenges/1/challenge_phase_split": json.loads((FIXTURES / "challenges_phase_splits.json").read_text()),
            "/api/jobs/challenge/1/submission/": [record],
            "/api/jobs/submission/1": record,
            "/api/challenges/challenge/1/get_leaderboard_data/": [
                {"id": 1, "challenge_phase_split": 1, "submission": 1, "leaderboard": 1,
                 "result": {"accuracy": 0.91, "f1": 0.88}, "error": None}],
        }


class Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_GET(self):
        srv = self.server
        if self.headers.get("Authorization") != f"Token {TOKEN}":
            return self.reply(401, b'{"detail": "Invalid token"}')
        path = self.path.split("?")[0]
        if path in srv.files:
            return self.reply(200, srv.files[path], "application/octet-stream")
        if path in srv.routes:
            return self.reply(200, json.dumps(srv.routes[path]).encode())
        return self.reply(404, b'{"detail": "Not found."}')

    def reply(self, status, body, ctype="application/json"):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture(scope="module")
def bridge(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("evalai")
    fake = FakeEvalai(model_package(workdir))
    threading.Thread(target=fake.serve_forever, daemon=True).start()
    cfg = workdir / "evalai.toml"
    cfg.write_text(f'[[evalai]]\nname = "onprem"\nurl = "{fake.url}"\ntoken_env = "COMPAT_EVALAI_TOKEN"\n'
                   f'challenges = [1]\npoll_interval_secs = 2\nwebhook_secret_env = "COMPAT_EVALAI_SECRET"\n')
    binary = os.environ.get("HARVESTER_BIN", str(ROOT / "target" / "debug" / "harvester"))
    # A replica of its own: the round's PostgreSQL database when there is one, else a SQLite file.
    store = os.environ.get("HARVESTER_COMPAT_STORE_URI") or f"sqlite:///{workdir}/bridge.db"
    port = _free_port()
    args = [binary, "server", "--backend-store-uri", store, "--port", str(port), "--evalai-config", str(cfg)]
    # Replicas of one database share its artifacts (either replica's workers may take the version's scan job,
    # and must find its files); a database of its own gets artifacts of its own.
    shared = bool(os.environ.get("HARVESTER_COMPAT_STORE_URI"))
    if os.environ.get("HARVESTER_COMPAT_ARTIFACTS"):
        args += ["--artifacts-destination", os.environ["HARVESTER_COMPAT_ARTIFACTS"] + ("" if shared else "-evalai")]
    elif shared and _SERVER.get("artifacts"):
        args += ["--artifacts-destination", _SERVER["artifacts"]]
    log = open(workdir / "server.log", "w")
    proc = subprocess.Popen(args, cwd=workdir, stdout=log, stderr=subprocess.STDOUT,
                            env=dict(os.environ, COMPAT_EVALAI_TOKEN=TOKEN, COMPAT_EVALAI_SECRET=SECRET))
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 120
        while True:
            assert proc.poll() is None, (workdir / "server.log").read_text()
            try:
                subs = requests.get(f"{url}/api/harvester/v1/evalai/submissions", timeout=2).json()["submissions"]
                if any(s["submission_id"] == 1 and s["state"] == "registered" for s in subs):
                    break
            except requests.ConnectionError:
                pass
            assert time.time() < deadline, f"not harvested: {subs if 'subs' in dir() else None}\n" + (workdir / "server.log").read_text()
            time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        fake.shutdown()


def test_stock_client_sees_the_harvest(bridge):
    import mlflow
    import pandas as pd
    from mlflow import MlflowClient

    previous = mlflow.get_tracking_uri()
    mlflow.set_tracking_uri(bridge)
    try:
        client = MlflowClient()
        exp = client.get_experiment_by_name("evalai/bridge-test-challenge-1/dev")
        assert exp.tags["evalai.challenge_id"] == "1"
        runs = client.search_runs([exp.experiment_id], "tags.evalai.submission_id = '1'")
        assert len(runs) == 1
        run = runs[0]
        assert run.info.run_name == "resnet50-finetune"
        assert run.info.status == "FINISHED"
        assert run.data.params == {"learning_rate": "0.0003", "framework": "pytorch"}
        assert run.data.metrics["test_split.accuracy"] == 0.91
        assert run.data.metrics["test_split.f1"] == 0.88
        assert run.data.tags["evalai.participant_team_name"] == "Team Alpha"
        files = {f.path for f in client.list_artifacts(run.info.run_id, "evalai")}
        assert {"evalai/input_file.zip", "evalai/stdout_file.txt", "evalai/submission_result_file.json"} <= files
        local = client.download_artifacts(run.info.run_id, "evalai/stdout_file.txt", tempfile.mkdtemp())
        assert Path(local).read_text() == "evaluated 2 lines\n"
        mv = client.get_model_version("bridge-test-challenge-1", "1")
        assert mv.run_id == run.info.run_id
        # The harvested version is scanned in the background: a models-from-code submission passes.
        for _ in range(100):
            mv = client.get_model_version("bridge-test-challenge-1", "1")
            if mv.tags.get("harvester.scan.status") != "pending":
                break
            time.sleep(0.1)
        assert mv.tags["harvester.scan.status"] == "passed", mv.tags
        assert mv.tags["harvester.scan.high"] == "0"
        assert mv.tags["evalai.submission_id"] == "1"
        model = mlflow.pyfunc.load_model("models:/bridge-test-challenge-1/1")
        out = model.predict(pd.DataFrame({"x": [1.5, 4.0]}))
        assert list(out["x"]) == [3.0, 8.0]
        # Served with no manual step: the harvested version is callable, documented and on the dashboard.
        name = "bridge-test-challenge-1"
        r = requests.post(f"{bridge}/serving/{name}/latest/invocations", timeout=120,
                          json={"dataframe_split": {"columns": ["x"], "data": [[1.5], [4.0]]}})
        assert r.status_code == 200, r.text
        assert r.json() == {"predictions": [{"x": 3.0}, {"x": 8.0}]}
        doc = requests.get(f"{bridge}/serving/{name}/latest/openapi.json", timeout=60).json()
        assert doc["info"]["x-harvester"]["metrics"]["test_split.accuracy"] == 0.91
        page = requests.get(f"{bridge}/serving/", timeout=60).text
        assert name in page and "Team Alpha" in page and "/serving/docs/" in page
    finally:
        mlflow.set_tracking_uri(previous)


def test_evaluation_script_notification(bridge):
    """contrib/evalai/harvester_notify.py, as a host's evaluate() calls it: signed, queued, applied."""
    import sys

    sys.path.insert(0, str(ROOT / "contrib" / "evalai"))
    from harvester_notify import notify, sign

    url = f"{bridge}/api/harvester/v1/evalai/onprem/webhook"
    record = json.loads((FIXTURES / "jobs_submission_1.json").read_text())
    assert not notify(record, [{"test_split": {"recall": 0.5}}], url=url, secret="wrong")
    assert notify(record, [{"test_split": {"recall": 0.75}}], url=url, secret=SECRET)
    body = b'{"submission": {"id": 1}}'
    assert requests.post(url, data=body, headers={"X-Harvester-Timestamp": "1", "X-Harvester-Signature": sign(SECRET, "1", body)}).status_code == 401
    deadline = time.time() + 30
    while True:
        run = requests.post(f"{bridge}/api/2.0/mlflow/runs/search", json={
            "experiment_ids": [requests.get(f"{bridge}/api/2.0/mlflow/experiments/get-by-name",
                                            params={"experiment_name": "evalai/bridge-test-challenge-1/dev"}).json()["experiment"]["experiment_id"]],
            "filter": "tags.evalai.submission_id = '1'"}).json()["runs"][0]
        metrics = {m["key"]: m["value"] for m in run["data"]["metrics"]}
        if metrics.get("test_split.recall") == 0.75:
            break
        assert time.time() < deadline, metrics
        time.sleep(0.2)
