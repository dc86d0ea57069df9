//! Python source through Ruff's parser: imports and simple assignments are resolved first (so
//! `from os import system as s; s(...)` is `os.system`), then every call, reference and import is
//! checked against `python_rules`. Only names that resolve to the module or builtin a rule names are
//! findings: `model.eval()`, `df.eval(...)` and a variable `exec_time` are not. `# nosec` is not honoured
//! (the code's author would write it). A file that does not parse is reported and still checked as far
//! as the parser recovered.

use std::collections::{HashMap, HashSet};

use ruff_python_ast::visitor::{self, Visitor};
use ruff_python_ast::{Expr, ExprCall, Stmt};
use ruff_python_parser::parse_unchecked_source;
use ruff_text_size::Ranged;

use super::python_rules::{self as rules, When};
use super::{Finding, Scan, Severity};

struct Lines<'a> {
    src: &'a str,
    starts: Vec<usize>,
}

impl<'a> Lines<'a> {
    fn new(src: &'a str) -> Lines<'a> {
        let mut starts = vec![0];
        starts.extend(src.match_indices('\n').map(|(i, _)| i + 1));
        Lines { src, starts }
    }
    /// The 1-based line of a byte offset and its text.
    fn at(&self, offset: usize) -> (u32, &'a str) {
        let i = self
            .starts
            .partition_point(|&s| s <= offset)
            .saturating_sub(1);
        let end = self.starts.get(i + 1).map_or(self.src.len(), |e| e - 1);
        (
            i as u32 + 1,
            &self.src[self.starts[i]..end.max(self.starts[i])],
        )
    }
}

/// What the first pass learns about the names of a file.
#[derive(Default)]
struct Names {
    /// Local name → the qualified name it stands for.
    aliases: HashMap<String, String>,
    /// Modules imported with `*`.
    star: Vec<String>,
    /// Names bound by the file itself (so `eval` is not the builtin).
    bound: HashSet<String>,
    /// Names assigned the result of a decode (base64, zlib, …).
    decoded: HashSet<String>,
}

fn normalise(q: &str) -> String {
    for (from, to) in rules::SAME_MODULE {
        if q == *from {
            return to.to_string();
        }
        if let Some(rest) = q.strip_prefix(from).and_then(|r| r.strip_prefix('.')) {
            return format!("{to}.{rest}");
        }
    }
    q.to_string()
}

fn literal(e: &Expr) -> Option<&str> {
    match e {
        Expr::StringLiteral(s) => Some(s.value.to_str()),
        _ => None,
    }
}

impl Names {
    fn resolve(&self, e: &Expr) -> Option<String> {
        let q = match e {
            Expr::Name(n) => {
                let id = n.id.as_str();
                if let Some(q) = self.aliases.get(id) {
                    q.clone()
                } else if id == "__builtins__" {
                    "builtins".into()
                } else if rules::BUILTINS.contains(&id) && !self.bound.contains(id) {
                    format!("builtins.{id}")
                } else {
                    let hit = self.star.iter().map(|m| format!("{m}.{id}")).find(|q| {
                        rules::find(rules::CALLS, &normalise(q)).is_some()
                            || rules::find(rules::REFERENCES, &normalise(q)).is_some()
                    });
                    hit?
                }
            }
            Expr::Attribute(a) => format!("{}.{}", self.resolve(&a.value)?, a.attr.as_str()),
            Expr::Call(c) => {
                let f = self.resolve(&c.func)?;
                let arg0 = c.arguments.find_positional(0);
                match f.as_str() {
                    "builtins.__import__" | "importlib.import_module" => {
                        literal(arg0?)?.to_string()
                    }
                    "builtins.getattr" => {
                        let base = self.resolve(arg0?)?;
                        format!("{base}.{}", literal(c.arguments.find_positional(1)?)?)
                    }
                    _ => return None,
                }
            }
            Expr::Subscript(s) => {
                let base = self.resolve(&s.value)?;
                let key = literal(&s.slice)?;
                match base.as_str() {
                    "sys.modules" => key.to_string(),
                    "builtins" | "builtins.__dict__" => format!("builtins.{key}"),
                    _ => return None,
                }
            }
            _ => return None,
        };
        Some(normalise(&q))
    }

