//! The basic-auth app's browser sign-up: `GET /signup` (a form with a CSRF token) and
//! `POST /api/2.0/mlflow/users/create-ui` (form-encoded, CSRF-checked), with MLflow 3.17.2's answers.

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};

use super::auth::viewer;
use super::{blocking, State};
use crate::auth::csrf::{Csrf, COOKIE};
use crate::auth::params::Params;
use crate::auth::users;
use crate::error::ApiResult;

/// Stock's `routes.SIGNUP` and `routes.HOME`.
const SIGNUP: &str = "/signup";
const HOME: &str = "/";

/// `POST users/create-ui` under the API prefixes.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/users/create-ui").route(web::post().to(create_user_ui)));
}

/// The value of the CSRF cookie, if the browser sent one.
fn session_cookie(req: &HttpRequest) -> Option<String> {
    req.headers()
        .get_all(header::COOKIE)
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(k, _)| *k == COOKIE)
        .map(|(_, v)| v.to_string())
}

fn html(status: actix_web::http::StatusCode, body: String) -> HttpResponse {
    HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .body(body)
}

/// `GET /signup`: the form, its token signed over this browser's session cookie (set when missing).
pub async fn signup(st: State, req: HttpRequest) -> ApiResult<HttpResponse> {
    viewer(&st, &req)?;
    let auth = st.auth.as_ref().expect("viewer() checked that auth is on");
    let (session, fresh) = match session_cookie(&req) {
        Some(s) if !s.is_empty() => (s, false),
        _ => (Csrf::session(), true),
    };
    let token = auth.csrf.token(&session);
    let action = format!(
        "{}/api/2.0/mlflow/users/create-ui",
        st.config.static_prefix.as_deref().unwrap_or("")
    );
    let mut resp = html(actix_web::http::StatusCode::OK, form(&action, &token));
    if fresh {
        let cookie = format!("{COOKIE}={session}; Path=/; HttpOnly; SameSite=Strict");
        resp.headers_mut().insert(
            header::SET_COOKIE,
            header::HeaderValue::from_str(&cookie).expect("base64url and ASCII"),
        );
    }
    Ok(resp)
}

fn form(action: &str, token: &str) -> String {
    format!(
        r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>MLflow sign up</title>
<style>
  form {{ background-color: #F5F5F5; border: 1px solid #CCCCCC; border-radius: 4px; padding: 20px;
         max-width: 400px; margin: 0 auto; font-family: Arial, sans-serif; font-size: 14px; line-height: 1.5; }}
  input[type=text], input[type=password] {{ width: 100%; padding: 10px; margin-bottom: 10px;
         border: 1px solid #CCCCCC; border-radius: 4px; box-sizing: border-box; }}
  input[type=submit] {{ background-color: rgb(34, 114, 180); color: #FFFFFF; border: none; border-radius: 4px;
         padding: 10px 20px; cursor: pointer; font-size: 16px; font-weight: bold; }}
</style></head><body>
<form action="{action}" method="post">
  <input type="hidden" name="csrf_token" value="{token}"/>
  <label for="username">Username:</label><br>
  <input type="text" id="username" name="username" minlength="4"><br>
  <label for="password">Password:</label><br>
  <input type="password" id="password" name="password" minlength="12"><br><br>
  <input type="submit" value="Sign up">
</form></body></html>
"#
    )
}

/// Stock's `alert(href)`: the message shown by the browser, then on to `href`. The message is a JSON
/// string with `<`, `>` and `&` escaped, so a username cannot end the script.
fn alert(message: &str, href: &str) -> HttpResponse {
    let js = serde_json::to_string(message)
        .unwrap_or_default()
        .replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026");
    html(
        actix_web::http::StatusCode::OK,
        format!(
            "<script type = \"text/javascript\">\n  alert({js});\n  window.location.href = \"{href}\";\n</script>\n"
        ),
    )
}

fn bad_request(message: &str) -> HttpResponse {
    html(
        actix_web::http::StatusCode::BAD_REQUEST,
        format!(
            "<!doctype html>\n<html lang=en>\n<title>400 Bad Request</title>\n<h1>Bad Request</h1>\n<p>{message}</p>\n"
        ),
    )
}

/// `POST users/create-ui`: the CSRF check first (as Flask-WTF's `csrf.protect()`), then stock's checks.
async fn create_user_ui(st: State, req: HttpRequest, body: web::Bytes) -> ApiResult<HttpResponse> {
    viewer(&st, &req)?;
    let auth = st.auth.as_ref().expect("viewer() checked that auth is on");
    let form = Params::parse(&String::from_utf8_lossy(&body), b"");
    if let Err(refusal) = auth.csrf.verify(
        session_cookie(&req).as_deref(),
        form.get("csrf_token").as_deref(),
    ) {
        return Ok(bad_request(refusal.message()));
    }
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if content_type != "application/x-www-form-urlencoded" {
        return Ok(HttpResponse::BadRequest()
            .body("Invalid content type. Must be application/x-www-form-urlencoded"));
    }
    let (username, password) = (
        form.get("username").unwrap_or_default(),
        form.get("password").unwrap_or_default(),
    );
    if username.is_empty() || password.is_empty() {
        return Ok(HttpResponse::BadRequest().body("Username and password cannot be empty."));
    }
    let created = blocking(st, move |s| {
        if users::find(&s.db, &username)?.is_some() {
            return Ok(Err(username));
        }
        users::create(&s.db, &username, &password, false).map(|u| Ok(u.username))
    })
    .await?;
    Ok(match created {
        Ok(u) => alert(&format!("Successfully signed up user: {u}"), HOME),
        Err(u) => alert(&format!("Username has already been taken: {u}"), SIGNUP),
    })
}
