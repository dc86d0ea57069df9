"""W10, serving: predictions/s and p99 latency of one model served by Harvester and by `mlflow models serve`
(--env-manager local), side by side on this machine, with wrk at 1, 8 and 32 connections, 1-row and 100-row
requests. Models: a 3-column LogisticRegression (pyfunc: Harvester's worker, with micro-batching) and the
same kind of model as ONNX (Harvester in-process on tract; stock through onnxruntime). Answers compared
before timing. Also reported: a worker's cold start and resident memory.

  python bench/serving_bench.py --harvester target/release/harvester [--seconds 10] [--out FILE]
"""
import argparse
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time

import requests


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def wait(url, proc, what, timeout=180):
    deadline = time.time() + timeout
    while time.time() < deadline:
        assert proc.poll() is None, f"{what} exited"
        try:
            if requests.get(url, timeout=2).status_code == 200:
                return
        except requests.ConnectionError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{what} did not start")


def log_models(url):
    import mlflow
    import numpy as np
    import pandas as pd
    import sklearn
    from mlflow.models import infer_signature
    from onnx import TensorProto, helper
    from sklearn.linear_model import LogisticRegression

    mlflow.set_tracking_uri(url)
    rng = np.random.default_rng(7)
    X = pd.DataFrame(rng.normal(size=(200, 3)), columns=["a", "b", "c"])
    y = (X["a"] + X["b"] > 0).astype(int)
    lr = LogisticRegression().fit(X, y)
    pins = [f"mlflow=={mlflow.__version__}", f"scikit-learn=={sklearn.__version__}"]
    with mlflow.start_run():
        mlflow.sklearn.log_model(lr, name="model", signature=infer_signature(X, lr.predict(X)), input_example=X.head(2),
                                 registered_model_name="bench-lr", pip_requirements=pins)
    w = helper.make_tensor("w", TensorProto.FLOAT, [3, 1], [float(v) for v in lr.coef_[0]])
    b = helper.make_tensor("b", TensorProto.FLOAT, [1], [float(lr.intercept_[0])])
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["features", "w"], ["mm"]), helper.make_node("Add", ["mm", "b"], ["score"])],
        "lr", [helper.make_tensor_value_info("features", TensorProto.FLOAT, ["N", 3])],
        [helper.make_tensor_value_info("score", TensorProto.FLOAT, ["N", 1])], [w, b])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    with mlflow.start_run():
        mlflow.onnx.log_model(model, name="model", input_example=X.head(2), registered_model_name="bench-onnx",
                              signature=infer_signature(X, pd.DataFrame({"score": [0.0]})),
                              pip_requirements=[f"mlflow=={mlflow.__version__}"])
    client = mlflow.MlflowClient()
    for name in ("bench-lr", "bench-onnx"):
        for _ in range(600):
            if client.get_model_version(name, "1").tags.get("harvester.scan.status") not in (None, "pending"):
                break
            time.sleep(0.1)
        assert client.get_model_version(name, "1").tags["harvester.scan.status"] == "passed", name
    return X


def wrk(url, body, conns, seconds, workdir):
    script = os.path.join(workdir, "post.lua")
    with open(script, "w") as f:
        f.write('wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\n'
                f"wrk.body = {json.dumps(body)}\n")
    out = subprocess.run(["wrk", "-t", str(min(conns, 2)), "-c", str(conns), "-d", f"{seconds}s", "--latency",
                          "-s", script, url], capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)", out)
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}[p99.group(2)]
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    assert errors is None, out
    return rps, float(p99.group(1)) * scale


