//! Authentication and permissions: MLflow 3.17's basic-auth app (users, roles, grants, its config
//! file and its answers) on every route, fail-closed. `rules` says what each request needs, `check`
//! decides it, `users`/`grants` are the store and `middleware` is where every request passes.

pub mod check;
pub mod config;
pub mod grants;
pub mod middleware;
pub mod password;
pub mod permission;
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
}

impl Auth {
    pub fn new(config: AuthConfig) -> Auth {
        Auth {
            config,
            verified: password::Verified::default(),
        }
    }
}

/// The authenticated user of a request (in its extensions, for handlers).
#[derive(Debug, Clone)]
pub struct Viewer {
    pub id: i32,
    pub username: String,
    pub is_admin: bool,
}
