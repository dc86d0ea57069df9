//! The content type of an artifact download, as MLflow's `_guess_mime_type` chooses it: known text
//! files (by extension, or `MLmodel`/`mlproject` by name) are `text/plain` without a charset, then the
//! extension's registered type, then `application/octet-stream`.

use actix_web::mime::{self, Mime};

/// `get_text_extensions()` of MLflow 3.17, plus the two extension-less model and project files.
const TEXT: [&str; 26] = [
    "txt",
    "log",
    "err",
    "cfg",
    "conf",
    "cnf",
    "cf",
    "ini",
    "properties",
    "prop",
    "hocon",
    "toml",
    "yaml",
    "yml",
    "xml",
    "json",
    "js",
    "py",
    "py3",
    "csv",
    "tsv",
    "md",
    "rst",
    "ipynb",
    "MLmodel",
    "mlproject",
];

pub fn mime_type(file_name: &str) -> Mime {
    // os.path.splitext: a leading dot does not start an extension.
    let ext = match file_name.rfind('.') {
        Some(i) if file_name[..i].chars().any(|c| c != '.') => &file_name[i + 1..],
        _ => "",
    };
    let key = if ext.is_empty() { file_name } else { ext };
    if TEXT.contains(&key) {
        return mime::TEXT_PLAIN;
    }
    if ext.is_empty() {
        return mime::APPLICATION_OCTET_STREAM;
    }
    actix_files::file_extension_to_mime(&ext.to_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    use super::mime_type;

    #[test]
    fn like_mlflow() {
        for (name, want) in [
            ("a.txt", "text/plain"),
            ("b.pkl", "application/octet-stream"),
            ("c.png", "image/png"),
            ("d.pdf", "application/pdf"),
            ("MLmodel", "text/plain"),
            ("mlproject", "text/plain"),
            ("conda.yaml", "text/plain"),
            ("noext", "application/octet-stream"),
            (".hidden", "application/octet-stream"),
        ] {
            assert_eq!(mime_type(name).essence_str(), want, "{name}");
            assert!(mime_type(name).get_param("charset").is_none());
        }
    }
}

/// Werkzeug's token characters: a file name made only of these goes unquoted.
const TOKEN: &str = "!#$%&'*+-.0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ^_`abcdefghijklmnopqrstuvwxyz|~";

/// `quote_header_value(value, allow_token=True)`.
fn quote_header_value(v: &str) -> String {
    if v.is_empty() {
        return "\"\"".into();
    }
    if v.chars().all(|c| TOKEN.contains(c)) {
        return v.to_string();
    }
    format!("\"{}\"", v.replace('\\', "\\\\").replace('"', "\\\""))
}

/// `Content-Disposition` of a download, as MLflow's `_content_disposition_attachment` writes it: the
/// name bare when it is a token, quoted otherwise, and for a non-ASCII name an ASCII fallback plus the
/// RFC 5987 `filename*` (the fallback keeps the ASCII characters; MLflow first applies NFKD, so `é`
/// becomes `e` there and is dropped here).
pub fn content_disposition(file_name: &str) -> String {
    if file_name.is_ascii() {
        return format!("attachment; filename={}", quote_header_value(file_name));
    }
    use percent_encoding::{utf8_percent_encode, NON_ALPHANUMERIC};
    const ATTR: &percent_encoding::AsciiSet = &NON_ALPHANUMERIC
        .remove(b'!')
        .remove(b'#')
        .remove(b'$')
        .remove(b'&')
        .remove(b'+')
        .remove(b'-')
        .remove(b'.')
        .remove(b'^')
        .remove(b'_')
        .remove(b'`')
        .remove(b'|')
        .remove(b'~');
    let ascii: String = file_name.chars().filter(char::is_ascii).collect();
    let fallback = if ascii.is_empty() {
        "download".to_string()
    } else {
        ascii
    };
    format!(
        "attachment; filename={}; filename*=UTF-8''{}",
        quote_header_value(&fallback),
        utf8_percent_encode(file_name, ATTR)
    )
}

#[cfg(test)]
mod disposition_tests {
    use super::content_disposition;

    #[test]
    fn like_mlflow() {
        assert_eq!(
            content_disposition("dog+step+20+timestamp+100.png"),
            "attachment; filename=dog+step+20+timestamp+100.png"
        );
        assert_eq!(
            content_disposition("a b.txt"),
            "attachment; filename=\"a b.txt\""
        );
        assert_eq!(
            content_disposition("日本.txt"),
            "attachment; filename=.txt; filename*=UTF-8''%E6%97%A5%E6%9C%AC.txt"
        );
    }
}
