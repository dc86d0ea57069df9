//! The engine's own tests: every Python rule with a near miss that must not fire, hand-written pickles of
//! each protocol, archives that escape or explode, and the validator on a template-shaped package.

use std::io::Write;

use super::{scan_path, Options, Report, Scan, Severity, Verdict};

fn opts() -> Options {
    Options {
        advisories: std::sync::Arc::new(super::Advisories::snapshot()),
        ..Default::default()
    }
}

fn one(path: &str, data: &[u8]) -> Vec<(String, Option<u32>)> {
    let o = opts();
    let mut s = Scan::new(&o);
    s.file(path, data, 0);
    s.finish(false)
        .findings
        .into_iter()
        .map(|f| (f.rule, f.line))
        .collect()
}

fn rules(code: &str) -> Vec<String> {
    one("m.py", code.as_bytes())
        .into_iter()
        .map(|(r, _)| r)
        .collect()
}

#[test]
fn python_rules_and_near_misses() {
    let cases: &[(&str, &[&str])] = &[
        ("eval(x)", &["B307"]),
        ("exec(code)", &["B102"]),
        ("compile(src, 'f', 'exec')", &["HV-PY-DYNAMIC"]),
        ("m = __import__(name)", &["HV-PY-DYNAMIC"]),
        (
            "import importlib\nimportlib.import_module(n)",
            &["HV-PY-DYNAMIC"],
        ),
        (
            "import builtins\ngetattr(builtins, n)('1')",
            &["HV-PY-DYNAMIC"],
        ),
        ("import os\nos.system('id')", &["B605"]),
        ("from os import popen\npopen('id')", &["B605"]),
        ("import os as o\no.execv('/bin/sh', [])", &["B606"]),
        (
            "import subprocess\nsubprocess.run('x', shell=True)",
            &["B404", "B602"],
        ),
        (
            "from subprocess import Popen\nPopen(['ls'])",
            &["B404", "B603"],
        ),
        ("import pty\npty.spawn('/bin/sh')", &["HV-PY-PROCESS"]),
        ("import socket\nsocket.socket()", &["HV-PY-NETWORK"]),
        (
            "import urllib.request\nurllib.request.urlopen(u)",
            &["B310"],
        ),
        (
            "import requests\nrequests.post(u, data=d)",
            &["HV-PY-NETWORK"],
        ),
        (
            "import http.client\nhttp.client.HTTPSConnection(h)",
            &["HV-PY-NETWORK"],
        ),
        ("import ftplib\nftplib.FTP(h)", &["B402", "B321"]),
        ("import smtplib\nsmtplib.SMTP(h)", &["HV-PY-NETWORK"]),
        ("import pickle\npickle.load(f)", &["B403", "B301"]),
        ("import marshal\nmarshal.loads(b)", &["B302"]),
        ("import yaml\nyaml.load(s)", &["B506"]),
        ("import torch\ntorch.load(p)", &["B614"]),
        (
            "import os\nk = os.environ['AWS_SECRET_ACCESS_KEY']",
            &["HV-PY-ENV"],
        ),
        ("import os\nos.getenv('TOKEN')", &["HV-PY-ENV"]),
        (
            "import ctypes\nctypes.CDLL(None)",
            &["HV-PY-NATIVE", "HV-PY-NATIVE"],
        ),
        ("open('/etc/passwd', 'a')", &["HV-PY-WRITE"]),
        (
            "import base64\nexec(base64.b64decode(b))",
            &["B102", "HV-PY-OBFUSCATED"],
        ),
        (
            "import zlib\np = zlib.decompress(b)\neval(p)",
            &["B307", "HV-PY-OBFUSCATED"],
        ),
        ("import os\nlist(map(os.system, cmds))", &["B605"]),
        ("__import__('os').system('id')", &["B605"]),
        ("import sys\nsys.modules['os'].system('id')", &["B605"]),
    ];
    for (code, want) in cases {
        let mut got = rules(code);
        got.sort();
        let mut want: Vec<String> = want.iter().map(|s| s.to_string()).collect();
        want.sort();
        assert_eq!(got, want, "rules for {code:?}");
    }
    let near_misses = [
        "import torch\nmodel = torch.nn.Linear(1, 1)\nmodel.eval()",
        "import pandas as pd\ndf = pd.DataFrame()\ndf.eval('a + b')",
        "exec_time = 3\neval_set = [1]\nprint(exec_time, eval_set)",
        "def eval(x):\n    return x\neval(1)",
        "import yaml\nyaml.load(s, Loader=yaml.SafeLoader)\nyaml.safe_load(s)",
        "import torch\ntorch.load(p, weights_only=True)",
        "import subprocess_tools\nsubprocess_tools.run('x')",
        "__import__('json').dumps({})",
        "import importlib\nimportlib.import_module('numpy')",
        "open('out/predictions.csv', 'w')\nopen('/etc/hosts')",
        "import base64\nb = base64.b64decode(s)\nprint(b)",
        "import os\np = os.path.join(a, b)",
        "import numpy as np\nnp.load('w.npy')",
        "from urllib.parse import urlencode\nurlencode({})",
    ];
    for code in near_misses {
        assert!(
            rules(code).is_empty(),
            "{code:?} must not be flagged: {:?}",
            rules(code)
        );
    }
    // Lines are the call's.
    assert_eq!(
        one("a.py", b"x = 1\n\nimport os\nos.system('id')\n")[0],
        ("B605".into(), Some(4))
    );
    // Broken syntax is reported and what parsed is still checked.
    let broken = rules("import os\nos.system('id')\ndef (:\n");
    assert!(
        broken.contains(&"HV-PY-SYNTAX".into()) && broken.contains(&"B605".into()),
        "{broken:?}"
    );
}

