//! The dashboard at `/serving/`: one plain server-rendered page listing every registered model with its
//! versions, aliases, stages, scan status, source-run metrics, EvalAI origin and links.

use super::catalog::Model;

pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// What a URL path segment must escape (RFC 3986's unreserved characters stay as they are).
const SEGMENT: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// A path segment, percent-encoded.
pub fn seg(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, SEGMENT).to_string()
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:2rem;color:#1a1a1a}\
table{border-collapse:collapse;width:100%;margin-bottom:2rem}th,td{border-bottom:1px solid #ddd;\
padding:.4rem .6rem;text-align:left;vertical-align:top}th{background:#f4f4f4}code{font-size:.85em}\
.passed{color:#0a7a2f;font-weight:600}.failed,.error{color:#b00020;font-weight:600}\
.pending,.missing{color:#8a6d00;font-weight:600}h2{margin-bottom:.2rem}p.desc{margin-top:0;color:#555}";

/// The page; `prefix` is the server's `--static-prefix` (or empty).
pub fn render(models: &[Model], prefix: &str) -> String {
    let served: usize = models
        .iter()
        .map(|m| m.versions.iter().filter(|v| v.served()).count())
        .sum();
    let mut h = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Harvester: served models</title>\
         <style>{STYLE}</style></head><body><h1>Served models</h1>\
         <p>{} registered models, {served} versions served. <a href=\"{prefix}/serving/docs/\">Swagger UI</a> · \
         <a href=\"{prefix}/serving/openapi.json\">index document</a> · <a href=\"{prefix}/\">MLflow UI</a></p>",
        models.len()
    );
    if models.is_empty() {
        h.push_str("<p id=\"empty\">No registered models yet.</p>");
    }
    for m in models {
        let name = seg(&m.name);
        h.push_str(&format!(
            "<section class=\"model\" data-model=\"{}\"><h2>{}</h2><p class=\"desc\">{}</p>",
            esc(&m.name),
            esc(&m.name),
            esc(&m.description)
        ));
        h.push_str("<table><tr><th>version</th><th>stage</th><th>aliases</th><th>scan</th><th>metrics</th><th>EvalAI</th><th>links</th></tr>");
        for v in &m.versions {
            let base = format!("{prefix}/serving/{name}/{}", v.version);
            let metrics: Vec<String> = v
                .metrics
                .iter()
                .map(|(k, x)| format!("{}={x}", esc(k)))
                .collect();
            let evalai = match (&v.team, &v.submission) {
                (None, None) => String::new(),
                (t, s) => format!(
                    "team {}, submission {}",
                    esc(t.as_deref().unwrap_or("?")),
                    esc(s.as_deref().unwrap_or("?"))
                ),
            };
            let links = if v.served() {
                format!(
                    "<a class=\"swagger\" href=\"{prefix}/serving/docs/?urls.primaryName={}\">Swagger</a> · \
                     <a href=\"{prefix}/#/models/{name}/versions/{}\">MLflow UI</a> · \
                     <code class=\"invoke\">POST {base}/invocations</code>",
                    seg(&format!("{} v{}", m.name, v.version)),
                    v.version
                )
            } else {
                format!(
                    "<a href=\"{prefix}/#/models/{name}/versions/{}\">MLflow UI</a> · not served",
                    v.version
                )
            };
            h.push_str(&format!(
                "<tr class=\"version\"><td>{}</td><td>{}</td><td>{}</td>\
                 <td><a class=\"{}\" href=\"{prefix}/api/harvester/v1/scans/{name}/{}\">{}</a></td>\
                 <td>{}</td><td>{}</td><td>{}</td></tr>",
                v.version,
                esc(&v.stage),
                esc(&v
                    .aliases
                    .iter()
                    .map(|a| format!("@{a}"))
                    .collect::<Vec<_>>()
                    .join(" ")),
                esc(&v.status),
                v.version,
                esc(&v.status),
                metrics.join("<br>"),
                evalai,
                links
            ));
        }
        h.push_str("</table></section>");
    }
    h.push_str("</body></html>");
    h
}
