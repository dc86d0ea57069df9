//! `/graphql` over HTTP: the schema (built once, with depth and complexity limits), the UI's GET and POST
//! forms, and MLflow's envelope around whatever the resolvers answered.

use std::sync::OnceLock;

use actix_web::{web, HttpRequest, HttpResponse};
use async_graphql::{EmptySubscription, Schema};

use super::{limits, MlflowSchema, Mutation, Query};
use crate::api::State;

fn schema() -> &'static MlflowSchema {
    static SCHEMA: OnceLock<MlflowSchema> = OnceLock::new();
    SCHEMA.get_or_init(|| {
        Schema::build(Query, Mutation, EmptySubscription)
            .limit_depth(10)
            .limit_complexity(1000)
            .finish()
    })
}

/// Drop `@component(name: "…")`, the UI's operation directive, which carries no meaning for the server.
fn strip_component_directive(query: &str) -> String {
    let mut out = String::with_capacity(query.len());
    let mut rest = query;
    while let Some(i) = rest.find("@component(") {
        out.push_str(&rest[..i]);
        rest = &rest[i..];
        match rest.find(')') {
            Some(j) => rest = &rest[j + 1..],
            None => break,
        }
    }
    out.push_str(rest);
    out
}

/// MLflow's envelope: `{"data": …, "errors": [message, …] | null}`, errors as plain strings.
fn envelope(data: serde_json::Value, errors: Vec<String>) -> HttpResponse {
    let errors = (!errors.is_empty()).then_some(errors);
    HttpResponse::Ok().json(serde_json::json!({ "data": data, "errors": errors }))
}

async fn execute(st: State, http: &HttpRequest, mut req: async_graphql::Request) -> HttpResponse {
    if let Some(v) = crate::api::viewer(http) {
        req = req.data(v);
    }
    req.query = strip_component_directive(&req.query);
    if let Some(refusal) = limits::check(&req.query) {
        return envelope(serde_json::Value::Null, vec![refusal]);
    }
    let resp = schema().execute(req.data(st)).await;
    let mut data = serde_json::to_value(&resp.data).unwrap_or(serde_json::Value::Null);
    null_failed_roots(&mut data, &resp.errors);
    envelope(data, resp.errors.into_iter().map(|e| e.message).collect())
}

/// A root field whose resolver failed is `null` in `data`, as graphene answers (async-graphql leaves it
/// out, and `data` null when no field succeeded). Errors without a path (a query that does not
/// validate) leave `data` as it is.
fn null_failed_roots(data: &mut serde_json::Value, errors: &[async_graphql::ServerError]) {
    for e in errors {
        let Some(async_graphql::PathSegment::Field(key)) = e.path.first() else {
            continue;
        };
        if data.is_null() {
            *data = serde_json::Value::Object(Default::default());
        }
        if let Some(obj) = data.as_object_mut() {
            obj.entry(key.clone()).or_insert(serde_json::Value::Null);
        }
    }
}

pub async fn post(st: State, http: HttpRequest, body: web::Bytes) -> HttpResponse {
    match serde_json::from_slice::<async_graphql::Request>(&body) {
        Ok(req) => execute(st, &http, req).await,
        Err(e) => HttpResponse::BadRequest().json(
            serde_json::json!({"errors": [{"message": format!("Invalid GraphQL request: {e}")}]}),
        ),
    }
}

pub async fn get(st: State, http: HttpRequest) -> HttpResponse {
    #[derive(serde::Deserialize)]
    struct Q {
        query: String,
        #[serde(rename = "operationName")]
        operation_name: Option<String>,
        variables: Option<String>,
    }
    let q = match web::Query::<Q>::from_query(http.query_string()) {
        Ok(q) => q.into_inner(),
        Err(e) => {
            return HttpResponse::BadRequest()
                .json(serde_json::json!({"errors": [{"message": e.to_string()}]}))
        }
    };
    let mut req = async_graphql::Request::new(q.query);
    if let Some(op) = q.operation_name {
        req = req.operation_name(op);
    }
    if let Some(v) = q.variables.and_then(|v| serde_json::from_str(&v).ok()) {
        req = req.variables(async_graphql::Variables::from_json(v));
    }
    execute(st, &http, req).await
}

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/graphql")
            .route(web::post().to(post))
            .route(web::get().to(get)),
    );
}
