//! Model-registry webhooks (§10): create, list, get, update, delete and test, the events the registry
//! fires, and the dispatcher that turns an event into deliveries to the active webhooks subscribed to it.

use diesel::prelude::*;

use super::validation as v;
use super::webhook_delivery::{self as wd, Sealer, Target};
use super::{now_ms, AppState};
use crate::db::models::{WebhookEventRow, WebhookRow};
use crate::db::schema::{webhook_events as we, webhooks as wh};
use crate::error::{ApiError, ApiResult};
use crate::search;
use crate::types::registry::{Webhook, WebhookEvent};
use crate::types::registry_requests::{CreateWebhook, UpdateWebhook};
use crate::types::requests::required;
use crate::{db_read, db_write};

/// Valid `(entity, action)` pairs, as MLflow 3.17.
pub use super::webhook_test::{outcome_ok, test_event};

const EVENTS: &[(&str, &[&str])] = &[
    ("REGISTERED_MODEL", &["CREATED"]),
    ("MODEL_VERSION", &["CREATED"]),
    ("MODEL_VERSION_TAG", &["SET", "DELETED"]),
    ("MODEL_VERSION_ALIAS", &["CREATED", "DELETED"]),
    ("PROMPT", &["CREATED"]),
    ("PROMPT_VERSION", &["CREATED"]),
    ("PROMPT_TAG", &["SET", "DELETED"]),
    ("PROMPT_VERSION_TAG", &["SET", "DELETED"]),
    ("PROMPT_ALIAS", &["CREATED", "DELETED"]),
    ("BUDGET_POLICY", &["EXCEEDED"]),
];

/// Webhook state shared by the app: the secret sealer and the delivery client.
#[derive(Default)]
pub struct Hooks {
    sealer: std::sync::OnceLock<Sealer>,
    http: std::sync::OnceLock<reqwest::Client>,
}

impl Hooks {
    /// The secret sealer and the delivery client are built on first use: seeding the crypto random
    /// generator and loading the TLS roots cost start-up time and memory a server without webhooks should
    /// not pay (W0).
    pub fn sealer(&self) -> &Sealer {
        self.sealer.get_or_init(Sealer::from_env)
    }

    pub fn http(&self) -> &reqwest::Client {
        self.http.get_or_init(wd::client)
    }
}

pub use super::webhook_jobs::fire_in;

/// The active webhooks subscribed to `(entity, action)`: `(webhook_id, target)`.
pub(super) fn targets_for(
    st: &AppState,
    entity: &str,
    action: &str,
) -> ApiResult<Vec<(String, Target)>> {
    let rows: Vec<WebhookRow> = db_read!(st.db, |conn| wh::table
        .filter(wh::workspace.eq(&*crate::workspace::effective()))
        .filter(wh::status.eq("ACTIVE"))
        .filter(wh::deleted_timestamp.is_null())
        .filter(diesel::dsl::exists(
            we::table.filter(
                we::webhook_id
                    .eq(wh::webhook_id)
                    .and(we::entity.eq(entity.to_ascii_lowercase()))
                    .and(we::action.eq(action.to_ascii_lowercase()))
            ),
        ))
        .select(crate::db::models::WebhookRow::as_select())
        .load(conn)?);
    Ok(rows
        .into_iter()
        .map(|r| (r.webhook_id.clone(), target_of(st, r)))
        .collect())
}

/// One webhook as a delivery target, if it is still active.
pub(super) fn active_target(st: &AppState, id: &str) -> ApiResult<Option<Target>> {
    let row: Option<WebhookRow> = db_read!(st.db, |conn| wh::table
        .find(id)
        .filter(wh::workspace.eq(&*crate::workspace::effective()))
        .filter(wh::status.eq("ACTIVE"))
        .filter(wh::deleted_timestamp.is_null())
        .select(crate::db::models::WebhookRow::as_select())
        .first(conn)
        .optional()?);
    Ok(row.map(|r| target_of(st, r)))
}

fn target_of(st: &AppState, r: WebhookRow) -> Target {
    Target {
        secret: r.secret.as_deref().and_then(|s| st.hooks.sealer().open(s)),
        url: r.url,
    }
}