#[test]
fn deep_nesting_does_not_crash() {
    let dir = tempfile::tempdir().unwrap();
    let code = format!("x = {}1{}\n", "(".repeat(50_000), ")".repeat(50_000));
    std::fs::write(dir.path().join("deep.py"), code).unwrap();
    let r = super::scan_path_isolated(dir.path(), &opts()).unwrap();
    assert_eq!(r.files_scanned, 1);
}

/// `__reduce__` to `os.system`, as pickle writes it at protocol 0 and at protocol 4.
const EVIL_P0: &[u8] = b"cposix\nsystem\n(S'id'\ntR.";
const EVIL_P4: &[u8] = b"\x80\x04\x95\x1e\x00\x00\x00\x00\x00\x00\x00\x8c\x05posix\x94\x8c\x06system\x94\x93\x94\x8c\x02id\x94\x85\x94R\x94.";

#[test]
fn pickles() {
    assert_eq!(
        one("m.pkl", EVIL_P0),
        vec![("HV-PKL-DANGEROUS".into(), None)]
    );
    assert_eq!(
        one("m.pkl", EVIL_P4),
        vec![("HV-PKL-DANGEROUS".into(), None)]
    );
    // The same names fetched back through the memo (BINGET), as a pickler that memoises writes them.
    let memo = b"\x80\x04\x8c\x08builtins\x94\x8c\x04exec\x94h\x00h\x01\x93\x94.";
    assert_eq!(one("m.pkl", memo), vec![("HV-PKL-DANGEROUS".into(), None)]);
    let safe = b"\x80\x04\x95\x10\x00\x00\x00\x00\x00\x00\x00}\x94\x8c\x01a\x94K\x01s.";
    assert!(one("m.pkl", safe).is_empty());
    let sklearn = b"\x80\x04\x8c\x1fsklearn.linear_model._base\x94\x8c\x10LinearRegression\x94\x93\x94)\x81\x94.";
    assert!(one("model.pkl", sklearn).is_empty());
    let unknown = b"\x80\x04\x8c\x08mymodule\x94\x8c\x05Thing\x94\x93\x94)\x81\x94.";
    assert_eq!(
        one("model.pkl", unknown),
        vec![("HV-PKL-UNKNOWN".into(), None)]
    );
    let cloud = b"\x80\x05\x8c\x17cloudpickle.cloudpickle\x94\x8c\x0e_make_function\x94\x93\x94.";
    assert_eq!(
        one("python_model.pkl", cloud),
        vec![("HV-PKL-OPAQUE".into(), None)]
    );
    // Raw bytes after a first pickle (joblib's arrays) hide nothing: the import shapes are searched.
    let mut joblib = safe.to_vec();
    joblib.extend_from_slice(b"\x00\xff\x13garbage");
    joblib.extend_from_slice(EVIL_P0);
    assert!(one("m.joblib", &joblib)
        .iter()
        .any(|(r, _)| r == "HV-PKL-DANGEROUS"));
    // A pickle without a pickle's name is recognised by its look.
    assert_eq!(
        one("weights.dat", EVIL_P4),
        vec![("HV-PKL-DANGEROUS".into(), None)]
    );
    // An object .npy carries a pickle after its header.
    let header = b"{'descr': '|O', 'fortran_order': False, 'shape': (1,), }";
    let mut npy = b"\x93NUMPY\x01\x00".to_vec();
    npy.extend_from_slice(&(header.len() as u16).to_le_bytes());
    npy.extend_from_slice(header);
    npy.extend_from_slice(EVIL_P4);
    assert_eq!(one("a.npy", &npy), vec![("HV-PKL-DANGEROUS".into(), None)]);
}

fn zip_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let o = zip::write::SimpleFileOptions::default();
    for (name, data) in entries {
        w.start_file(*name, o).unwrap();
        w.write_all(data).unwrap();
    }
    w.finish().unwrap().into_inner()
}

