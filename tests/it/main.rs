//! Integration tests: every test runs on SQLite and on PostgreSQL, each on a fresh database.

mod artifacts;
mod artifacts_s3;
mod auth;
mod auth_cache;
mod binary;
mod common;
mod concurrency;
mod databases;
mod evalai;
mod evalai_fake;
mod evalai_restart;
mod evalai_support;
mod experiments;
mod gateway;
mod graphql;
mod hangs;
mod hardening;
mod jobs;
mod logged_models;
mod metrics;
mod openapi;
mod registry;
mod registry_versions;
mod runs;
#[macro_use]
mod scans;
mod scans_bridge;
mod scans_restart;
mod scorers;
mod search;
mod serving;
mod ui;
mod webhooks;
mod wire;
mod workspaces;
mod workspaces_auth;
