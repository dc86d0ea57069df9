//! MLflow's permission levels and what each allows (`mlflow/server/auth/permissions.py`).

/// A permission level, ordered as MLflow orders them (`DENY` below everything, never won by a max).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Permission {
    Deny,
    NoPermissions,
    Read,
    Use,
    Edit,
    Manage,
}

/// What a request needs of the resource it touches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Read,
    Use,
    Update,
    Delete,
    Manage,
}

impl Permission {
    pub const ALL: [Permission; 6] = [
        Permission::Read,
        Permission::Use,
        Permission::Edit,
        Permission::Manage,
        Permission::NoPermissions,
        Permission::Deny,
    ];

    pub fn parse(s: &str) -> Option<Permission> {
        Permission::ALL.into_iter().find(|p| p.name() == s)
    }

    pub fn name(self) -> &'static str {
        match self {
            Permission::Deny => "DENY",
            Permission::NoPermissions => "NO_PERMISSIONS",
            Permission::Read => "READ",
            Permission::Use => "USE",
            Permission::Edit => "EDIT",
            Permission::Manage => "MANAGE",
        }
    }

    /// Whether this level allows `action`.
    pub fn allows(self, action: Action) -> bool {
        let need = match action {
            Action::Read => Permission::Read,
            Action::Use => Permission::Use,
            Action::Update => Permission::Edit,
            Action::Delete | Action::Manage => Permission::Manage,
        };
        self >= need
    }

    /// Fold the grants that match one resource: an explicit `DENY` wins, else the highest.
    pub fn fold(grants: impl IntoIterator<Item = Permission>) -> Option<Permission> {
        let mut best: Option<Permission> = None;
        for g in grants {
            if g == Permission::Deny {
                return Some(Permission::Deny);
            }
            best = Some(best.map_or(g, |b| b.max(g)));
        }
        best
    }

    /// The grant, lifted to `default` when it is a positive one (MLflow's `floor_positive_permission`);
    /// no grant at all is `default`.
    pub fn floor(grant: Option<Permission>, default: Permission) -> Permission {
        match grant {
            None => default,
            Some(g @ (Permission::Deny | Permission::NoPermissions)) => g,
            Some(g) => g.max(default),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_fold_and_floor() {
        assert!(Permission::Read.allows(Action::Read));
        assert!(!Permission::Read.allows(Action::Use));
        assert!(Permission::Edit.allows(Action::Update));
        assert!(!Permission::Edit.allows(Action::Delete));
        assert!(Permission::Manage.allows(Action::Manage));
        assert!(!Permission::Deny.allows(Action::Read));
        let f = Permission::fold([Permission::Read, Permission::Manage, Permission::Edit]);
        assert_eq!(f, Some(Permission::Manage));
        assert_eq!(
            Permission::fold([Permission::Manage, Permission::Deny]),
            Some(Permission::Deny)
        );
        assert_eq!(Permission::floor(None, Permission::Read), Permission::Read);
        assert_eq!(
            Permission::floor(Some(Permission::Use), Permission::Edit),
            Permission::Edit
        );
        assert_eq!(
            Permission::floor(Some(Permission::Deny), Permission::Edit),
            Permission::Deny
        );
        assert_eq!(
            Permission::parse("NO_PERMISSIONS"),
            Some(Permission::NoPermissions)
        );
        assert_eq!(Permission::parse("read"), None);
    }
}