    /// Does `e` decode data (or use a name that holds decoded data)?
    fn decodes(&self, e: &Expr) -> bool {
        struct Find<'n> {
            names: &'n Names,
            hit: bool,
        }
        impl<'a> Visitor<'a> for Find<'_> {
            fn visit_expr(&mut self, e: &'a Expr) {
                match e {
                    Expr::Name(n) if self.names.decoded.contains(n.id.as_str()) => self.hit = true,
                    Expr::Call(c) => {
                        if let Some(q) = self.names.resolve(&c.func) {
                            if rules::DECODERS.iter().any(|p| rules::matches(p, &q)) {
                                self.hit = true;
                            }
                        }
                        if let Expr::Attribute(a) = &*c.func {
                            let codec = c
                                .arguments
                                .find_positional(0)
                                .and_then(literal)
                                .unwrap_or("");
                            if a.attr.as_str() == "decode"
                                && matches!(
                                    codec,
                                    "rot13" | "rot_13" | "hex" | "base64" | "zlib" | "bz2"
                                )
                            {
                                self.hit = true;
                            }
                        }
                    }
                    _ => {}
                }
                if !self.hit {
                    visitor::walk_expr(self, e);
                }
            }
        }
        let mut f = Find {
            names: self,
            hit: false,
        };
        f.visit_expr(e);
        f.hit
    }
}

/// First pass: imports, bindings and decoded names, in source order.
impl<'a> Visitor<'a> for Names {
    fn visit_stmt(&mut self, s: &'a Stmt) {
        match s {
            Stmt::Import(i) => {
                for a in &i.names {
                    let full = a.name.as_str();
                    match &a.asname {
                        Some(local) => self.aliases.insert(local.as_str().into(), full.into()),
                        None => {
                            let top = full.split('.').next().unwrap_or(full);
                            self.aliases.insert(top.into(), top.into())
                        }
                    };
                }
            }
            Stmt::ImportFrom(i) if i.level == 0 => {
                let module = i.module.as_ref().map(|m| m.as_str()).unwrap_or("");
                for a in &i.names {
                    if a.name.as_str() == "*" {
                        self.star.push(module.into());
                        continue;
                    }
                    let local = a.asname.as_ref().unwrap_or(&a.name).as_str();
                    self.aliases
                        .insert(local.into(), format!("{module}.{}", a.name.as_str()));
                }
            }
            Stmt::FunctionDef(f) => {
                self.bound.insert(f.name.as_str().into());
            }
            Stmt::ClassDef(c) => {
                self.bound.insert(c.name.as_str().into());
            }
            Stmt::Assign(a) => {
                let q = self.resolve(&a.value);
                let decoded = self.decodes(&a.value);
                for t in &a.targets {
                    if let Expr::Name(n) = t {
                        let id = n.id.as_str().to_string();
                        match &q {
                            Some(q) => {
                                self.aliases.insert(id.clone(), q.clone());
                            }
                            None => {
                                self.aliases.remove(&id);
                                self.bound.insert(id.clone());
                            }
                        }
                        if decoded {
                            self.decoded.insert(id);
                        }
                    }
                }
            }
            _ => {}
        }
        visitor::walk_stmt(self, s);
    }
}

/// Is `e` a path outside the model directory: an absolute or home path, or one through `..`?
fn outside(e: &Expr) -> bool {
    let text = |s: &str| {
        s.starts_with('/')
            || s.starts_with('~')
            || s.starts_with("\\\\")
            || s.split(['/', '\\']).any(|c| c == "..")
            || (s.len() > 2 && s.as_bytes()[1] == b':' && s.as_bytes()[0].is_ascii_alphabetic())
    };
    match e {
        Expr::StringLiteral(s) => text(s.value.to_str()),
        Expr::FString(f) => f.value.iter().next().is_some_and(|p| match p {
            ruff_python_ast::FStringPart::Literal(l) => text(&l.value),
            ruff_python_ast::FStringPart::FString(f) => {
                f.elements.literals().next().is_some_and(|l| text(&l.value))
            }
        }),
        Expr::BinOp(b) => outside(&b.left),
        _ => false,
    }
}

