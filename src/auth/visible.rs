//! What a user may see in a search, as a condition of the query itself (so pages stay full and a page
//! token walks the same rows): from the user's grants on one resource type, either "only these ids"
//! or "all but these ids".

use std::collections::BTreeMap;

use super::grants;
use super::permission::{Action, Permission};
use super::Viewer;
use crate::error::ApiResult;
use crate::search::{Bind, SqlBuf};
use crate::service::AppState;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Visible {
    All,
    Only(Vec<String>),
    AllBut(Vec<String>),
}

impl Visible {
    /// For the request's user (none or an admin: everything).
    pub fn of(st: &AppState, viewer: Option<&Viewer>, resource_type: &str) -> ApiResult<Visible> {
        match (viewer, st.auth.as_ref()) {
            (Some(v), Some(a)) if !v.is_admin => Ok(Visible::compute(
                v,
                a.config.default_permission,
                resource_type,
            )),
            _ => Ok(Visible::All),
        }
    }

    fn compute(v: &Viewer, default: Permission, resource_type: &str) -> Visible {
        let g: Vec<&grants::Grant> = v
            .grants
            .iter()
            .filter(|x| x.resource_type == resource_type || x.resource_type == "workspace")
            .collect();
        let readable = |p: Permission| p.allows(Action::Read);
        let wildcard: Vec<Permission> = g
            .iter()
            .filter(|x| x.resource_pattern == "*")
            .filter_map(|x| Permission::parse(&x.permission))
            .collect();
        let rest = v.floor(Permission::fold(wildcard.iter().copied()), default);
        let mut by_id: BTreeMap<&str, ()> = BTreeMap::new();
        for x in g
            .iter()
            .filter(|x| x.resource_pattern != "*" && x.resource_type == resource_type)
        {
            by_id.insert(&x.resource_pattern, ());
        }
        let (mut yes, mut no) = (Vec::new(), Vec::new());
        for id in by_id.keys() {
            let p = v.floor(grants::fold_for(&v.grants, resource_type, id), default);
            if readable(p) {
                yes.push(id.to_string());
            } else {
                no.push(id.to_string());
            }
        }
        if readable(rest) {
            if no.is_empty() {
                Visible::All
            } else {
                Visible::AllBut(no)
            }
        } else {
            Visible::Only(yes)
        }
    }

    /// Whether one resource id is visible (for lists that are not paged queries, e.g. the dashboard).
    pub fn allows(&self, id: &str) -> bool {
        match self {
            Visible::All => true,
            Visible::Only(ids) => ids.iter().any(|i| i == id),
            Visible::AllBut(ids) => !ids.iter().any(|i| i == id),
        }
    }

    /// ` AND <column> [NOT] IN (…)`; `int`: the column holds integer ids.
    pub fn push(&self, buf: &mut SqlBuf, column: &str, int: bool) {
        let binds = |ids: &[String]| -> Vec<Bind> {
            ids.iter()
                .filter_map(|i| {
                    if int {
                        i.parse::<i64>().ok().map(Bind::Int)
                    } else {
                        Some(Bind::Text(i.clone()))
                    }
                })
                .collect()
        };
        match self {
            Visible::All => {}
            Visible::Only(ids) => {
                let b = binds(ids);
                if b.is_empty() {
                    buf.push(" AND 1 = 0");
                } else {
                    buf.push(&format!(" AND {column} IN ")).bind_list(b);
                }
            }
            Visible::AllBut(ids) => {
                let b = binds(ids);
                if !b.is_empty() {
                    buf.push(&format!(" AND {column} NOT IN ")).bind_list(b);
                }
            }
        }
    }
}
