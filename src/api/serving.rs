//! Handlers of `/serving/`: invocations, ping and the OpenAPI document of each served version, the
//! index document, Swagger UI and the dashboard.

use std::sync::Arc;

use actix_web::{http::StatusCode, web, HttpRequest, HttpResponse};
use serde_json::{json, Value};

use super::{blocking, State};
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::serving::dashboard::seg;
use crate::serving::{catalog, dashboard, openapi, refs, Serving};
use crate::types::registry::ModelVersion;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/serving/{model}/{ref}/invocations").route(web::post().to(invocations)),
    )
    .service(web::resource("/serving/{model}/{ref}/ping").route(web::get().to(ping)))
    .service(web::resource("/serving/{model}/{ref}/openapi.json").route(web::get().to(document)))
    .service(web::resource("/serving/openapi.json").route(web::get().to(index)))
    .service(web::resource("/serving/workers.json").route(web::get().to(workers)))
    .service(web::resource("/serving/").route(web::get().to(page)))
    .service(web::resource("/serving").route(web::get().to(|| async { redirect("serving/") })))
    .service(web::resource("/serving/docs").route(web::get().to(|| async { redirect("docs/") })))
    .service(web::resource("/serving/docs/{tail:.*}").route(web::get().to(swagger)));
}

fn redirect(to: &str) -> HttpResponse {
    HttpResponse::Found()
        .insert_header(("Location", to.to_string()))
        .finish()
}

fn serving(st: &State) -> ApiResult<Arc<Serving>> {
    st.serving.clone().ok_or_else(|| {
        ApiError::new(
            ErrorCode::ENDPOINT_NOT_FOUND,
            "Serving is turned off on this server",
        )
    })
}

fn prefix(st: &State) -> String {
    st.config.static_prefix.clone().unwrap_or_default()
}

/// Resolve `{model}/{ref}` and apply the scan gate.
async fn gated(st: &State, path: web::Path<(String, String)>) -> ApiResult<ModelVersion> {
    let (name, r) = path.into_inner();
    blocking(st.clone(), move |s| {
        let mv = refs::resolve(s, &name, &r)?;
        refs::gate(s, &mv)?;
        Ok(mv)
    })
    .await
}

/// Predict with a served version, as `mlflow models serve` 3.17.2 does (`dataframe_split`,
/// `dataframe_records`, `instances` or `inputs`, optional `params`; or CSV). Each version's own document
/// (`…/openapi.json`) has the typed request schema.
#[utoipa::path(post, path = "/serving/{model}/{ref}/invocations", tag = "serving", params(("model" = String, Path, description = "registered model name"), ("ref" = String, Path, description = "a version number, @alias, a stage (Production, Staging) or latest")),
    request_body(content = Object, content_type = "application/json"),
    responses((status = 200, description = "`{\"predictions\": …}`"), (status = 400, body = crate::error::ErrorBody),
              (status = 403, description = "the version's scan has not passed", body = crate::error::ErrorBody),
              (status = 415, description = "unsupported content type"), (status = 504, description = "request timeout")))]
pub async fn invocations(
    st: State,
    req: HttpRequest,
    path: web::Path<(String, String)>,
    body: web::Bytes,
) -> ApiResult<HttpResponse> {
    let srv = serving(&st)?;
    let mv = gated(&st, path).await?;
    let ct = req
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let reply = srv.invoke(&st, &mv, &ct, body).await?;
    let mut ct = reply.content_type;
    if ct.starts_with("text/") && !ct.contains("charset") {
        ct.push_str("; charset=utf-8");
    }
    Ok(HttpResponse::build(
        StatusCode::from_u16(reply.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
    )
    .content_type(ct)
    .insert_header(("X-Harvester-Model-Version", mv.version.clone()))
    .body(reply.body))
}

/// 200 once the version's model is loaded (starts its worker).
#[utoipa::path(get, path = "/serving/{model}/{ref}/ping", tag = "serving", params(("model" = String, Path, description = "registered model name"), ("ref" = String, Path, description = "a version number, @alias, a stage (Production, Staging) or latest")),
    responses((status = 200, description = "loaded"), (status = 403, body = crate::error::ErrorBody)))]
pub async fn ping(st: State, path: web::Path<(String, String)>) -> ApiResult<HttpResponse> {
    let srv = serving(&st)?;
    let mv = gated(&st, path).await?;
    srv.ready(&st, &mv).await?;
    Ok(HttpResponse::Ok()
        .content_type("application/json")
        .body("\n"))
}

/// The version's OpenAPI 3.1 document, generated from its signature.
#[utoipa::path(get, path = "/serving/{model}/{ref}/openapi.json", tag = "serving", params(("model" = String, Path, description = "registered model name"), ("ref" = String, Path, description = "a version number, @alias, a stage (Production, Staging) or latest")),
    responses((status = 200, body = Object), (status = 403, body = crate::error::ErrorBody)))]
pub async fn document(st: State, path: web::Path<(String, String)>) -> ApiResult<HttpResponse> {
    let srv = serving(&st)?;
    let r = path.1.clone();
    let mv = gated(&st, path).await?;
    let (model, example) = srv.describe(&st, &mv).await?;
    let (name, run) = (mv.name.clone(), mv.run_id.clone());
    let (description, metrics) = blocking(st.clone(), move |s| {
        let d = crate::service::registered_models::get(s, &name)?.description;
        let metrics = match run {
            Some(r) if !r.is_empty() => crate::service::runs::get(s, &r)
                .map(|run| {
                    run.data
                        .metrics
                        .into_iter()
                        .map(|m| (m.key, m.value))
                        .collect()
                })
                .unwrap_or_default(),
            _ => vec![],
        };
        Ok((d, metrics))
    })
    .await?;
    let about = openapi::About {
        mv: &mv,
        model_description: description.as_deref(),
        metrics: &metrics,
        example,
        base: format!("{}/serving/{}/{}", prefix(&st), seg(&mv.name), seg(&r)),
    };
    Ok(HttpResponse::Ok().json(openapi::document(&model, &about)))
}

