//! The one filter and `order_by` parser for every MLflow search API (runs, experiments, registry, logged models).
//!
//! A filter is `<comparison> [AND <comparison>]*`; a comparison is `<identifier> <op> <value>`, where the
//! identifier is `<prefix>.<key>` or a bare attribute, and keys may be quoted with backticks or double quotes.

use crate::error::{ApiError, ApiResult};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Like,
    ILike,
    In,
    NotIn,
    IsNull,
    IsNotNull,
}

impl Op {
    pub fn as_str(self) -> &'static str {
        match self {
            Op::Eq => "=",
            Op::Ne => "!=",
            Op::Lt => "<",
            Op::Le => "<=",
            Op::Gt => ">",
            Op::Ge => ">=",
            Op::Like => "LIKE",
            Op::ILike => "ILIKE",
            Op::In => "IN",
            Op::NotIn => "NOT IN",
            Op::IsNull => "IS NULL",
            Op::IsNotNull => "IS NOT NULL",
        }
    }
    pub fn is_numeric_cmp(self) -> bool {
        matches!(self, Op::Eq | Op::Ne | Op::Lt | Op::Le | Op::Gt | Op::Ge)
    }
    pub fn is_string_cmp(self) -> bool {
        matches!(self, Op::Eq | Op::Ne | Op::Like | Op::ILike)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Str(String),
    Num(f64),
    List(Vec<String>),
    None,
}

/// One parsed comparison. `prefix` is what the user wrote before the dot (lower-cased), or `None`.
#[derive(Debug, Clone, PartialEq)]
pub struct Comparison {
    pub prefix: Option<String>,
    pub key: String,
    pub op: Op,
    pub value: Value,
}

/// One parsed `order_by` item.
#[derive(Debug, Clone, PartialEq)]
pub struct OrderItem {
    pub prefix: Option<String>,
    pub key: String,
    pub ascending: bool,
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Ident(Option<String>, String),
    Str(String),
    Num(f64),
    Op(String),
    Word(String),
    LParen,
    RParen,
    Comma,
}

fn invalid_filter(filter: &str, why: &str) -> ApiError {
    ApiError::invalid(format!("Invalid filter '{filter}': {why}"))
}

fn read_quoted(chars: &[char], i: &mut usize, q: char) -> Option<String> {
    let mut out = String::new();
    *i += 1;
    while *i < chars.len() {
        let c = chars[*i];
        if c == '\\' && *i + 1 < chars.len() && chars[*i + 1] == q {
            out.push(q);
            *i += 2;
            continue;
        }
        if c == q {
            if *i + 1 < chars.len() && chars[*i + 1] == q && q == '\'' {
                out.push(q);
                *i += 2;
                continue;
            }
            *i += 1;
            return Some(out);
        }
        out.push(c);
        *i += 1;
    }
    None
}

fn is_ident_char(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '_' | '.' | '-' | ':' | '/')
}

