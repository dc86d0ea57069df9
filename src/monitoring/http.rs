//! The HTTP side of the metrics: a middleware that counts and times every request by its route template
//! (never the raw path, so ids do not become labels), and the `/metrics` endpoint.

use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{web, HttpResponse};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};

use super::{JobLabels, KindLabels, LatencyLabels, ModelLabels, RouteLabels, StatusLabels};
use crate::error::{ApiError, ApiResult};
use crate::service::AppState;

pub async fn record(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let Some(m) = super::get() else {
        return next.call(req).await;
    };
    let method = req.method().as_str().to_string();
    let started = Instant::now();
    m.in_flight.inc();
    let res = next.call(req).await;
    m.in_flight.dec();
    let (route, status) = match &res {
        Ok(r) => (
            r.request()
                .match_pattern()
                .unwrap_or_else(|| "unmatched".into()),
            r.status().as_u16(),
        ),
        Err(e) => (
            "unmatched".into(),
            e.as_response_error().status_code().as_u16(),
        ),
    };
    m.latency
        .get_or_create(&LatencyLabels {
            method: method.clone(),
            route: route.clone(),
        })
        .observe(started.elapsed().as_secs_f64());
    m.requests
        .get_or_create(&RouteLabels {
            method,
            route,
            status,
        })
        .inc();
    res
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = Text)]
    a: String,
    #[diesel(sql_type = Text)]
    b: String,
    #[diesel(sql_type = BigInt)]
    n: i64,
}

/// The shared queue's state, read at scrape time.
fn refresh(st: &AppState) -> ApiResult<()> {
    let Some(m) = super::get() else {
        return Ok(());
    };
    let (size, idle) = st.db.pool_state();
    m.pool_size.set(i64::from(size));
    m.pool_idle.set(i64::from(idle));
    let now = crate::service::now_ms();
    let (jobs, lag, scans): (Vec<Count>, Vec<Count>, Vec<Count>) = crate::db_read!(
        st.db,
        |conn| {
            let jobs = diesel::sql_query(
                "SELECT kind AS a, state AS b, CAST(count(*) AS BIGINT) AS n FROM harvester_jobs \
             GROUP BY kind, state",
            )
            .load(conn)?;
            // `now` is this process's clock (an integer): no placeholder, the same text on both backends.
            let lag = diesel::sql_query(format!(
            "SELECT kind AS a, '' AS b, CAST(min(run_after) AS BIGINT) AS n FROM harvester_jobs \
             WHERE state = 'queued' AND run_after <= {now} GROUP BY kind"
        ))
            .load(conn)?;
            let scans = diesel::sql_query(
            "SELECT status AS a, '' AS b, CAST(count(*) AS BIGINT) AS n FROM harvester_scans GROUP BY status",
        )
        .load(conn)?;
            Ok::<_, ApiError>((jobs, lag, scans))
        }
    )?;
    m.jobs.clear();
    for j in jobs {
        m.jobs
            .get_or_create(&JobLabels {
                kind: j.a,
                state: j.b,
            })
            .set(j.n);
    }
    m.job_lag.clear();
    for l in lag {
        m.job_lag
            .get_or_create(&KindLabels { kind: l.a })
            .set((now - l.n).max(0) / 1000);
    }
    m.serving_workers.clear();
    if let Some(serving) = &st.serving {
        for w in serving.pool.running() {
            m.serving_workers
                .get_or_create(&ModelLabels { model: w.key.0 })
                .inc();
        }
    }
    m.scans.clear();
    for s in scans {
        m.scans
            .get_or_create(&StatusLabels { status: s.a })
            .set(s.n);
    }
    Ok(())
}

/// `GET /metrics`: the exposition (OpenMetrics text, which Prometheus scrapes natively).
pub async fn metrics(st: web::Data<AppState>) -> ApiResult<HttpResponse> {
    let Some(m) = super::get() else {
        return Err(ApiError::new(
            crate::error::ErrorCode::ENDPOINT_NOT_FOUND,
            "Metrics are off: start the server with --expose-prometheus DIR or HARVESTER_METRICS=true",
        ));
    };
    let st = st.into_inner();
    web::block(move || refresh(&st))
        .await
        .map_err(|e| ApiError::internal(format!("worker failed: {e}")))??;
    Ok(HttpResponse::Ok()
        .content_type("application/openmetrics-text; version=1.0.0; charset=utf-8")
        .body(m.encode()))
}
