//! Pickles read opcode by opcode, never loaded: every `GLOBAL`, `INST` and `STACK_GLOBAL` import is
//! collected (the names of a `STACK_GLOBAL` followed through the memo) and classified against the lists
//! in `globals`. Several pickles in one file (PyTorch's legacy format) are read one after another; bytes
//! that do not parse (joblib's raw arrays between pickles) are searched for the import opcodes' shapes.
//! Object `.npy` arrays carry a pickle after their header; `skops` files name their types in a JSON
//! schema, checked against the same lists.

use std::collections::HashMap;

use super::globals::{classify, Class};
use super::{Finding, Scan, Severity};

pub fn is_pickle_name(ext: &str) -> bool {
    matches!(
        ext,
        "pkl"
            | "pickle"
            | "joblib"
            | "dill"
            | "pck"
            | "pt"
            | "pth"
            | "bin"
            | "ckpt"
            | "cloudpickle"
    )
}

/// A pickle by its look: a protocol 2+ header, ending at `STOP`.
pub fn looks_like_pickle(data: &[u8]) -> bool {
    data.len() > 3 && data[0] == 0x80 && (2..=5).contains(&data[1]) && data.last() == Some(&b'.')
}

/// One import a pickle makes, and where.
#[derive(Debug, Clone, PartialEq)]
pub struct Import {
    pub module: String,
    pub name: String,
    pub offset: usize,
}

/// What reading a pickle found.
#[derive(Debug, Default)]
pub struct Walk {
    pub imports: Vec<Import>,
    /// `STACK_GLOBAL`s whose names are not constant strings.
    pub computed: Vec<usize>,
    /// Where parsing stopped without a `STOP`, and why.
    pub error: Option<(usize, String)>,
    /// The offset just past the final `STOP`.
    pub end: usize,
}

fn line(data: &[u8], pos: usize) -> Option<(&[u8], usize)> {
    let rest = data.get(pos..)?;
    let n = rest.iter().position(|&b| b == b'\n')?;
    Some((&rest[..n], pos + n + 1))
}

fn le(data: &[u8], pos: usize, n: usize) -> Option<u64> {
    let b = data.get(pos..pos + n)?;
    Some(b.iter().rev().fold(0u64, |a, &x| (a << 8) | u64::from(x)))
}