def start_mlserver(binary, hurl, work, procs):
    """MLServer on a local copy of bench-lr v1 (mlserver-mlflow's runtime); its V2 infer URL."""
    import mlflow

    folder = os.path.join(work, "mlserver", "lr")
    os.makedirs(folder)
    mlflow.set_tracking_uri(hurl)
    mlflow.artifacts.download_artifacts("models:/bench-lr/1", dst_path=os.path.join(folder, "model"))
    with open(os.path.join(folder, "model-settings.json"), "w") as f:
        json.dump({"name": "lr", "implementation": "mlserver_mlflow.MLflowRuntime", "parameters": {"uri": "./model"}}, f)
    port = free_port()
    with open(os.path.join(work, "mlserver", "settings.json"), "w") as f:
        json.dump({"http_port": port, "grpc_port": free_port(), "metrics_port": free_port()}, f)
    p = subprocess.Popen([binary, "start", os.path.join(work, "mlserver")], stdout=open(f"{work}/mlserver.log", "w"),
                         stderr=subprocess.STDOUT, start_new_session=True)
    procs.append(p)
    wait(f"http://127.0.0.1:{port}/v2/models/lr/ready", p, "mlserver")
    return f"http://127.0.0.1:{port}/v2/models/lr/infer"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--harvester", required=True)
    ap.add_argument("--seconds", type=int, default=10)
    ap.add_argument("--clients", default="1,8,32")
    ap.add_argument("--rows", default="1,100")
    ap.add_argument("--out", default="bench/results/serving.json")
    ap.add_argument("--mlserver", help="an `mlserver` executable (MLServer 1.7.1 + mlserver-mlflow, uvloop<0.22) "
                                       "to serve the pyfunc model beside the others, over the V2 protocol")
    a = ap.parse_args()
    work = tempfile.mkdtemp(prefix="serving-bench-")
    port = free_port()
    h = subprocess.Popen([a.harvester, "server", "--port", str(port), "--backend-store-uri", f"sqlite:///{work}/b.db",
                          "--artifacts-destination", f"{work}/art", "--serving-dir", f"{work}/serving",
                          "--serving-python", sys.executable], stdout=open(f"{work}/h.log", "w"), stderr=subprocess.STDOUT)
    hurl = f"http://127.0.0.1:{port}"
    stocks = []
    try:
        wait(hurl + "/health", h, "harvester")
        X = log_models(hurl)
        t0 = time.time()
        requests.get(f"{hurl}/serving/bench-lr/1/ping", timeout=300).raise_for_status()
        cold = time.time() - t0
        worker = requests.get(f"{hurl}/serving/workers.json", timeout=10).json()["workers"][0]
        env = dict(os.environ, MLFLOW_TRACKING_URI=hurl, PATH=os.path.dirname(sys.executable) + os.pathsep + os.environ["PATH"])
        targets = {}
        for name in ("bench-lr", "bench-onnx"):
            sp = free_port()
            p = subprocess.Popen([sys.executable, "-m", "mlflow", "models", "serve", "-m", f"models:/{name}/1",
                                  "--env-manager", "local", "-h", "127.0.0.1", "-p", str(sp)], env=env,
                                 stdout=open(f"{work}/{name}.log", "w"), stderr=subprocess.STDOUT, start_new_session=True)
            stocks.append(p)
            wait(f"http://127.0.0.1:{sp}/ping", p, f"mlflow models serve {name}")
            targets[name] = {"mlflow models serve": f"http://127.0.0.1:{sp}/invocations",
                             "harvester": f"{hurl}/serving/{name}/1/invocations"}
        if a.mlserver:
            targets["bench-lr"]["mlserver"] = start_mlserver(a.mlserver, hurl, work, stocks)
        results = {"cold_start_s": round(cold, 2), "worker_rss_mib": round((worker["rss_kib"] or 0) / 1024, 1),
                   "seconds": a.seconds, "rows": {}}
        for rows in [int(r) for r in a.rows.split(",")]:
            body = json.dumps({"dataframe_split": {"columns": ["a", "b", "c"],
                                                   "data": X.head(rows).round(6).values.tolist()}})
            v2 = json.dumps({"parameters": {"content_type": "pd"}, "inputs": [
                {"name": col, "shape": [rows], "datatype": "FP64", "data": X.head(rows).round(6)[col].tolist()}
                for col in ["a", "b", "c"]]})
            for name, urls in targets.items():
                answers = {k: requests.post(u, data=v2 if k == "mlserver" else body,
                                            headers={"Content-Type": "application/json"}, timeout=60).json()
                           for k, u in urls.items()}
                a_h, a_s = answers["harvester"]["predictions"], answers["mlflow models serve"]["predictions"]
                assert len(a_h) == len(a_s) == rows, answers
                if name == "bench-lr":
                    assert a_h == a_s, answers
                    if "mlserver" in answers:
                        assert answers["mlserver"]["outputs"][0]["data"] == a_h, answers
                for who, u in urls.items():
                    for c in [int(c) for c in a.clients.split(",")]:
                        rps, p99 = wrk(u, v2 if who == "mlserver" else body, c, a.seconds, work)
                        results["rows"].setdefault(str(rows), {}).setdefault(name, {}).setdefault(who, {})[str(c)] = {
                            "requests_per_s": round(rps, 1), "predictions_per_s": round(rps * rows, 1),
                            "p99_ms": round(p99, 2)}
                        print(f"{rows:>3} rows {name:<10} {who:<20} {c:>2} clients: {rps:9.1f} req/s  p99 {p99:8.2f} ms",
                              flush=True)
        os.makedirs(os.path.dirname(a.out), exist_ok=True)
        with open(a.out, "w") as f:
            json.dump(results, f, indent=2)
        print(json.dumps({k: v for k, v in results.items() if k != "rows"}))
    finally:
        for p in stocks:
            os.killpg(p.pid, 15)
        h.terminate()
        h.wait(timeout=20)


if __name__ == "__main__":
    main()
