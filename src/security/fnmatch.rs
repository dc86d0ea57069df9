//! Python's `fnmatch` for Host and Origin patterns, translated to a regular expression as
//! `fnmatch.translate` does.

use regex::Regex;

/// An fnmatch pattern (`*`, `?`, `[…]`) or, without `*`, an exact string: MLflow matches hosts and
/// origins with `fnmatch.fnmatch` only when the pattern holds a `*`.
#[derive(Debug, Clone)]
pub enum Pattern {
    Exact(String),
    Glob(Regex),
}

impl Pattern {
    pub fn new(p: &str) -> Pattern {
        if !p.contains('*') {
            return Pattern::Exact(p.to_string());
        }
        match Regex::new(&fnmatch_regex(p)) {
            Ok(r) => Pattern::Glob(r),
            Err(_) => Pattern::Exact(p.to_string()),
        }
    }
    pub fn matches(&self, s: &str) -> bool {
        match self {
            Pattern::Exact(e) => e == s,
            Pattern::Glob(r) => r.is_match(s),
        }
    }
}

/// Python's `fnmatch.translate`: `*` any run, `?` one character, `[seq]`/`[!seq]` a class.
fn fnmatch_regex(p: &str) -> String {
    let chars: Vec<char> = p.chars().collect();
    let mut out = String::from("(?s)^");
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        i += 1;
        match c {
            '*' => out.push_str(".*"),
            '?' => out.push('.'),
            '[' => {
                let mut j = i;
                if j < chars.len() && chars[j] == '!' {
                    j += 1;
                }
                if j < chars.len() && chars[j] == ']' {
                    j += 1;
                }
                while j < chars.len() && chars[j] != ']' {
                    j += 1;
                }
                if j >= chars.len() {
                    out.push_str("\\[");
                } else {
                    let (negate, inner) = match chars[i..j].split_first() {
                        Some(('!', rest)) => (true, rest),
                        _ => (false, &chars[i..j]),
                    };
                    // Inside a class Rust's regex reads `[`, `&&`, `~~` and `^` specially; escape them
                    // (every ASCII punctuation may be escaped), keeping `-` for ranges.
                    let mut body = String::from(if negate { "^" } else { "" });
                    for c in inner {
                        if c.is_ascii_punctuation() && *c != '-' {
                            body.push('\\');
                        }
                        body.push(*c);
                    }
                    out.push('[');
                    out.push_str(&body);
                    out.push(']');
                    i = j + 1;
                }
            }
            other => out.push_str(&regex::escape(&other.to_string())),
        }
    }
    out.push('$');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnmatch_classes() {
        let r = Regex::new(&fnmatch_regex("[[]::1]:*")).unwrap();
        assert!(r.is_match("[::1]:5000"));
        let r = Regex::new(&fnmatch_regex("h[!x]st.*")).unwrap();
        assert!(r.is_match("host.a") && !r.is_match("hxst.a"));
    }
}