/// Read one pickle starting at `start`.
pub fn walk(data: &[u8], start: usize) -> Walk {
    let mut w = Walk::default();
    // Values recently pushed: the string, when a constant string was pushed (for STACK_GLOBAL).
    let mut recent: Vec<Option<String>> = Vec::new();
    let mut memo: HashMap<u64, Option<String>> = HashMap::new();
    let mut pos = start;
    let fail = |w: &mut Walk, pos: usize, why: &str| {
        w.error = Some((pos, why.to_string()));
    };
    loop {
        let Some(&op) = data.get(pos) else {
            fail(&mut w, pos, "ended without STOP");
            return w;
        };
        let at = pos;
        pos += 1;
        let mut push: Option<Option<String>> = None;
        // Length-prefixed arguments: (width of the length, is it text).
        let sized = match op {
            b'T' | b'X' | b'B' => Some((4, op == b'X')),
            b'U' | b'C' | 0x8c | 0x8a => Some((1, op == 0x8c)),
            0x8b => Some((4, false)),
            0x8d | 0x8e | 0x96 => Some((8, op == 0x8d)),
            _ => None,
        };
        if let Some((width, text)) = sized {
            let Some(n) = le(data, pos, width) else {
                fail(&mut w, at, "truncated length");
                return w;
            };
            let end = pos + width + n as usize;
            let Some(body) = data.get(pos + width..end) else {
                fail(&mut w, at, "truncated argument");
                return w;
            };
            push = Some(text.then(|| String::from_utf8_lossy(body).into_owned()));
            if op == 0x8a || op == 0x8b {
                push = Some(None);
            }
            pos = end;
        } else {
            match op {
                b'.' => {
                    w.end = pos;
                    return w;
                }
                // Text-line arguments.
                b'F' | b'I' | b'L' | b'P' | b'S' | b'V' | b'g' | b'p' => {
                    let Some((arg, next)) = line(data, pos) else {
                        fail(&mut w, at, "unterminated line argument");
                        return w;
                    };
                    pos = next;
                    let s = String::from_utf8_lossy(arg).into_owned();
                    match op {
                        b'S' => push = Some(Some(s.trim_matches(['\'', '"']).to_string())),
                        b'V' => push = Some(Some(s)),
                        b'g' => {
                            push = Some(
                                s.trim()
                                    .parse()
                                    .ok()
                                    .and_then(|k| memo.get(&k).cloned().flatten()),
                            )
                        }
                        b'p' => {
                            if let Ok(k) = s.trim().parse() {
                                memo.insert(k, recent.last().cloned().flatten());
                            }
                        }
                        _ => push = Some(None),
                    }
                }
                b'c' | b'i' => {
                    let Some((m, next)) = line(data, pos) else {
                        fail(&mut w, at, "unterminated GLOBAL");
                        return w;
                    };
                    let Some((n, next)) = line(data, next) else {
                        fail(&mut w, at, "unterminated GLOBAL");
                        return w;
                    };
                    pos = next;
                    w.imports.push(Import {
                        module: String::from_utf8_lossy(m).into_owned(),
                        name: String::from_utf8_lossy(n).into_owned(),
                        offset: at,
                    });
                    push = Some(None);
                }
                0x93 => {
                    let n = recent.len();
                    match (n >= 2).then(|| (recent[n - 2].clone(), recent[n - 1].clone())) {
                        Some((Some(module), Some(name))) => w.imports.push(Import {
                            module,
                            name,
                            offset: at,
                        }),
                        _ => w.computed.push(at),
                    }
                    recent.truncate(n.saturating_sub(2));
                    push = Some(None);
                }
                // One-byte arguments.
                b'K' | b'h' | b'q' | 0x80 | 0x82 => {
                    let Some(&b) = data.get(pos) else {
                        fail(&mut w, at, "truncated argument");
                        return w;
                    };
                    pos += 1;
                    match op {
                        b'h' => push = Some(memo.get(&u64::from(b)).cloned().flatten()),
                        b'q' => {
                            memo.insert(u64::from(b), recent.last().cloned().flatten());
                        }
                        b'K' | 0x82 => push = Some(None),
                        _ => {}
                    }
                }
                b'M' | 0x83 => {
                    pos += 2;
                    push = Some(None);
                }
                b'J' | b'j' | b'r' | 0x84 => {
                    let Some(k) = le(data, pos, 4) else {
                        fail(&mut w, at, "truncated argument");
                        return w;
                    };
                    pos += 4;
                    match op {
                        b'j' => push = Some(memo.get(&k).cloned().flatten()),
                        b'r' => {
                            memo.insert(k, recent.last().cloned().flatten());
                        }
                        _ => push = Some(None),
                    }
                }
                b'G' => {
                    pos += 8;
                    push = Some(None);
                }
                0x95 => pos += 8,
                0x94 => {
                    let k = memo.len() as u64;
                    memo.insert(k, recent.last().cloned().flatten());
                }
                // No argument.
                b'(' | b'0' | b'1' | b'2' | b'N' | b'Q' | b'R' | b'a' | b'b' | b'd' | b'}'
                | b'e' | b'l' | b']' | b'o' | b's' | b't' | b')' | b'u' | 0x81 | 0x85 | 0x86
                | 0x87 | 0x88 | 0x89 | 0x8f | 0x90 | 0x91 | 0x92 | 0x97 | 0x98 => push = Some(None),
                _ => {
                    fail(&mut w, at, &format!("unknown opcode 0x{op:02x}"));
                    return w;
                }
            }
        }
        if pos > data.len() {
            fail(&mut w, at, "truncated argument");
            return w;
        }
        if let Some(v) = push {
            recent.push(v);
            if recent.len() > 64 {
                recent.drain(..32);
            }
        }
    }
}

/// The shapes of `GLOBAL module\nname\n` in bytes that are not a parseable pickle.
fn search_globals(data: &[u8], from: usize, out: &mut Vec<Import>) {
    let ident = |b: &[u8]| {
        !b.is_empty()
            && b.len() < 200
            && b.iter()
                .all(|c| c.is_ascii_alphanumeric() || *c == b'_' || *c == b'.')
    };
    let mut i = from;
    while i < data.len() {
        if data[i] == b'c' || data[i] == b'i' {
            if let Some((m, next)) = line(data, i + 1) {
                if ident(m) {
                    if let Some((n, _)) = line(data, next) {
                        if ident(n) && m[0].is_ascii_alphabetic() {
                            out.push(Import {
                                module: String::from_utf8_lossy(m).into_owned(),
                                name: String::from_utf8_lossy(n).into_owned(),
                                offset: i,
                            });
                        }
                    }
                }
            }
        }
        i += 1;
    }
}

/// Every import in every pickle of `data` (several in a row, as PyTorch's legacy format writes them).
pub fn walk_all(data: &[u8]) -> Walk {
    let mut all = Walk::default();
    let mut pos = 0;
    while pos < data.len() {
        let w = walk(data, pos);
        all.imports.extend(w.imports);
        all.computed.extend(w.computed);
        if let Some(e) = w.error {
            if pos == 0 {
                all.error = Some(e.clone());
            }
            search_globals(data, e.0, &mut all.imports);
            break;
        }
        pos = w.end;
        // A legacy torch file's tensor data follows its last pickle (only pickles start with PROTO);
        // whatever follows is searched for imports all the same.
        if pos < data.len() && data.get(pos) != Some(&0x80) {
            search_globals(data, pos, &mut all.imports);
            break;
        }
    }
    all
}

fn at(offset: usize) -> String {
    if offset == 0 {
        String::new()
    } else {
        format!(" (offset {offset})")
    }
}

