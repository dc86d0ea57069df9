//! The Python source rules as data: which fully qualified calls, references and imports are findings.
//! Ids are bandit's where bandit has the same check (so users recognise them), `HV-PY-*` otherwise.
//! Names are matched after import aliases are resolved (`import subprocess as sp; sp.run` is
//! `subprocess.run`); a pattern ending in `*` matches a prefix.

use super::Severity::{self, High, Low, Medium};

/// When a call matching a rule is a finding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum When {
    Always,
    /// Unless the first argument is a string literal (`__import__("json")`).
    ComputedName,
    /// B602 with `shell=` truthy, else B603.
    Shell,
    /// Unless the `Loader` (keyword or second argument) is a safe loader.
    UnsafeLoader,
    /// Unless `weights_only=True`.
    NotWeightsOnly,
    /// Only with `allow_pickle=True`.
    AllowPickle,
    /// Only when it writes (a mode with `w`, `a`, `x` or `+`) to a path outside the model directory.
    WritesOutside,
    /// Only when an argument is a path outside the model directory.
    PathOutside,
    /// `getattr(module_or_builtins, <computed>)`.
    ComputedAttr,
}

pub struct Rule {
    pub pattern: &'static str,
    pub id: &'static str,
    pub severity: Severity,
    pub when: When,
    pub what: &'static str,
}

const fn r(
    pattern: &'static str,
    id: &'static str,
    severity: Severity,
    when: When,
    what: &'static str,
) -> Rule {
    Rule {
        pattern,
        id,
        severity,
        when,
        what,
    }
}

use When::*;

