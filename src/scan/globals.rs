//! Which imports a pickle (or a skops schema) may name: the dangerous list (what picklescan and
//! modelscan flag: code execution, processes, files, network, nested loaders), code pickled by value
//! (cloudpickle, dill), and the safe list of the scientific stack. Anything else is unknown.

/// What an import `module.name` is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    Safe,
    Dangerous,
    /// Code carried by value: it runs when loaded and no reviewer can read it.
    Opaque,
    Unknown,
}

/// `(module, names)`: `*` is every name in the module and its submodules.
const DANGEROUS: &[(&str, &[&str])] = &[
    (
        "builtins",
        &[
            "eval",
            "exec",
            "execfile",
            "compile",
            "open",
            "getattr",
            "setattr",
            "delattr",
            "__import__",
            "apply",
            "breakpoint",
            "input",
            "globals",
            "locals",
            "vars",
        ],
    ),
    (
        "__builtin__",
        &[
            "eval",
            "exec",
            "execfile",
            "compile",
            "open",
            "file",
            "getattr",
            "setattr",
            "delattr",
            "__import__",
            "apply",
            "breakpoint",
            "input",
            "globals",
            "locals",
            "vars",
        ],
    ),
    ("__builtins__", &["*"]),
    ("os", &["*"]),
    ("posix", &["*"]),
    ("nt", &["*"]),
    ("subprocess", &["*"]),
    ("_posixsubprocess", &["*"]),
    ("_winapi", &["*"]),
    ("pty", &["*"]),
    ("commands", &["*"]),
    ("sys", &["*"]),
    ("shutil", &["*"]),
    ("runpy", &["*"]),
    ("code", &["*"]),
    ("codeop", &["*"]),
    ("importlib", &["*"]),
    ("pkgutil", &["*"]),
    ("pydoc", &["*"]),
    ("imp", &["*"]),
    ("socket", &["*"]),
    ("ssl", &["*"]),
    ("http", &["*"]),
    ("httplib", &["*"]),
    ("urllib", &["*"]),
    ("urllib2", &["*"]),
    ("urllib3", &["*"]),
    ("requests", &["*"]),
    ("httpx", &["*"]),
    ("aiohttp", &["*"]),
    ("ftplib", &["*"]),
    ("smtplib", &["*"]),
    ("telnetlib", &["*"]),
    ("imaplib", &["*"]),
    ("webbrowser", &["*"]),
    ("asyncio", &["*"]),
    ("multiprocessing", &["*"]),
    ("ctypes", &["*"]),
    ("_ctypes", &["*"]),
    ("cffi", &["*"]),
    ("pickle", &["*"]),
    ("_pickle", &["*"]),
    ("cPickle", &["*"]),
    ("marshal", &["*"]),
    ("shelve", &["*"]),
    ("bdb", &["*"]),
    ("pdb", &["*"]),
    ("timeit", &["*"]),
    ("profile", &["*"]),
    ("cProfile", &["*"]),
    ("trace", &["*"]),
    ("doctest", &["*"]),
    ("pip", &["*"]),
    ("ensurepip", &["*"]),
    ("venv", &["*"]),
    ("uuid", &["_get_command_stdout"]),
    ("tempfile", &["*"]),
    ("io", &["open", "FileIO", "open_code"]),
    ("_io", &["*"]),
    ("logging", &["FileHandler", "config"]),
    ("operator", &["attrgetter", "itemgetter", "methodcaller"]),
    ("_operator", &["attrgetter", "itemgetter", "methodcaller"]),
    ("functools", &["partial", "reduce"]),
    ("numpy.testing", &["*"]),
    ("numpy.f2py", &["*"]),
    ("numpy.distutils", &["*"]),
    ("numpy", &["load", "fromfile"]),
    ("numpy.ctypeslib", &["*"]),
    ("pandas", &["read_pickle", "eval"]),
    ("pandas.io.pickle", &["*"]),
    ("torch", &["load", "hub"]),
    ("torch.serialization", &["load"]),
    ("torch.hub", &["*"]),
    ("torch._inductor", &["*"]),
    ("torch.jit", &["*"]),
    ("torch.utils.collect_env", &["*"]),
    ("torch.utils.cpp_extension", &["*"]),
    ("tensorflow.io", &["*"]),
    ("keras.utils", &["get_file"]),
    ("joblib", &["load"]),
    ("mlflow", &["*"]),
];

/// Constructors of code pickled by value.
const OPAQUE: &[(&str, &[&str])] = &[
    ("cloudpickle", &["*"]),
    ("dill", &["*"]),
    (
        "types",
        &[
            "CodeType",
            "FunctionType",
            "LambdaType",
            "MethodType",
            "ModuleType",
        ],
    ),
    ("copyreg", &["_reconstructor_function"]),
];