struct Check<'a, 's> {
    names: &'a Names,
    lines: &'a Lines<'a>,
    path: &'a str,
    scan: &'a mut Scan<'s>,
}

impl Check<'_, '_> {
    fn report(&mut self, id: &str, sev: Severity, offset: usize, what: &str) {
        let (line, text) = self.lines.at(offset);
        let f = Finding::new(id, sev, self.path, what).at(line, text);
        self.scan.add(f);
    }

    fn call(&mut self, c: &ExprCall) {
        let Some(q) = self.names.resolve(&c.func) else {
            return;
        };
        let args = &c.arguments;
        let Some(rule) = rules::find(rules::CALLS, &q) else {
            return;
        };
        let truthy = |e: &Expr| {
            !matches!(e, Expr::BooleanLiteral(b) if !b.value) && !matches!(e, Expr::NoneLiteral(_))
        };
        let kw = |name: &str| args.find_keyword(name).map(|k| &k.value);
        let (id, fire) = match rule.when {
            When::Always => (rule.id, true),
            When::ComputedName => (
                rule.id,
                args.find_positional(0).is_none_or(|a| literal(a).is_none()),
            ),
            When::Shell => match kw("shell").filter(|v| truthy(v)) {
                Some(_) => ("B602", true),
                None => (rule.id, true),
            },
            When::UnsafeLoader => {
                let loader = args
                    .find_argument_value("Loader", 1)
                    .and_then(|l| self.names.resolve(l));
                let safe = loader.is_some_and(|l| {
                    matches!(
                        l.as_str(),
                        "yaml.SafeLoader" | "yaml.CSafeLoader" | "yaml.BaseLoader"
                    )
                });
                (rule.id, !safe)
            }
            When::NotWeightsOnly => (
                rule.id,
                !kw("weights_only")
                    .is_some_and(|v| matches!(v, Expr::BooleanLiteral(b) if b.value)),
            ),
            When::AllowPickle => (rule.id, kw("allow_pickle").is_some_and(truthy)),
            When::WritesOutside => {
                let mode = args
                    .find_argument_value("mode", 1)
                    .and_then(literal)
                    .unwrap_or("r");
                let writes = mode.contains(['w', 'a', 'x', '+']);
                (
                    rule.id,
                    writes && args.find_argument_value("file", 0).is_some_and(outside),
                )
            }
            When::PathOutside => (rule.id, args.args.iter().any(outside)),
            When::ComputedAttr => {
                let base = args.find_positional(0).and_then(|b| self.names.resolve(b));
                let name = args.find_positional(1);
                let module = base.is_some_and(|b| !b.contains('.') || b.starts_with("builtins"));
                (
                    rule.id,
                    module && name.is_some_and(|n| literal(n).is_none()),
                )
            }
        };
        if !fire {
            return;
        }
        let what = format!("{q}: {}", rule.what);
        self.report(id, rule.severity, c.start().to_usize(), &what);
        if matches!(
            q.as_str(),
            "builtins.eval" | "builtins.exec" | "builtins.compile"
        ) && args.args.iter().any(|a| self.names.decodes(a))
        {
            self.report(
                "HV-PY-OBFUSCATED",
                Severity::High,
                c.start().to_usize(),
                &format!("{q} runs decoded data: obfuscated code"),
            );
        }
    }
}

