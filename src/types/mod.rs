//! Wire types: serde + utoipa structs named and cased exactly like MLflow's JSON, separate from db rows.

/// A request message: every field optional (`#[serde(default)]`), readable from a JSON body or a query string.
macro_rules! request {
    ($(#[$m:meta])* $name:ident { $($(#[$fm:meta])* $field:ident : $ty:ty),* $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Default, serde::Deserialize, utoipa::ToSchema, utoipa::IntoParams)]
        #[into_params(parameter_in = Query)]
        #[serde(default)]
        pub struct $name { $($(#[$fm])* pub $field: $ty),* }
    };
}

pub mod de;
pub mod entities;
pub mod gateway;
pub mod pyjson;
pub mod registry;
pub mod registry_requests;
pub mod requests;
pub mod responses;
pub mod scorers;
pub mod workspaces;