const SAFE: &[(&str, &[&str])] = &[
    (
        "builtins",
        &[
            "set",
            "frozenset",
            "list",
            "dict",
            "tuple",
            "bytearray",
            "bytes",
            "object",
            "int",
            "float",
            "complex",
            "str",
            "bool",
            "range",
            "slice",
            "NoneType",
            "Ellipsis",
            "type",
        ],
    ),
    (
        "__builtin__",
        &[
            "set",
            "frozenset",
            "list",
            "dict",
            "tuple",
            "bytearray",
            "bytes",
            "object",
            "int",
            "float",
            "complex",
            "str",
            "unicode",
            "bool",
            "long",
            "range",
            "xrange",
            "slice",
        ],
    ),
    ("copy_reg", &["_reconstructor"]),
    (
        "copyreg",
        &["_reconstructor", "__newobj__", "__newobj_ex__"],
    ),
    ("collections", &["*"]),
    ("_codecs", &["encode"]),
    ("datetime", &["*"]),
    ("decimal", &["Decimal"]),
    ("fractions", &["Fraction"]),
    ("uuid", &["UUID"]),
    (
        "pathlib",
        &[
            "PosixPath",
            "PurePosixPath",
            "WindowsPath",
            "PureWindowsPath",
            "Path",
        ],
    ),
    ("re", &["_compile"]),
    ("enum", &["Enum"]),
    ("numpy", &["*"]),
    ("numpy.core", &["*"]),
    ("numpy._core", &["*"]),
    ("scipy", &["*"]),
    ("sklearn", &["*"]),
    ("pandas", &["*"]),
    ("joblib.numpy_pickle", &["NumpyArrayWrapper"]),
    ("_io", &["BytesIO"]),
    (
        "torch",
        &[
            "Size",
            "device",
            "dtype",
            "float32",
            "float16",
            "bfloat16",
            "float64",
            "int64",
            "int32",
            "int8",
            "uint8",
            "bool",
            "FloatStorage",
            "DoubleStorage",
            "HalfStorage",
            "BFloat16Storage",
            "LongStorage",
            "IntStorage",
            "ShortStorage",
            "CharStorage",
            "ByteStorage",
            "BoolStorage",
            "Tensor",
        ],
    ),
    (
        "torch._utils",
        &[
            "_rebuild_tensor",
            "_rebuild_tensor_v2",
            "_rebuild_parameter",
            "_rebuild_parameter_with_state",
            "_rebuild_device_tensor_from_numpy",
            "_rebuild_qtensor",
            "_rebuild_sparse_tensor",
        ],
    ),
    ("torch.storage", &["_load_from_bytes"]),
    ("torch.nn.modules", &["*"]),
    ("torch.nn.parameter", &["Parameter"]),
    ("xgboost", &["*"]),
    ("lightgbm", &["*"]),
    ("skops.io", &["*"]),
];

/// Does `module.name` match an entry of `list`? A module entry covers its submodules for `*`.
fn listed(list: &[(&str, &[&str])], module: &str, name: &str) -> bool {
    list.iter().any(|(m, names)| {
        let exact = module == *m;
        let sub =
            module.len() > m.len() && module.starts_with(m) && module.as_bytes()[m.len()] == b'.';
        let top = name.split('.').next().unwrap_or(name);
        (exact && names.iter().any(|n| *n == "*" || *n == top || *n == name))
            || (sub && names.contains(&"*"))
    })
}

/// Classify the import `module.name` (as a pickle's `GLOBAL` or `STACK_GLOBAL` names it).
pub fn classify(module: &str, name: &str) -> Class {
    if listed(OPAQUE, module, name) {
        Class::Opaque
    } else if listed(DANGEROUS, module, name) {
        Class::Dangerous
    } else if listed(SAFE, module, name) {
        Class::Safe
    } else {
        Class::Unknown
    }
}

#[cfg(test)]
mod tests {
    use super::{classify, Class};

    #[test]
    fn lists() {
        assert_eq!(classify("os", "system"), Class::Dangerous);
        assert_eq!(classify("posix", "system"), Class::Dangerous);
        assert_eq!(classify("builtins", "exec"), Class::Dangerous);
        assert_eq!(classify("builtins", "set"), Class::Safe);
        assert_eq!(classify("subprocess", "Popen"), Class::Dangerous);
        assert_eq!(classify("os.path", "join"), Class::Dangerous);
        assert_eq!(
            classify("numpy.core.multiarray", "_reconstruct"),
            Class::Safe
        );
        assert_eq!(classify("numpy", "load"), Class::Dangerous);
        assert_eq!(
            classify("numpy.testing._private.utils", "runstring"),
            Class::Dangerous
        );
        assert_eq!(
            classify("sklearn.linear_model._base", "LinearRegression"),
            Class::Safe
        );
        assert_eq!(
            classify("cloudpickle.cloudpickle", "_make_function"),
            Class::Opaque
        );
        assert_eq!(classify("types", "CodeType"), Class::Opaque);
        assert_eq!(classify("mymodule", "Thing"), Class::Unknown);
        assert_eq!(classify("numpyx", "Thing"), Class::Unknown);
    }
}
