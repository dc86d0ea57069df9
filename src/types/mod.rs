//! Wire types: serde + utoipa structs named and cased exactly like MLflow's JSON, separate from db rows.

pub mod de;
pub mod entities;
pub mod requests;
pub mod responses;