fn tokenize(filter: &str) -> ApiResult<Vec<Tok>> {
    let chars: Vec<char> = filter.chars().collect();
    let mut toks = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            c if c.is_whitespace() => i += 1,
            '(' => {
                toks.push(Tok::LParen);
                i += 1
            }
            ')' => {
                toks.push(Tok::RParen);
                i += 1
            }
            ',' => {
                toks.push(Tok::Comma);
                i += 1
            }
            '\'' => {
                let s = read_quoted(&chars, &mut i, '\'')
                    .ok_or_else(|| invalid_filter(filter, "unterminated string"))?;
                toks.push(Tok::Str(s));
            }
            '"' | '`' => {
                let s = read_quoted(&chars, &mut i, c)
                    .ok_or_else(|| invalid_filter(filter, "unterminated quote"))?;
                // A quoted token is a key when an operator follows, else a string value (handled by the parser).
                if c == '`' {
                    toks.push(Tok::Ident(None, s));
                } else {
                    toks.push(Tok::Str(s));
                }
            }
            '=' | '!' | '<' | '>' => {
                let mut op = c.to_string();
                if i + 1 < chars.len() && matches!(chars[i + 1], '=' | '>') {
                    op.push(chars[i + 1]);
                    i += 1;
                }
                i += 1;
                let op = if op == "==" {
                    "=".to_string()
                } else if op == "<>" {
                    "!=".to_string()
                } else {
                    op
                };
                if !matches!(op.as_str(), "=" | "!=" | "<" | "<=" | ">" | ">=") {
                    return Err(invalid_filter(filter, &format!("unknown operator '{op}'")));
                }
                toks.push(Tok::Op(op));
            }
            c if c.is_ascii_digit()
                || ((c == '-' || c == '+' || c == '.')
                    && i + 1 < chars.len()
                    && (chars[i + 1].is_ascii_digit() || chars[i + 1] == '.')) =>
            {
                let start = i;
                i += 1;
                while i < chars.len()
                    && (chars[i].is_ascii_alphanumeric() || matches!(chars[i], '.' | '-' | '+'))
                {
                    if matches!(chars[i], '-' | '+') && !matches!(chars[i - 1], 'e' | 'E') {
                        break;
                    }
                    i += 1;
                }
                let text: String = chars[start..i].iter().collect();
                let n: f64 = text
                    .parse()
                    .map_err(|_| invalid_filter(filter, &format!("'{text}' is not a number")))?;
                toks.push(Tok::Num(n));
            }
            c if is_ident_char(c) => {
                let start = i;
                while i < chars.len() && is_ident_char(chars[i]) {
                    i += 1;
                }
                let word: String = chars[start..i].iter().collect();
                // `prefix."quoted key"` or prefix.`quoted key`
                if word.ends_with('.') && i < chars.len() && matches!(chars[i], '"' | '`') {
                    let q = chars[i];
                    let key = read_quoted(&chars, &mut i, q)
                        .ok_or_else(|| invalid_filter(filter, "unterminated quote"))?;
                    toks.push(Tok::Ident(
                        Some(word.trim_end_matches('.').to_ascii_lowercase()),
                        key,
                    ));
                } else if let Some((p, k)) = word.split_once('.') {
                    toks.push(Tok::Ident(Some(p.to_ascii_lowercase()), k.to_string()));
                } else {
                    toks.push(Tok::Word(word));
                }
            }
            other => {
                return Err(invalid_filter(
                    filter,
                    &format!("unexpected character '{other}'"),
                ))
            }
        }
    }
    Ok(toks)
}

/// Parse a whole filter string into its conjunction of comparisons. An empty filter is no comparison.
/// At most this many comparisons in one filter. Each one is a join or subquery; on PostgreSQL 80 of
/// them took a second and 400 ran for minutes, and SQLite refuses about 990 (expression depth), so a
/// longer filter is refused with a 400 before any SQL runs.
pub const MAX_CLAUSES: usize = 50;
/// At most this many values in one `IN (…)` list (each is a bound parameter).
pub const MAX_IN_VALUES: usize = 1000;

