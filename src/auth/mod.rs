//! Authentication and permissions: MLflow 3.17's basic-auth app (users, roles, grants, its config
//! file and its answers) on every route, fail-closed. `rules` says what each request needs, `check`
//! decides it, `users`/`grants` are the store and `middleware` is where every request passes.

/// `db_write!` for users, roles and grants: once it returns, what the gate cached about users is stale.
macro_rules! auth_write {
    ($db:expr, |$conn:ident| $body:expr) => {{
        let r = (|| -> $crate::error::ApiResult<_> { $crate::db_write!($db, |$conn| $body) })();
        $crate::auth::cache::changed();
        r
    }};
}

pub mod after;
pub mod cache;
pub mod check;
pub mod config;
pub mod csrf;
pub mod grants;
pub mod jwt;
pub mod limiter;
pub mod middleware;
pub mod params;
pub mod password;
pub mod permission;
pub mod resolve;
pub mod roles;
pub mod rules;
pub mod users;
pub mod visible;

pub use config::{AuthConfig, AuthFlags};
pub use permission::{Action, Permission};

/// The auth app's state, shared by every request.
pub struct Auth {
    pub config: AuthConfig,
    pub verified: password::Verified,
    pub limiter: limiter::Limiter,
    /// Bearer tokens, when a key is configured.
    pub jwt: Option<jwt::Jwt>,
    /// The sign-up form's CSRF tokens.
    pub csrf: csrf::Csrf,
    /// Users, grants and owners remembered between requests.
    pub cache: cache::Cache,
}

impl Auth {
    pub fn new(config: AuthConfig, jwt: Option<jwt::Jwt>) -> Auth {
        Auth {
            csrf: csrf::Csrf::new(config.form_secret.as_deref()),
            config,
            verified: password::Verified::default(),
            limiter: limiter::Limiter::default(),
            jwt,
            cache: cache::Cache::default(),
        }
    }
}

/// The authenticated user of a request (in its extensions, for handlers).
#[derive(Debug, Clone)]
pub struct Viewer {
    pub id: i32,
    pub username: String,
    pub is_admin: bool,
    /// A bearer token's scopes (`None`: basic credentials or an unscoped token).
    pub scopes: Option<Vec<String>>,
    /// Every grant the user holds (in the request's workspace), as read when the request came in.
    pub grants: std::sync::Arc<[grants::Grant]>,
    /// What the user holds where no grant speaks: `None` for `default_permission`; with workspaces on,
    /// `NO_PERMISSIONS` (the workspace boundary), except in `default` with `grant_default_workspace_access`.
    pub absent: Option<Permission>,
}

impl Viewer {
    pub fn of(known: &cache::Known, scopes: Option<Vec<String>>, cfg: &AuthConfig) -> Viewer {
        Viewer {
            id: known.row.id,
            username: known.row.username.clone(),
            is_admin: known.row.is_admin,
            scopes,
            grants: known.grants.clone(),
            absent: absent_here(cfg),
        }
    }

    /// Another user, read now (to answer what that user may do).
    pub fn read(db: &crate::db::Db, row: users::UserRow) -> crate::error::ApiResult<Viewer> {
        Ok(Viewer {
            grants: grants::all_of_user(db, row.id)?.into(),
            id: row.id,
            username: row.username,
            is_admin: row.is_admin,
            scopes: None,
            absent: None,
        })
    }

    /// The user's permission where its grants fold to `folded`: a grant floored by `default`, else
    /// [`Viewer::absent`] or `default`.
    pub fn floor(&self, folded: Option<Permission>, default: Permission) -> Permission {
        match folded {
            None => self.absent.unwrap_or(default),
            g => Permission::floor(g, default),
        }
    }

    /// Whether the user may create in the request's workspace: always with workspaces off; with them on,
    /// a workspace-wide grant of USE or more (or the inherited default in `default`), as MLflow's
    /// `_can_create_in_workspace`.
    pub fn may_create(&self, default: Permission) -> bool {
        if crate::workspace::current().is_none() {
            return true;
        }
        let wide = grants::fold_for(&self.grants, "workspace", "*");
        self.floor(wide, default).allows(Action::Use)
    }
}

fn absent_here(cfg: &AuthConfig) -> Option<Permission> {
    let ws = crate::workspace::current()?;
    if &*ws == crate::workspace::DEFAULT && cfg.grant_default_workspace_access {
        return None;
    }
    Some(Permission::NoPermissions)
}

impl Viewer {
    /// Whether the token's scopes let this request through (`rule` having allowed the user).
    pub fn scope_allows(&self, rule: rules::Rule, method: &str, path: &str) -> bool {
        let Some(scopes) = &self.scopes else {
            return true;
        };
        scopes.iter().any(|s| {
            if s == "read" {
                return rules::is_read(rule, method, path);
            }
            match (s.strip_prefix("serve:invoke:"), rule) {
                (Some(model), rules::Rule::Needs(rules::Target::ModelInPath("/serving/"), _)) => {
                    resolve::segment_after(path, "/serving/").as_deref() == Some(model)
                }
                _ => false,
            }
        })
    }
}