/// Report the imports of a walk (`what`: how the file names them, for messages).
fn report(scan: &mut Scan, path: &str, w: &Walk, rules: (&str, &str, &str)) {
    let mut opaque = false;
    for imp in &w.imports {
        let q = format!("{}.{}", imp.module, imp.name);
        match classify(&imp.module, &imp.name) {
            Class::Safe => {}
            Class::Dangerous => scan.add(
                Finding::new(
                    rules.0,
                    Severity::High,
                    path,
                    format!(
                        "imports {q}{}: loading this file can run code",
                        at(imp.offset)
                    ),
                )
                .named(&q),
            ),
            Class::Opaque if !opaque => {
                opaque = true;
                scan.add(Finding::new(
                    rules.1,
                    Severity::High,
                    path,
                    format!("code pickled by value ({q}): it runs on load and no reviewer can read it. \
                             Log the model as code (the template's models-from-code) so its source can be scanned"),
                ).named(&q));
            }
            Class::Opaque => {}
            Class::Unknown => scan.add(
                Finding::new(
                    rules.2,
                    Severity::Medium,
                    path,
                    format!("imports {q}, which is on neither the safe nor the dangerous list"),
                )
                .named(&q),
            ),
        }
    }
    for &off in &w.computed {
        scan.add(Finding::new(
            rules.0,
            Severity::High,
            path,
            format!("STACK_GLOBAL at offset {off} with a computed name: the import cannot be known without running it"),
        ));
    }
}

/// A pickle file. `named`: its extension says pickle (so a file that does not parse is a finding).
pub fn scan(scan: &mut Scan, path: &str, data: &[u8], named: bool) {
    let w = walk_all(data);
    if let Some((off, why)) = w.error.as_ref().filter(|_| named) {
        if w.imports.is_empty() && *off < 2 {
            scan.add(Finding::new(
                "HV-PKL-INVALID",
                Severity::Low,
                path,
                format!("not a readable pickle ({why} at offset {off})"),
            ));
        }
    }
    report(
        scan,
        path,
        &w,
        ("HV-PKL-DANGEROUS", "HV-PKL-OPAQUE", "HV-PKL-UNKNOWN"),
    );
}

/// A `.npy` array: an object array (`'descr': '|O'`) holds a pickle after its header.
pub fn scan_npy(scan: &mut Scan, path: &str, data: &[u8]) {
    if !data.starts_with(b"\x93NUMPY") || data.len() < 10 {
        return;
    }
    let (hlen, start) = match data[6] {
        1 => (le(data, 8, 2).unwrap_or(0) as usize, 10),
        _ => (le(data, 8, 4).unwrap_or(0) as usize, 12),
    };
    let Some(header) = data.get(start..start + hlen) else {
        return;
    };
    let header = String::from_utf8_lossy(header);
    if header.contains("'|O'") || header.contains("\"|O\"") || header.contains("'O'") {
        let w = walk_all(&data[start + hlen..]);
        report(
            scan,
            path,
            &w,
            ("HV-PKL-DANGEROUS", "HV-PKL-OPAQUE", "HV-PKL-UNKNOWN"),
        );
    }
}

/// Every `(module, type)` a skops schema names.
fn skops_types(v: &serde_json::Value, out: &mut Vec<(String, String)>) {
    match v {
        serde_json::Value::Object(o) => {
            if let (Some(m), Some(c)) = (
                o.get("__module__").and_then(|v| v.as_str()),
                o.get("__class__").and_then(|v| v.as_str()),
            ) {
                out.push((m.to_string(), c.to_string()));
            }
            if let (Some(m), Some(f)) = (
                o.get("module_path").and_then(|v| v.as_str()),
                o.get("function").and_then(|v| v.as_str()),
            ) {
                out.push((m.to_string(), f.to_string()));
            }
            o.values().for_each(|v| skops_types(v, out));
        }
        serde_json::Value::Array(a) => a.iter().for_each(|v| skops_types(v, out)),
        _ => {}
    }
}

/// A skops file: a zip whose `schema.json` names every type it rebuilds (its `.npy` members are read too).
pub fn scan_skops(scan: &mut Scan, path: &str, data: &[u8], depth: u32) {
    use std::io::Read;
    let schema = zip::ZipArchive::new(std::io::Cursor::new(data))
        .ok()
        .and_then(|mut z| {
            let mut s = String::new();
            z.by_name("schema.json")
                .ok()?
                .take(64 << 20)
                .read_to_string(&mut s)
                .ok()?;
            serde_json::from_str::<serde_json::Value>(&s).ok()
        });
    let Some(schema) = schema else {
        scan.add(Finding::new(
            "HV-SKOPS-INVALID",
            Severity::High,
            path,
            "a skops file without a readable schema.json",
        ));
        return;
    };
    let mut types = Vec::new();
    skops_types(&schema, &mut types);
    let w = Walk {
        imports: types
            .into_iter()
            .map(|(module, name)| Import {
                module,
                name,
                offset: 0,
            })
            .collect(),
        ..Walk::default()
    };
    report(
        scan,
        path,
        &w,
        ("HV-SKOPS-DANGEROUS", "HV-SKOPS-OPAQUE", "HV-SKOPS-UNKNOWN"),
    );
    super::archive::scan_nested(scan, path, data, depth);
}