/// Every served version, and where its document is.
/// The catalogue, as far as the request's user may read it (everything with auth off or for an admin).
async fn readable_models(st: State, http: &HttpRequest) -> ApiResult<Vec<catalog::Model>> {
    let who = super::viewer(http);
    blocking(st, move |s| {
        let visible = super::visible(s, who.as_ref(), "registered_model")?;
        let mut models = catalog::list(s)?;
        models.retain(|m| visible.allows(&m.name));
        Ok(models)
    })
    .await
}

fn served(models: &[catalog::Model], prefix: &str) -> Vec<(String, String)> {
    let mut out = vec![];
    for m in models {
        for v in m.versions.iter().filter(|v| v.served()) {
            out.push((
                format!("{} v{}", m.name, v.version),
                format!(
                    "{prefix}/serving/{}/{}/openapi.json",
                    seg(&m.name),
                    v.version
                ),
            ));
        }
    }
    out
}

/// The index document: every served version, with its invocation URL and its own document.
#[utoipa::path(get, path = "/serving/openapi.json", tag = "serving", responses((status = 200, body = Object)))]
pub async fn index(st: State, http: HttpRequest) -> ApiResult<HttpResponse> {
    serving(&st)?;
    let p = prefix(&st);
    let models = readable_models(st, &http).await?;
    let list: Vec<Value> = models
        .iter()
        .flat_map(|m| {
            let p = p.clone();
            m.versions.iter().filter(|v| v.served()).map(move |v| {
                let base = format!("{p}/serving/{}/{}", seg(&m.name), v.version);
                json!({"name": m.name, "version": v.version.to_string(), "stage": v.stage,
                       "aliases": v.aliases, "openapi": format!("{base}/openapi.json"),
                       "invocations": format!("{base}/invocations")})
            })
        })
        .collect();
    let mut paths = serde_json::Map::new();
    for m in &list {
        let url = m["invocations"].as_str().unwrap_or_default().to_string();
        paths.insert(url, json!({"post": {
            "summary": format!("Predict with {} v{} (its own document: {})", m["name"].as_str().unwrap_or(""), m["version"].as_str().unwrap_or(""), m["openapi"].as_str().unwrap_or("")),
            "requestBody": {"content": {"application/json": {"schema": {"type": "object"}}, "text/csv": {"schema": {"type": "string"}}}},
            "responses": {"200": {"description": "predictions"}}}}));
    }
    Ok(HttpResponse::Ok().json(json!({
        "openapi": "3.1.0",
        "info": {"title": "Harvester: served models", "version": env!("CARGO_PKG_VERSION"),
                 "description": "Every served model version; each has its own document, generated from its signature."},
        "paths": paths,
        "x-harvester-models": list,
    })))
}

/// The running workers: which version, cold start, idle time and resident memory.
#[utoipa::path(get, path = "/serving/workers.json", tag = "serving", responses((status = 200, body = Object)))]
pub async fn workers(st: State) -> ApiResult<HttpResponse> {
    let srv = serving(&st)?;
    let mut list: Vec<Value> = srv
        .pool
        .running()
        .into_iter()
        .map(|r| {
            json!({"name": r.key.0, "version": r.key.1.to_string(),
                   "cold_start_ms": r.cold_start.as_millis() as u64,
                   "idle_ms": r.idle.as_millis() as u64, "rss_kib": r.rss_kib})
        })
        .collect();
    list.sort_by_key(|w| (w["name"].to_string(), w["version"].to_string()));
    Ok(HttpResponse::Ok().json(json!({"workers": list})))
}

/// The dashboard of every registered model (HTML).
#[utoipa::path(get, path = "/serving/", tag = "serving", responses((status = 200, content_type = "text/html", body = String)))]
pub async fn page(st: State, http: HttpRequest) -> ApiResult<HttpResponse> {
    serving(&st)?;
    let p = prefix(&st);
    let models = readable_models(st, &http).await?;
    Ok(HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .body(dashboard::render(&models, &p)))
}

/// Swagger UI for every served version (offline), `index.html` and its files.
#[utoipa::path(get, path = "/serving/docs/{tail}", tag = "serving",
    params(("tail" = String, Path, description = "a Swagger UI file; empty for the page")),
    responses((status = 200, description = "the file"), (status = 404, body = crate::error::ErrorBody)))]
pub async fn swagger(
    st: State,
    http: HttpRequest,
    tail: web::Path<String>,
) -> ApiResult<HttpResponse> {
    serving(&st)?;
    let p = prefix(&st);
    let models = readable_models(st, &http).await?;
    let urls = served(&models, &p);
    let config =
        utoipa_swagger_ui::Config::new(urls.iter().map(|(n, u)| utoipa_swagger_ui::Url::new(n, u)))
            .try_it_out_enabled(true);
    let tail = tail.into_inner();
    let file = if tail.is_empty() {
        "index.html"
    } else {
        tail.as_str()
    };
    match utoipa_swagger_ui::serve(file, Arc::new(config)) {
        Ok(Some(f)) => Ok(HttpResponse::Ok()
            .content_type(f.content_type)
            .body(f.bytes.into_owned())),
        Ok(None) => Err(ApiError::not_found(format!("No Swagger UI file '{file}'"))),
        Err(e) => Err(ApiError::internal(format!("Swagger UI: {e}"))),
    }
}