#[test]
fn archives() {
    // A PyTorch checkpoint is a zip with data.pkl inside.
    let pt = zip_of(&[("archive/data.pkl", EVIL_P4), ("archive/version", b"3\n")]);
    let f = one("model.pt", &pt);
    assert_eq!(f, vec![("HV-PKL-DANGEROUS".into(), None)]);
    let slip = zip_of(&[("../../etc/cron.d/x", b"boom"), ("/abs.py", b"")]);
    assert_eq!(
        one("pkg.zip", &slip)
            .iter()
            .filter(|(r, _)| r == "HV-ARC-SLIP")
            .count(),
        2
    );
    let bomb = zip_of(&[("zeros.bin", &vec![0u8; 20 << 20])]);
    assert_eq!(one("pkg.zip", &bomb), vec![("HV-ARC-BOMB".into(), None)]);
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    w.add_symlink(
        "link",
        "/etc/passwd",
        zip::write::SimpleFileOptions::default(),
    )
    .unwrap();
    let link = w.finish().unwrap().into_inner();
    assert_eq!(one("pkg.zip", &link), vec![("HV-ARC-SYMLINK".into(), None)]);
    // Nesting beyond the limit (3) is refused.
    let mut nested = zip_of(&[("x.txt", b"x")]);
    for _ in 0..4 {
        nested = zip_of(&[("inner.zip", &nested)]);
    }
    assert!(one("pkg.zip", &nested)
        .iter()
        .any(|(r, _)| r == "HV-ARC-NESTING"));
}

#[test]
fn requirements() {
    let f = one("requirements.txt", b"numpy==1.26.4\ntorch==2.5.1\npandas>=2\n--extra-index-url https://x/simple\ngit+https://h/x.git\nfoo @ https://h/foo.whl\n");
    let want = [
        ("HV-DEP-VULNERABLE", 2),
        ("HV-DEP-UNPINNED", 3),
        ("HV-DEP-INDEX", 4),
        ("HV-DEP-VCS", 5),
        ("HV-DEP-URL", 6),
    ];
    assert_eq!(
        f,
        want.iter()
            .map(|(r, l)| (r.to_string(), Some(*l)))
            .collect::<Vec<_>>()
    );
    let env = one("python_env.yaml", b"python: 3.11.7\nbuild_dependencies:\n- pip==23.2.1\n- wheel\ndependencies:\n- -r requirements.txt\n");
    assert!(env.is_empty(), "{env:?}");
}

fn template_dir() -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    let p = d.path();
    std::fs::write(p.join("model.py"), crate::template::FILES[0].1).unwrap();
    std::fs::write(p.join("MLmodel"), "flavors:\n  python_function:\n    loader_module: mlflow.pyfunc.loaders.code_model\n    model_code_path: /tmp/x/model.py\n    python_version: 3.11.7\nsaved_input_example_info:\n  artifact_path: input_example.json\nsignature:\n  inputs: '[{\"type\": \"double\", \"name\": \"x1\"}]'\n").unwrap();
    std::fs::write(p.join("input_example.json"), "{}").unwrap();
    std::fs::write(
        p.join("requirements.txt"),
        "mlflow==3.17.2\npandas==2.2.3\n",
    )
    .unwrap();
    d
}

fn verdict(r: &Report) -> (Verdict, Vec<String>) {
    (
        r.verdict,
        r.findings.iter().map(|f| f.rule.clone()).collect(),
    )
}

#[test]
fn validator() {
    let d = template_dir();
    let r = scan_path(d.path(), &opts()).unwrap();
    assert!(r.validated);
    assert_eq!(verdict(&r), (Verdict::Passed, vec![]));
    std::fs::write(d.path().join("requirements.txt"), "mlflow\npandas==2.2.3\n").unwrap();
    std::fs::remove_file(d.path().join("input_example.json")).unwrap();
    std::fs::write(
        d.path().join("model.py"),
        "class M:\n    def predict(self, x):\n        return x\n",
    )
    .unwrap();
    let r = scan_path(d.path(), &opts()).unwrap();
    let (v, mut got) = verdict(&r);
    got.sort();
    assert_eq!(v, Verdict::Failed);
    assert_eq!(
        got,
        [
            "HV-DEP-UNPINNED",
            "HV-VAL-INPUT-EXAMPLE",
            "HV-VAL-REQUIREMENTS",
            "HV-VAL-TEMPLATE"
        ]
    );
    assert!(r.findings.iter().all(|f| f.severity >= Severity::Medium));
}

#[test]
fn policy_fail_on_and_allow() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("f.py"),
        "import os\nos.getenv('LOG_LEVEL')\n",
    )
    .unwrap();
    assert_eq!(
        scan_path(dir.path(), &opts()).unwrap().verdict,
        Verdict::Passed
    );
    let mut strict = opts();
    strict.policy.fail_on = Severity::Medium;
    assert_eq!(
        scan_path(dir.path(), &strict).unwrap().verdict,
        Verdict::Failed
    );
    let cfg = dir.path().join("scan.toml");
    std::fs::write(
        &cfg,
        "fail_on = 'low'\n[[allow]]\nrule = 'HV-PY-ENV'\npath = '*.py'\nreason = 'log level'\n",
    )
    .unwrap();
    let mut allowed = opts();
    allowed.policy = super::Policy::load(cfg.to_str(), None).unwrap();
    let r = scan_path(&dir.path().join("f.py"), &allowed).unwrap();
    assert_eq!(r.verdict, Verdict::Passed);
    assert!(r.findings[0].allowed && r.counts.medium == 0);
    assert!(super::Policy::load(None, Some("severe")).is_err());
}