pub(super) fn parse_event(e: &WebhookEvent) -> ApiResult<(&'static str, &'static str)> {
    let entity = e.entity.trim().to_ascii_uppercase();
    let action = e.action.trim().to_ascii_uppercase();
    let (name, actions) = EVENTS
        .iter()
        .find(|(n, _)| *n == entity)
        .ok_or_else(|| ApiError::invalid(format!("Invalid webhook entity '{}'", e.entity)))?;
    let action = actions.iter().find(|a| **a == action).ok_or_else(|| {
        let valid: Vec<String> = actions.iter().map(|a| a.to_ascii_lowercase()).collect();
        ApiError::invalid(format!(
            "Invalid action '{}' for entity '{}'. Valid actions are: {valid:?}",
            e.action.to_ascii_lowercase(),
            e.entity.to_ascii_lowercase()
        ))
    })?;
    Ok((name, action))
}

fn parse_events(events: &[WebhookEvent]) -> ApiResult<Vec<(&'static str, &'static str)>> {
    if events.is_empty() {
        return Err(ApiError::missing("events"));
    }
    let mut out: Vec<(&str, &str)> = events.iter().map(parse_event).collect::<ApiResult<_>>()?;
    out.sort();
    out.dedup();
    Ok(out)
}

fn parse_status(s: Option<&str>) -> ApiResult<Option<&'static str>> {
    s.filter(|s| !s.is_empty())
        .map(|s| v::parse_enum("status", s, &["ACTIVE", "DISABLED"], 0))
        .transpose()
}

fn not_found(id: &str) -> ApiError {
    ApiError::not_found(format!("Webhook with ID {id} not found"))
}

fn to_wire(r: WebhookRow, events: Vec<WebhookEventRow>) -> Webhook {
    Webhook {
        events: events.into_iter().map(event_to_wire).collect(),
        webhook_id: r.webhook_id,
        name: r.name,
        description: r.description,
        url: r.url,
        status: r.status,
        creation_timestamp: r.creation_timestamp,
        last_updated_timestamp: r.last_updated_timestamp,
    }
}

/// A stored event on the wire: MLflow stores them lowercase and shows them uppercase.
fn event_to_wire(e: WebhookEventRow) -> WebhookEvent {
    WebhookEvent {
        entity: e.entity.to_ascii_uppercase(),
        action: e.action.to_ascii_uppercase(),
    }
}

/// Event rows as MLflow stores them (lowercase; the wire has them uppercase).
fn event_rows(id: &str, events: &[(&str, &str)]) -> Vec<WebhookEventRow> {
    events
        .iter()
        .map(|(e, a)| WebhookEventRow {
            webhook_id: id.to_string(),
            entity: e.to_ascii_lowercase(),
            action: a.to_ascii_lowercase(),
        })
        .collect()
}

pub fn create(st: &AppState, req: &CreateWebhook) -> ApiResult<Webhook> {
    let name = required(&req.name, "name")?.to_string();
    let url = required(&req.url, "url")?.to_string();
    let events = parse_events(&req.events)?;
    let status = parse_status(req.status.as_deref())?.unwrap_or("ACTIVE");
    wd::check_url(&url)?;
    let secret = req
        .secret
        .as_deref()
        .filter(|s| !s.is_empty())
        .map(|s| st.hooks.sealer().seal(s))
        .transpose()?;
    let now = now_ms();
    let row = WebhookRow {
        webhook_id: uuid::Uuid::new_v4().to_string(),
        name,
        description: req.description.clone(),
        url,
        status: status.into(),
        secret,
        creation_timestamp: now,
        last_updated_timestamp: now,
        deleted_timestamp: None,
    };
    let id = row.webhook_id.clone();
    db_write!(st.db, |conn| {
        diesel::insert_into(wh::table)
            .values((
                row.clone(),
                wh::workspace.eq(&*crate::workspace::effective()),
            ))
            .execute(conn)?;
        diesel::insert_into(we::table)
            .values(&event_rows(&row.webhook_id, &events))
            .execute(conn)?;
        Ok(())
    })?;
    get(st, &id)
}

/// A webhook's row and events (404 when missing).
fn load(st: &AppState, id: &str) -> ApiResult<(WebhookRow, Vec<WebhookEventRow>)> {
    Ok(db_read!(st.db, |conn| {
        let row: Option<WebhookRow> = wh::table
            .find(id)
            .filter(wh::workspace.eq(&*crate::workspace::effective()))
            .filter(wh::deleted_timestamp.is_null())
            .select(crate::db::models::WebhookRow::as_select())
            .first(conn)
            .optional()?;
        let row = row.ok_or_else(|| not_found(id))?;
        let events: Vec<WebhookEventRow> = we::table.filter(we::webhook_id.eq(id)).load(conn)?;
        (row, events)
    }))
}

