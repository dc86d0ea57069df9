//! Harvester: an MLflow-compatible tracking server (library half, shared by `main` and the tests).

pub mod api;
pub mod auth;
pub mod bridge;
pub mod config;
pub mod db;
pub mod error;
pub mod gateway;
pub mod jobs;
pub mod monitoring;
pub mod openapi;
pub mod scan;
pub mod search;
pub mod security;
pub mod server;
pub mod service;
pub mod serving;
pub mod storage;
pub mod template;
pub mod types;
pub mod workspace;
