//! The auth app's settings: `--app-name basic-auth` turns it on, and MLflow's own INI file
//! (`MLFLOW_AUTH_CONFIG_PATH`, section `[mlflow]`) configures it, with stock's defaults.

use clap::Args;

use super::permission::Permission;

/// Command-line switches of the auth app (flattened into `harvester server`).
#[derive(Debug, Clone, Args)]
pub struct AuthFlags {
    /// `basic-auth` turns on MLflow's basic-auth app: users, roles and grants on every route.
    #[arg(long, env = "MLFLOW_APP_NAME")]
    pub app_name: Option<String>,

    /// How bearer tokens are signed: HS256 (a shared secret), RS256 or ES256 (a key pair).
    #[arg(long, env = "HARVESTER_JWT_ALGORITHM", default_value = "HS256")]
    pub jwt_algorithm: String,

    /// HS256's secret (at least 32 bytes); set it in the environment, not on the command line.
    #[arg(long, env = "HARVESTER_JWT_SECRET", hide_env_values = true)]
    pub jwt_secret: Option<String>,

    /// RS256/ES256: the PEM public key tokens are verified with.
    #[arg(long, env = "HARVESTER_JWT_PUBLIC_KEY")]
    pub jwt_public_key: Option<String>,

    /// RS256/ES256: a JWKS file of verification keys (chosen by `kid`), e.g. an identity provider's.
    #[arg(long, env = "HARVESTER_JWT_JWKS")]
    pub jwt_jwks: Option<String>,

    /// RS256/ES256: the PEM private key this server issues tokens with (optional).
    #[arg(long, env = "HARVESTER_JWT_PRIVATE_KEY")]
    pub jwt_private_key: Option<String>,

    /// The `iss` tokens carry and must carry.
    #[arg(long, env = "HARVESTER_JWT_ISSUER", default_value = "harvester")]
    pub jwt_issuer: String,

    /// The `aud` tokens carry and must carry.
    #[arg(long, env = "HARVESTER_JWT_AUDIENCE", default_value = "harvester")]
    pub jwt_audience: String,

    /// The longest lifetime of an issued token, in seconds.
    #[arg(long, env = "HARVESTER_JWT_TTL", default_value_t = 3600)]
    pub jwt_ttl: u64,
}

impl Default for AuthFlags {
    fn default() -> Self {
        AuthFlags {
            app_name: None,
            jwt_algorithm: "HS256".into(),
            jwt_secret: None,
            jwt_public_key: None,
            jwt_jwks: None,
            jwt_private_key: None,
            jwt_issuer: "harvester".into(),
            jwt_audience: "harvester".into(),
            jwt_ttl: 3600,
        }
    }
}

impl AuthFlags {
    /// Whether auth is on; an unknown app name is refused, as stock does.
    pub fn enabled(&self) -> Result<bool, String> {
        match self.app_name.as_deref() {
            None | Some("") => Ok(false),
            Some("basic-auth") => Ok(true),
            Some(other) => Err(format!(
                "Unknown --app-name '{other}': Harvester knows 'basic-auth'"
            )),
        }
    }
}

/// `[mlflow]` of the auth config file, as `mlflow.server.auth.config.read_auth_config` reads it.
#[derive(Debug, Clone)]
pub struct AuthConfig {
    /// What a user holds on a resource without a grant.
    pub default_permission: Permission,
    pub admin_username: Option<String>,
    pub admin_password: Option<String>,
    /// Stock's `authorization_function`; only the basic-auth one is known (JWT bearer tokens are always read).
    pub authorization_function: String,
    pub grant_default_workspace_access: bool,
    /// `MLFLOW_FLASK_SERVER_SECRET_KEY`: signs the sign-up form's CSRF token (the same on every replica).
    pub form_secret: Option<String>,
}

/// Stock's shipped `basic_auth.ini` values.
const DEFAULT_FUNCTION: &str = "mlflow.server.auth:authenticate_request_basic_auth";

impl AuthConfig {
    /// Read the file named by `MLFLOW_AUTH_CONFIG_PATH` (stock's defaults when unset), then the
    /// `MLFLOW_AUTH_ADMIN_USERNAME` / `MLFLOW_AUTH_ADMIN_PASSWORD` variables, which win when set.
    pub fn load(env: &dyn Fn(&str) -> Option<String>) -> Result<AuthConfig, String> {
        let mut ini = ini::Ini::new();
        if let Some(path) = env("MLFLOW_AUTH_CONFIG_PATH").filter(|p| !p.is_empty()) {
            ini = ini::Ini::load_from_file(&path)
                .map_err(|e| format!("Cannot read the auth config '{path}': {e}"))?;
        }
        let get = |k: &str| {
            ini.section(Some("mlflow"))
                .and_then(|s| s.get(k))
                .map(|v| v.trim().to_string())
        };
        let perm = get("default_permission").unwrap_or_else(|| "READ".into());
        let default_permission = Permission::parse(&perm)
            .ok_or_else(|| format!("Invalid default_permission '{perm}' in the auth config"))?;
        let pick = |var: &str, key: &str| match env(var) {
            Some(v) => Some(v).filter(|v| !v.is_empty()),
            None => get(key).filter(|v| !v.is_empty()),
        };
        let flag = get("grant_default_workspace_access").unwrap_or_default();
        Ok(AuthConfig {
            default_permission,
            admin_username: pick("MLFLOW_AUTH_ADMIN_USERNAME", "admin_username")
                .or_else(|| Some("admin".into())),
            admin_password: pick("MLFLOW_AUTH_ADMIN_PASSWORD", "admin_password"),
            authorization_function: get("authorization_function")
                .unwrap_or_else(|| DEFAULT_FUNCTION.into()),
            grant_default_workspace_access: matches!(
                flag.to_ascii_lowercase().as_str(),
                "1" | "yes" | "true" | "on"
            ),
            form_secret: env("MLFLOW_FLASK_SERVER_SECRET_KEY").filter(|v| !v.is_empty()),
        })
    }

    /// Whether the function is stock's basic-auth one (the UI's `is_basic_auth`).
    pub fn is_basic_auth(&self) -> bool {
        self.authorization_function == DEFAULT_FUNCTION
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_then_environment() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("basic_auth.ini");
        std::fs::write(
            &path,
            "[mlflow]\ndefault_permission = EDIT\nadmin_username = root\nadmin_password = from-the-file\n",
        )
        .unwrap();
        let p = path.display().to_string();
        let c = AuthConfig::load(&|k| match k {
            "MLFLOW_AUTH_CONFIG_PATH" => Some(p.clone()),
            "MLFLOW_AUTH_ADMIN_PASSWORD" => Some("from-the-environment".into()),
            _ => None,
        })
        .unwrap();
        assert_eq!(c.default_permission, Permission::Edit);
        assert_eq!(c.admin_username.as_deref(), Some("root"));
        assert_eq!(c.admin_password.as_deref(), Some("from-the-environment"));
        let none = AuthConfig::load(&|_| None).unwrap();
        assert_eq!(none.default_permission, Permission::Read);
        assert_eq!(none.admin_password, None);
        std::fs::write(&path, "[mlflow]\ndefault_permission = ALL\n").unwrap();
        assert!(
            AuthConfig::load(&|k| (k == "MLFLOW_AUTH_CONFIG_PATH").then(|| p.clone())).is_err()
        );
    }
}