pub fn get(st: &AppState, id: &str) -> ApiResult<Webhook> {
    let (row, events) = load(st, id)?;
    Ok(to_wire(row, events))
}

/// The URL and opened secret of a webhook (for `test`).
pub fn target(st: &AppState, id: &str) -> ApiResult<(Target, Vec<WebhookEvent>)> {
    let (row, events) = load(st, id)?;
    let events = events.into_iter().map(event_to_wire).collect();
    Ok((target_of(st, row), events))
}

pub fn list(
    st: &AppState,
    max_results: Option<i64>,
    page_token: Option<&str>,
) -> ApiResult<(Vec<Webhook>, Option<String>)> {
    let max = v::search_max_results(max_results, 100, 1000)?;
    let offset = search::decode_page_token(page_token)?;
    let (mut rows, events) = db_read!(st.db, |conn| {
        let rows: Vec<WebhookRow> = wh::table
            .filter(wh::workspace.eq(&*crate::workspace::effective()))
            .filter(wh::deleted_timestamp.is_null())
            .order((wh::creation_timestamp, wh::webhook_id))
            .limit(max + 1)
            .offset(offset)
            .select(crate::db::models::WebhookRow::as_select())
            .load(conn)?;
        let ids: Vec<&str> = rows.iter().map(|r| r.webhook_id.as_str()).collect();
        let events: Vec<WebhookEventRow> =
            we::table.filter(we::webhook_id.eq_any(&ids)).load(conn)?;
        (rows, events)
    });
    let next = super::registry_search::page(&mut rows, max, offset);
    let hooks = rows
        .into_iter()
        .map(|r| {
            let mine = events
                .iter()
                .filter(|e| e.webhook_id == r.webhook_id)
                .cloned()
                .collect();
            to_wire(r, mine)
        })
        .collect();
    Ok((hooks, next))
}

pub fn update(st: &AppState, id: &str, req: &UpdateWebhook) -> ApiResult<Webhook> {
    let events = req.events.as_deref().map(parse_events).transpose()?;
    let status = parse_status(req.status.as_deref())?;
    if let Some(url) = req.url.as_deref() {
        wd::check_url(url)?;
    }
    let secret = req
        .secret
        .as_deref()
        .map(|s| {
            if s.is_empty() {
                Ok(None)
            } else {
                st.hooks.sealer().seal(s).map(Some)
            }
        })
        .transpose()?;
    let now = now_ms();
    db_write!(st.db, |conn| {
        let row: Option<WebhookRow> = wh::table
            .find(id)
            .filter(wh::workspace.eq(&*crate::workspace::effective()))
            .filter(wh::deleted_timestamp.is_null())
            .select(crate::db::models::WebhookRow::as_select())
            .first(conn)
            .optional()?;
        let mut row = row.ok_or_else(|| not_found(id))?;
        if let Some(n) = req.name.as_deref().filter(|n| !n.is_empty()) {
            row.name = n.to_string();
        }
        if let Some(d) = &req.description {
            row.description = Some(d.clone());
        }
        if let Some(u) = &req.url {
            row.url = u.clone();
        }
        if let Some(s) = status {
            row.status = s.to_string();
        }
        if let Some(s) = secret {
            row.secret = s;
        }
        diesel::update(
            wh::table
                .find(id)
                .filter(wh::workspace.eq(&*crate::workspace::effective())),
        )
        .set((
            wh::name.eq(&row.name),
            wh::description.eq(&row.description),
            wh::url.eq(&row.url),
            wh::status.eq(&row.status),
            wh::secret.eq(&row.secret),
            wh::last_updated_timestamp.eq(now),
        ))
        .execute(conn)?;
        if let Some(ev) = &events {
            diesel::delete(we::table.filter(we::webhook_id.eq(id))).execute(conn)?;
            diesel::insert_into(we::table)
                .values(&event_rows(id, ev))
                .execute(conn)?;
        }
        Ok(())
    })?;
    get(st, id)
}

pub fn delete(st: &AppState, id: &str) -> ApiResult<()> {
    db_write!(st.db, |conn| {
        let n = diesel::delete(
            wh::table
                .find(id)
                .filter(wh::workspace.eq(&*crate::workspace::effective()))
                .filter(wh::deleted_timestamp.is_null()),
        )
        .execute(conn)?;
        if n == 0 {
            return Err(not_found(id));
        }
        Ok(())
    })
}