impl<'a> Visitor<'a> for Check<'_, '_> {
    fn visit_stmt(&mut self, s: &'a Stmt) {
        let modules: Vec<(&str, usize)> = match s {
            Stmt::Import(i) => i
                .names
                .iter()
                .map(|a| (a.name.as_str(), a.start().to_usize()))
                .collect(),
            Stmt::ImportFrom(i) if i.level == 0 => i
                .module
                .iter()
                .map(|m| (m.as_str(), s.start().to_usize()))
                .collect(),
            _ => Vec::new(),
        };
        for (m, at) in modules {
            if let Some(rule) = rules::import_rule(m) {
                self.report(
                    rule.id,
                    rule.severity,
                    at,
                    &format!("import {m}: {}", rule.what),
                );
            }
        }
        visitor::walk_stmt(self, s);
    }

    fn visit_expr(&mut self, e: &'a Expr) {
        match e {
            Expr::Call(c) => {
                self.call(c);
                // A dangerous function handed over as a value: `map(os.system, cmds)`.
                for a in c
                    .arguments
                    .args
                    .iter()
                    .chain(c.arguments.keywords.iter().map(|k| &k.value))
                {
                    if matches!(a, Expr::Name(_) | Expr::Attribute(_)) {
                        if let Some(q) = self.names.resolve(a) {
                            if let Some(rule) =
                                rules::find(rules::CALLS, &q).filter(|r| r.when == When::Always)
                            {
                                self.report(
                                    rule.id,
                                    rule.severity,
                                    a.start().to_usize(),
                                    &format!("{q} passed as a callable: {}", rule.what),
                                );
                            }
                        }
                    }
                }
            }
            Expr::Name(_) | Expr::Attribute(_) => {
                if let Some(q) = self.names.resolve(e) {
                    if let Some(rule) = rules::find(rules::REFERENCES, &q) {
                        self.report(
                            rule.id,
                            rule.severity,
                            e.start().to_usize(),
                            &format!("{q}: {}", rule.what),
                        );
                    }
                }
            }
            _ => {}
        }
        visitor::walk_expr(self, e);
    }
}

pub fn scan(scan: &mut Scan, path: &str, data: &[u8]) {
    let src = String::from_utf8_lossy(data);
    let parsed = parse_unchecked_source(&src, ruff_python_ast::PySourceType::Python);
    let lines = Lines::new(&src);
    if let Some(err) = parsed.errors().first() {
        let (line, text) = lines.at(err.location.start().to_usize());
        scan.add(
            Finding::new(
                "HV-PY-SYNTAX",
                Severity::Low,
                path,
                format!("does not parse as Python: {}", err.error),
            )
            .at(line, text),
        );
    }
    let module = parsed.syntax();
    let mut names = Names::default();
    names.visit_body(&module.body);
    let mut check = Check {
        names: &names,
        lines: &lines,
        path,
        scan,
    };
    check.visit_body(&module.body);
}

/// The competition template's interface in `src`: a class with `predict(self, context, model_input,
/// params=None)`, and a `set_model(...)` call. `Err` says what is missing.
pub fn template_interface(src: &str) -> Result<(), String> {
    let parsed = parse_unchecked_source(src, ruff_python_ast::PySourceType::Python);
    let module = parsed.syntax();
    let mut predicts = Vec::new();
    for s in &module.body {
        if let Stmt::ClassDef(c) = s {
            for m in &c.body {
                if let Stmt::FunctionDef(f) = m {
                    if f.name.as_str() == "predict" {
                        let names: Vec<&str> = f
                            .parameters
                            .posonlyargs
                            .iter()
                            .chain(&f.parameters.args)
                            .map(|p| p.parameter.name.as_str())
                            .collect();
                        predicts.push(names);
                    }
                }
            }
        }
    }
    let want = ["self", "context", "model_input", "params"];
    if predicts.is_empty() {
        return Err("no class defines predict(self, context, model_input, params=None)".into());
    }
    if !predicts.iter().any(|p| p.as_slice() == want) {
        return Err(format!(
            "predict takes ({}), not the template's (self, context, model_input, params=None)",
            predicts[0].join(", ")
        ));
    }
    if !src.contains("set_model(") {
        return Err("the file does not call mlflow.models.set_model(...)".into());
    }
    Ok(())
}