pub const CALLS: &[Rule] = &[
    r(
        "builtins.eval",
        "B307",
        High,
        Always,
        "eval() runs a string as code",
    ),
    r(
        "builtins.exec",
        "B102",
        High,
        Always,
        "exec() runs a string as code",
    ),
    r(
        "builtins.compile",
        "HV-PY-DYNAMIC",
        High,
        Always,
        "compile() builds code from a string",
    ),
    r(
        "builtins.__import__",
        "HV-PY-DYNAMIC",
        High,
        ComputedName,
        "__import__ with a computed module name",
    ),
    r(
        "importlib.import_module",
        "HV-PY-DYNAMIC",
        High,
        ComputedName,
        "importlib.import_module with a computed module name",
    ),
    r(
        "importlib.__import__",
        "HV-PY-DYNAMIC",
        High,
        ComputedName,
        "importlib.__import__ with a computed module name",
    ),
    r(
        "builtins.getattr",
        "HV-PY-DYNAMIC",
        High,
        ComputedAttr,
        "getattr on a module or builtins with a computed name",
    ),
    r(
        "runpy.*",
        "HV-PY-DYNAMIC",
        High,
        Always,
        "runpy runs other code",
    ),
    r(
        "code.*",
        "HV-PY-DYNAMIC",
        High,
        Always,
        "the code module runs strings as code",
    ),
    r(
        "os.system",
        "B605",
        High,
        Always,
        "starts a process with a shell",
    ),
    r(
        "os.popen*",
        "B605",
        High,
        Always,
        "starts a process with a shell",
    ),
    r(
        "commands.*",
        "B605",
        High,
        Always,
        "starts a process with a shell",
    ),
    r(
        "os.exec*",
        "B606",
        High,
        Always,
        "replaces the process with another program",
    ),
    r("os.spawn*", "B606", High, Always, "starts a process"),
    r("os.posix_spawn*", "B606", High, Always, "starts a process"),
    r("os.startfile", "B606", High, Always, "starts a process"),
    r(
        "os.fork*",
        "HV-PY-PROCESS",
        High,
        Always,
        "forks the process",
    ),
    r(
        "os.kill*",
        "HV-PY-PROCESS",
        High,
        Always,
        "signals other processes",
    ),
    r("subprocess.*", "B603", High, Shell, "starts a process"),
    r(
        "asyncio.create_subprocess_shell",
        "B602",
        High,
        Always,
        "starts a process with a shell",
    ),
    r(
        "asyncio.create_subprocess_exec",
        "B603",
        High,
        Always,
        "starts a process",
    ),
    r(
        "pty.*",
        "HV-PY-PROCESS",
        High,
        Always,
        "starts a process on a pseudo-terminal",
    ),
    r(
        "socket.*",
        "HV-PY-NETWORK",
        High,
        Always,
        "opens network connections",
    ),
    r("urllib.request.*", "B310", High, Always, "opens a URL"),
    r("urllib.urlopen", "B310", High, Always, "opens a URL"),
    r("urllib.urlretrieve", "B310", High, Always, "opens a URL"),
    r(
        "requests.*",
        "HV-PY-NETWORK",
        High,
        Always,
        "sends HTTP requests",
    ),
    r(
        "httpx.*",
        "HV-PY-NETWORK",
        High,
        Always,
        "sends HTTP requests",
    ),
    r(
        "aiohttp.*",
        "HV-PY-NETWORK",
        High,
        Always,
        "sends HTTP requests",
    ),
    r(
        "urllib3.*",
        "HV-PY-NETWORK",
        High,
        Always,
        "sends HTTP requests",
    ),
    r(
        "http.client.*",
        "HV-PY-NETWORK",
        High,
        Always,
        "opens HTTP connections",
    ),
    r("ftplib.*", "B321", High, Always, "opens FTP connections"),
    r("smtplib.*", "HV-PY-NETWORK", High, Always, "sends mail"),
    r(
        "telnetlib.*",
        "B312",
        High,
        Always,
        "opens telnet connections",
    ),
    r(
        "xmlrpc.client.*",
        "HV-PY-NETWORK",
        High,
        Always,
        "calls remote procedures",
    ),
    r(
        "paramiko.*",
        "HV-PY-NETWORK",
        High,
        Always,
        "opens SSH connections",
    ),
    r(
        "webbrowser.*",
        "HV-PY-NETWORK",
        High,
        Always,
        "opens a browser",
    ),
    r(
        "pickle.load*",
        "B301",
        High,
        Always,
        "unpickling runs code from the data",
    ),
    r(
        "pickle.Unpickler",
        "B301",
        High,
        Always,
        "unpickling runs code from the data",
    ),
    r(
        "dill.load*",
        "B301",
        High,
        Always,
        "unpickling runs code from the data",
    ),
    r(
        "cloudpickle.load*",
        "B301",
        High,
        Always,
        "unpickling runs code from the data",
    ),
    r(
        "jsonpickle.decode",
        "B301",
        High,
        Always,
        "unpickling runs code from the data",
    ),
    r(
        "shelve.open",
        "B301",
        High,
        Always,
        "shelve unpickles its values",
    ),
    r(
        "pandas.read_pickle",
        "B301",
        High,
        Always,
        "unpickling runs code from the data",
    ),
    r(
        "marshal.load*",
        "B302",
        High,
        Always,
        "marshal loads code objects",
    ),
    r(
        "yaml.load",
        "B506",
        High,
        UnsafeLoader,
        "yaml.load without a safe Loader builds arbitrary objects",
    ),
    r(
        "yaml.load_all",
        "B506",
        High,
        UnsafeLoader,
        "yaml.load_all without a safe Loader builds arbitrary objects",
    ),
    r(
        "yaml.unsafe_load*",
        "B506",
        High,
        Always,
        "yaml.unsafe_load builds arbitrary objects",
    ),
    r(
        "torch.load",
        "B614",
        High,
        NotWeightsOnly,
        "torch.load without weights_only=True unpickles arbitrary objects",
    ),
    r(
        "joblib.load",
        "HV-PY-DESERIALIZE",
        High,
        Always,
        "joblib.load unpickles its file",
    ),
    r(
        "numpy.load",
        "HV-PY-DESERIALIZE",
        High,
        AllowPickle,
        "numpy.load with allow_pickle=True unpickles its file",
    ),
    r(
        "os.getenv*",
        "HV-PY-ENV",
        Medium,
        Always,
        "reads the environment (where secrets live)",
    ),
    r(
        "os.putenv",
        "HV-PY-ENV",
        Medium,
        Always,
        "changes the environment",
    ),
    r(
        "ctypes.*",
        "HV-PY-NATIVE",
        High,
        Always,
        "calls native code",
    ),
    r("cffi.*", "HV-PY-NATIVE", High, Always, "calls native code"),
    r(
        "builtins.open",
        "HV-PY-WRITE",
        Medium,
        WritesOutside,
        "writes outside the model directory",
    ),
    r(
        "io.open",
        "HV-PY-WRITE",
        Medium,
        WritesOutside,
        "writes outside the model directory",
    ),
    r(
        "codecs.open",
        "HV-PY-WRITE",
        Medium,
        WritesOutside,
        "writes outside the model directory",
    ),
    r(
        "os.remove",
        "HV-PY-WRITE",
        Medium,
        PathOutside,
        "changes files outside the model directory",
    ),
    r(
        "os.unlink",
        "HV-PY-WRITE",
        Medium,
        PathOutside,
        "changes files outside the model directory",
    ),
    r(
        "os.rename",
        "HV-PY-WRITE",
        Medium,
        PathOutside,
        "changes files outside the model directory",
    ),
    r(
        "os.replace",
        "HV-PY-WRITE",
        Medium,
        PathOutside,
        "changes files outside the model directory",
    ),
    r(
        "os.makedirs",
        "HV-PY-WRITE",
        Medium,
        PathOutside,
        "changes files outside the model directory",
    ),
    r(
        "os.mkdir",
        "HV-PY-WRITE",
        Medium,
        PathOutside,
        "changes files outside the model directory",
    ),
    r(
        "os.rmdir",
        "HV-PY-WRITE",
        Medium,
        PathOutside,
        "changes files outside the model directory",
    ),
    r(
        "os.chmod",
        "HV-PY-WRITE",
        Medium,
        PathOutside,
        "changes files outside the model directory",
    ),
    r(
        "os.symlink",
        "HV-PY-WRITE",
        Medium,
        PathOutside,
        "changes files outside the model directory",
    ),
    r(
        "shutil.*",
        "HV-PY-WRITE",
        Medium,
        PathOutside,
        "changes files outside the model directory",
    ),
    r(
        "pathlib.Path",
        "HV-PY-WRITE",
        Medium,
        PathOutside,
        "a path outside the model directory",
    ),
];

