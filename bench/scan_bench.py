"""W9: scan throughput, `harvester scan` side by side with `bandit -r` + `picklescan` on the same files.

N submissions are made from the template (`harvester template init` + `make_submission.py`, once, then
copied); one in ten is made malicious (an `os.system` line in `model.py` and a pickled `__reduce__` to
`os.system` beside it). Two ways of running, each timed for both tools:
  - per submission, as an evaluation worker runs them: one process per submission zip (Harvester) or
    per unpacked submission folder (bandit, then picklescan);
  - whole tree: one process over all the unpacked submissions (the median of five runs).
Answers are compared: the set of submissions each side flags must be the same (and the malicious ones).

    python bench/scan_bench.py --harvester target/release/harvester --n 200 --out bench/results/scan.json
"""

import argparse
import json
import os
import pickle
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

BIN = Path(sys.executable).parent


class Reduce:
    def __reduce__(self):
        return (os.system, ("id",))


def make(base: Path, harvester: str, n: int) -> list:
    kit = base / "kit"
    subprocess.run([harvester, "template", "init", str(kit)], check=True, capture_output=True)
    subprocess.run([sys.executable, "make_submission.py"], cwd=kit, check=True, capture_output=True)
    clean = kit / "submission.zip"
    evil = base / "evil.zip"
    with zipfile.ZipFile(clean) as src, zipfile.ZipFile(evil, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            data = src.read(item)
            if item.filename == "model.py":
                data = data.replace(b"        w = self.weights\n", b"        w = self.weights\n        __import__('os').system('id')\n", 1)
            dst.writestr(item, data)
        dst.writestr("artifacts/state.pkl", pickle.dumps(Reduce()))
    subs = []
    for i in range(n):
        bad = i % 10 == 3
        z = base / "zips" / f"s{i:03}.zip"
        z.parent.mkdir(exist_ok=True)
        shutil.copy(evil if bad else clean, z)
        d = base / "tree" / f"s{i:03}"
        d.mkdir(parents=True)
        with zipfile.ZipFile(z) as zf:
            zf.extractall(d)
        subs.append((f"s{i:03}", z, d, bad))
    return subs


def timed(cmd):
    t = time.perf_counter()
    r = subprocess.run(cmd, capture_output=True, text=True)
    return time.perf_counter() - t, r


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--harvester", required=True)
    ap.add_argument("--n", type=int, default=200)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    base = Path(tempfile.mkdtemp(prefix="scan-bench-"))
    try:
        subs = make(base, a.harvester, a.n)
        bad = {s for s, _, _, b in subs if b}
        # Per submission.
        h_secs, h_flag = 0.0, set()
        for name, z, _, _ in subs:
            s, r = timed([a.harvester, "scan", str(z)])
            h_secs += s
            if r.returncode == 1:
                h_flag.add(name)
            elif r.returncode != 0:
                raise SystemExit(f"harvester scan {z}: {r.stderr}")
        o_secs, o_flag = 0.0, set()
        for name, _, d, _ in subs:
            s1, b = timed([str(BIN / "bandit"), "-r", "-q", "-f", "json", str(d)])
            s2, p = timed([str(BIN / "picklescan"), "-p", str(d)])
            o_secs += s1 + s2
            if json.loads(b.stdout or "{}").get("results") or p.returncode == 1:
                o_flag.add(name)
        # Whole tree, one process each.
        tree = base / "tree"
        def median(cmd, reps=5):
            runs = sorted((timed(cmd) for _ in range(reps)), key=lambda x: x[0])
            return runs[len(runs) // 2]

        ht, hr = median([a.harvester, "scan", "--format", "json", str(tree)])
        bt, br = median([str(BIN / "bandit"), "-r", "-q", "-f", "json", str(tree)])
        pt, pr = median([str(BIN / "picklescan"), "-p", str(tree)])
        h_tree = {f["file"].split("/")[0] for f in json.loads(hr.stdout)["findings"] if f["severity"] == "high"}
        o_tree = {Path(r["filename"]).relative_to(tree).parts[0] for r in json.loads(br.stdout)["results"] if r["issue_severity"] == "HIGH"}
        o_tree |= {Path(line.split(":")[0]).relative_to(tree).parts[0] for line in pr.stdout.splitlines() if "dangerous import" in line.lower()}
        same = h_flag == o_flag == bad and h_tree == o_tree == bad
        n = len(subs)
        result = {
            "id": "W9",
            "label": f"scan {n} template submissions ({len(bad)} malicious)",
            "per_submission": {"harvester_subs_per_s": n / h_secs, "bandit_picklescan_subs_per_s": n / o_secs, "speedup": o_secs / h_secs},
            "whole_tree": {"harvester_s": ht, "bandit_picklescan_s": bt + pt, "speedup": (bt + pt) / ht},
            "answers_match": same,
            "flagged": sorted(h_flag),
        }
        Path(a.out).parent.mkdir(parents=True, exist_ok=True)
        Path(a.out).write_text(json.dumps(result, indent=2) + "\n")
        ps, wt = result["per_submission"], result["whole_tree"]
        print(f"| W9 | {result['label']} | per submission: Harvester {ps['harvester_subs_per_s']:.1f}/s, "
              f"bandit+picklescan {ps['bandit_picklescan_subs_per_s']:.2f}/s, {ps['speedup']:.0f}× | whole tree: "
              f"{wt['harvester_s'] * 1e3:.0f} ms vs {wt['bandit_picklescan_s'] * 1e3:.0f} ms, {wt['speedup']:.0f}× | "
              f"answers {'match' if same else 'DIFFER'} | target ≥ 20× |")
        if not same:
            print(f"flagged: harvester {sorted(h_flag)} / {sorted(h_tree)}; bandit+picklescan {sorted(o_flag)} / {sorted(o_tree)}; malicious {sorted(bad)}")
            raise SystemExit(1)
    finally:
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
