DROP TABLE harvester_user_roles;
DROP TABLE harvester_role_permissions;
DROP TABLE harvester_roles;
DROP TABLE harvester_users;