/// Names that are findings wherever they are used, not only when called.
pub const REFERENCES: &[Rule] = &[
    r(
        "os.environ",
        "HV-PY-ENV",
        Medium,
        Always,
        "reads the environment (where secrets live)",
    ),
    r(
        "os.environb",
        "HV-PY-ENV",
        Medium,
        Always,
        "reads the environment (where secrets live)",
    ),
];

/// Imports that are findings by themselves (bandit's import blacklist, and native code).
pub const IMPORTS: &[Rule] = &[
    r(
        "pickle",
        "B403",
        Low,
        Always,
        "pickle can run code from the data it loads",
    ),
    r(
        "cPickle",
        "B403",
        Low,
        Always,
        "pickle can run code from the data it loads",
    ),
    r(
        "_pickle",
        "B403",
        Low,
        Always,
        "pickle can run code from the data it loads",
    ),
    r(
        "dill",
        "B403",
        Low,
        Always,
        "dill can run code from the data it loads",
    ),
    r("shelve", "B403", Low, Always, "shelve unpickles its values"),
    r(
        "subprocess",
        "B404",
        Low,
        Always,
        "the subprocess module starts processes",
    ),
    r(
        "telnetlib",
        "B401",
        High,
        Always,
        "telnet sends everything in clear text",
    ),
    r(
        "ftplib",
        "B402",
        High,
        Always,
        "FTP sends everything in clear text",
    ),
    r(
        "xmlrpc",
        "B411",
        High,
        Always,
        "XML-RPC calls remote procedures",
    ),
    r(
        "xmlrpclib",
        "B411",
        High,
        Always,
        "XML-RPC calls remote procedures",
    ),
    r(
        "xml.etree.cElementTree",
        "B405",
        Low,
        Always,
        "XML parsing open to entity attacks",
    ),
    r(
        "xml.etree.ElementTree",
        "B405",
        Low,
        Always,
        "XML parsing open to entity attacks",
    ),
    r(
        "xml.sax",
        "B406",
        Low,
        Always,
        "XML parsing open to entity attacks",
    ),
    r(
        "xml.dom.expatbuilder",
        "B407",
        Low,
        Always,
        "XML parsing open to entity attacks",
    ),
    r(
        "xml.dom.minidom",
        "B408",
        Low,
        Always,
        "XML parsing open to entity attacks",
    ),
    r(
        "xml.dom.pulldom",
        "B409",
        Low,
        Always,
        "XML parsing open to entity attacks",
    ),
    r(
        "lxml",
        "B410",
        Low,
        Always,
        "XML parsing open to entity attacks",
    ),
    r("Crypto", "B413", High, Always, "pyCrypto is unmaintained"),
    r(
        "ctypes",
        "HV-PY-NATIVE",
        High,
        Always,
        "ctypes calls native code",
    ),
    r(
        "_ctypes",
        "HV-PY-NATIVE",
        High,
        Always,
        "ctypes calls native code",
    ),
    r(
        "cffi",
        "HV-PY-NATIVE",
        High,
        Always,
        "cffi calls native code",
    ),
];

/// Calls that decode data; one feeding `exec`/`eval`/`compile` is obfuscated code.
pub const DECODERS: &[&str] = &[
    "base64.*",
    "binascii.a2b*",
    "binascii.unhexlify",
    "zlib.decompress",
    "bz2.decompress",
    "lzma.decompress",
    "gzip.decompress",
    "codecs.decode",
    "marshal.loads",
    "builtins.bytes.fromhex",
    "builtins.bytearray.fromhex",
];

/// Aliases that name the same module.
pub const SAME_MODULE: &[(&str, &str)] = &[
    ("posix", "os"),
    ("nt", "os"),
    ("__builtin__", "builtins"),
    ("__builtins__", "builtins"),
    ("cPickle", "pickle"),
    ("_pickle", "pickle"),
    ("urllib2", "urllib.request"),
    ("httplib", "http.client"),
    ("_io", "io"),
];

/// Builtins the rules care about (a name only resolves to the builtin when nothing rebinds it).
pub const BUILTINS: &[&str] = &[
    "eval",
    "exec",
    "compile",
    "__import__",
    "getattr",
    "open",
    "bytes",
    "bytearray",
];

pub fn matches(pattern: &str, q: &str) -> bool {
    match pattern.strip_suffix('*') {
        Some(prefix) => q.starts_with(prefix),
        None => pattern == q,
    }
}

pub fn find<'r>(rules: &'r [Rule], q: &str) -> Option<&'r Rule> {
    rules.iter().find(|r| matches(r.pattern, q))
}

/// The import rule for `module` or one of its parents (`xml.sax.handler` → `xml.sax`).
pub fn import_rule(module: &str) -> Option<&'static Rule> {
    IMPORTS.iter().find(|r| {
        module == r.pattern
            || (module.starts_with(r.pattern)
                && module.as_bytes().get(r.pattern.len()) == Some(&b'.'))
    })
}