pub fn parse_filter(filter: &str) -> ApiResult<Vec<Comparison>> {
    let toks = tokenize(filter)?;
    let mut out = Vec::new();
    let mut i = 0;
    while i < toks.len() {
        if out.len() >= MAX_CLAUSES {
            return Err(ApiError::invalid(format!(
                "Invalid filter string: more than {MAX_CLAUSES} comparisons. Split the search or narrow it."
            )));
        }
        if !out.is_empty() {
            match &toks[i] {
                Tok::Word(w) if w.eq_ignore_ascii_case("and") => i += 1,
                Tok::Word(w) if w.eq_ignore_ascii_case("or") => {
                    return Err(ApiError::invalid(format!(
                        "Invalid clause(s) in filter string: '{w}'"
                    )))
                }
                _ => return Err(invalid_filter(filter, "expected AND between comparisons")),
            }
        }
        let (prefix, key) = match toks.get(i) {
            Some(Tok::Ident(p, k)) => (p.clone(), k.clone()),
            Some(Tok::Word(w)) => (None, w.clone()),
            Some(Tok::Str(s)) => (None, s.clone()),
            _ => return Err(invalid_filter(filter, "expected an identifier")),
        };
        i += 1;
        let op = match toks.get(i) {
            Some(Tok::Op(o)) => match o.as_str() {
                "=" => Op::Eq,
                "!=" => Op::Ne,
                "<" => Op::Lt,
                "<=" => Op::Le,
                ">" => Op::Gt,
                _ => Op::Ge,
            },
            Some(Tok::Word(w)) => {
                let w1 = w.to_ascii_uppercase();
                let next = |j: usize| match toks.get(j) {
                    Some(Tok::Word(x)) => x.to_ascii_uppercase(),
                    _ => String::new(),
                };
                match w1.as_str() {
                    "LIKE" => Op::Like,
                    "ILIKE" => Op::ILike,
                    "IN" => Op::In,
                    "NOT" if next(i + 1) == "IN" => {
                        i += 1;
                        Op::NotIn
                    }
                    "IS" if next(i + 1) == "NULL" => {
                        i += 1;
                        Op::IsNull
                    }
                    "IS" if next(i + 1) == "NOT" && next(i + 2) == "NULL" => {
                        i += 2;
                        Op::IsNotNull
                    }
                    _ => return Err(invalid_filter(filter, &format!("invalid comparator '{w}'"))),
                }
            }
            _ => return Err(invalid_filter(filter, "expected a comparator")),
        };
        i += 1;
        let value = match op {
            Op::IsNull | Op::IsNotNull => Value::None,
            Op::In | Op::NotIn => {
                if toks.get(i) != Some(&Tok::LParen) {
                    return Err(invalid_filter(
                        filter,
                        "expected a list like ('a', 'b') after IN",
                    ));
                }
                i += 1;
                let mut items = Vec::new();
                loop {
                    match toks.get(i) {
                        Some(Tok::Str(s)) => items.push(s.clone()),
                        Some(Tok::Num(n)) => items.push(fmt_num(*n)),
                        Some(Tok::RParen) if items.is_empty() => {
                            return Err(invalid_filter(filter, "an IN list must not be empty"))
                        }
                        _ => return Err(invalid_filter(filter, "malformed IN list")),
                    }
                    if items.len() > MAX_IN_VALUES {
                        return Err(ApiError::invalid(format!(
                            "Invalid filter string: an IN list may hold at most {MAX_IN_VALUES} values"
                        )));
                    }
                    i += 1;
                    match toks.get(i) {
                        Some(Tok::Comma) => i += 1,
                        Some(Tok::RParen) => break,
                        _ => return Err(invalid_filter(filter, "malformed IN list")),
                    }
                }
                i += 1;
                Value::List(items)
            }
            _ => {
                let v = match toks.get(i) {
                    Some(Tok::Str(s)) => Value::Str(s.clone()),
                    Some(Tok::Num(n)) => Value::Num(*n),
                    _ => {
                        return Err(invalid_filter(
                            filter,
                            "expected a quoted string or a number",
                        ))
                    }
                };
                i += 1;
                v
            }
        };
        out.push(Comparison {
            prefix,
            key,
            op,
            value,
        });
    }
    Ok(out)
}

fn fmt_num(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() < 1e15 {
        format!("{}", n as i64)
    } else {
        n.to_string()
    }
}

/// Parse one `order_by` item: `<identifier> [ASC|DESC]`.
pub fn parse_order_by(item: &str) -> ApiResult<OrderItem> {
    let bad = || ApiError::invalid(format!("Invalid order_by clause '{item}'."));
    let toks = tokenize(item).map_err(|_| bad())?;
    let (prefix, key) = match toks.first() {
        Some(Tok::Ident(p, k)) => (p.clone(), k.clone()),
        Some(Tok::Word(w)) => (None, w.clone()),
        Some(Tok::Str(s)) => (None, s.clone()),
        _ => return Err(bad()),
    };
    let ascending = match toks.get(1) {
        None => true,
        Some(Tok::Word(w)) if w.eq_ignore_ascii_case("asc") => true,
        Some(Tok::Word(w)) if w.eq_ignore_ascii_case("desc") => false,
        _ => return Err(bad()),
    };
    if toks.len() > 2 {
        return Err(bad());
    }
    Ok(OrderItem {
        prefix,
        key,
        ascending,
    })
}
