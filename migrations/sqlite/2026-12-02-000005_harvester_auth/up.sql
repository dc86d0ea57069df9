-- The basic-auth app's users, roles and grants (MLflow 3.17's model: a grant is a permission on a resource
-- pattern held by a role; a user's own grants sit in a synthetic role named __user_<id>__). Harvester keeps
-- them in its own database; passwords are argon2id PHC strings.
CREATE TABLE harvester_users (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    username VARCHAR(255) NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    is_admin BOOLEAN NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL
);
CREATE TABLE harvester_roles (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    workspace VARCHAR(63) NOT NULL DEFAULT 'default',
    name VARCHAR(255) NOT NULL,
    description TEXT,
    CONSTRAINT harvester_roles_workspace_name UNIQUE (workspace, name)
);
CREATE TABLE harvester_role_permissions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    role_id INTEGER NOT NULL REFERENCES harvester_roles (id) ON DELETE CASCADE,
    resource_type VARCHAR(64) NOT NULL,
    resource_pattern VARCHAR(255) NOT NULL,
    permission VARCHAR(32) NOT NULL,
    CONSTRAINT harvester_role_permissions_unique UNIQUE (role_id, resource_type, resource_pattern)
);
CREATE INDEX harvester_role_permissions_resource ON harvester_role_permissions (resource_type, resource_pattern);
CREATE TABLE harvester_user_roles (
    user_id INTEGER NOT NULL REFERENCES harvester_users (id) ON DELETE CASCADE,
    role_id INTEGER NOT NULL REFERENCES harvester_roles (id) ON DELETE CASCADE,
    PRIMARY KEY (user_id, role_id)
);
CREATE INDEX harvester_user_roles_role ON harvester_user_roles (role_id);
