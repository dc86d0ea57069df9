//! The registry searches' shared part: MLflow's prompt exclusion, filter, order and page on the one search
//! builder (registered models and model versions differ only in their target and anti-join).

use super::registered_models::IS_PROMPT;
use super::registry_read as rr;
use super::validation as v;
use super::AppState;
use crate::error::ApiResult;
use crate::search::{self, parse, Bind, SqlBuf, Target};
use crate::types::registry_requests::SearchRegistry;

/// Filter, prompt exclusion, order and page of a registry search, as SQL selecting `t.table.*`.
/// Unless the filter asks for prompts (`tags.mlflow.prompt.is_prompt = 'true'` or `!= 'false'`), rows
/// of models tagged as prompts are excluded and other conditions on that tag are dropped.
pub fn registry_query(
    st: &AppState,
    t: &Target,
    req: &SearchRegistry,
    exclude_prompts: &str,
    (default_max, max_max): (i64, i64),
    visible: &crate::auth::visible::Visible,
) -> ApiResult<(SqlBuf, i64, i64)> {
    let max = v::search_max_results(req.max_results, default_max, max_max)?;
    let offset = search::decode_page_token(req.page_token.as_deref())?;
    let mut filter = parse::parse_filter(req.filter.as_deref().unwrap_or(""))?;
    let is_tag = |c: &parse::Comparison| {
        matches!(c.prefix.as_deref(), Some("tag" | "tags")) && c.key == IS_PROMPT
    };
    let asks_prompts = filter.iter().any(|c| {
        is_tag(c)
            && matches!((&c.op, &c.value), (parse::Op::Eq, parse::Value::Str(s)) if s.eq_ignore_ascii_case("true"))
            || is_tag(c)
                && matches!((&c.op, &c.value), (parse::Op::Ne, parse::Value::Str(s)) if s.eq_ignore_ascii_case("false"))
    });
    if !asks_prompts {
        filter.retain(|c| !is_tag(c));
    }
    let order = req
        .order_by
        .iter()
        .filter(|o| !o.trim().is_empty())
        .map(|o| parse::parse_order_by(o))
        .collect::<ApiResult<Vec<_>>>()?;
    let mut buf = SqlBuf::new(st.db.dialect);
    buf.push(&format!(
        "SELECT {0}.* FROM {0} WHERE {0}.workspace = ",
        t.table
    ))
    .bind(Bind::Text(crate::workspace::effective().to_string()));
    if t.table == "model_versions" {
        buf.push(" AND model_versions.current_stage <> ")
            .bind(Bind::Text(rr::DELETED_STAGE.into()));
    }
    if !asks_prompts {
        buf.push(exclude_prompts);
        buf.bind(Bind::Text(IS_PROMPT.into())).push(")");
    }
    visible.push(&mut buf, &format!("{}.name", t.table), false);
    search::sql::push_where(&mut buf, t, &filter)?;
    search::sql::push_order_by(&mut buf, t, &order)?;
    buf.push(&format!(" LIMIT {} OFFSET {}", max + 1, offset));
    Ok((buf, max, offset))
}

/// The next page token, after trimming the one look-ahead row.
pub fn page<T>(rows: &mut Vec<T>, max: i64, offset: i64) -> Option<String> {
    if rows.len() as i64 > max {
        rows.truncate(max as usize);
        Some(search::encode_page_token(offset + max))
    } else {
        None
    }
}
