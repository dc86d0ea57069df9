//! `/graphql`: the operations the MLflow UI sends (§11.5), on `async-graphql`. Every resolver calls the
//! same service function as the REST route, so the data is the same.

mod artifacts;
mod limits;
mod transport;
mod types;

pub use transport::routes;

use crate::auth::rules::{Rule, Target};
use crate::auth::Action;
use serde_json::json;

use async_graphql::{ComplexObject, Context, EmptySubscription, Object, Schema, SimpleObject};

use super::State;
use crate::error::ApiError;
use crate::service::{self, AppState};
use crate::types::registry_requests::SearchRegistry;
use crate::types::requests::{GetHistoryBulkInterval, SearchRuns};
use types::*;

type MlflowSchema = Schema<Query, Mutation, EmptySubscription>;

/// Run blocking service code for a resolver; a service error becomes a GraphQL error (MLflow's message).
async fn call<T, F>(ctx: &Context<'_>, f: F) -> async_graphql::Result<T>
where
    T: Send + 'static,
    F: FnOnce(&AppState) -> Result<T, ApiError> + Send + 'static,
{
    let st = ctx.data::<State>()?.clone();
    match crate::workspace::block(move || f(&st)).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(async_graphql::Error::new(e.message)),
        Err(e) => Err(async_graphql::Error::new(format!("worker failed: {e}"))),
    }
}

/// Whether the request's user may read what `params` name (auth off or an admin: yes).
fn may_read(
    s: &AppState,
    who: Option<&crate::auth::Viewer>,
    target: Target,
    params: serde_json::Value,
) -> Result<bool, ApiError> {
    crate::auth::check::may(s, who, Rule::Needs(target, Action::Read), params)
}

/// [`call`] for searches: also gives the request's user, so that they show only what it may read.
async fn call_as<T, F>(ctx: &Context<'_>, f: F) -> async_graphql::Result<T>
where
    T: Send + 'static,
    F: FnOnce(&AppState, Option<&crate::auth::Viewer>) -> Result<T, ApiError> + Send + 'static,
{
    let who = ctx.data_opt::<crate::auth::Viewer>().cloned();
    call(ctx, move |s| f(s, who.as_ref())).await
}

#[derive(SimpleObject)]
#[graphql(name = "Test")]
pub struct TestOut {
    output: Option<String>,
}

#[derive(SimpleObject)]
#[graphql(name = "TestMutation")]
pub struct TestMutationOut {
    output: Option<String>,
}

#[derive(SimpleObject)]
#[graphql(name = "MlflowGetRunResponse")]
pub struct GetRunResponse {
    run: Option<RunExt>,
    api_error: Option<types::ApiError>,
}

#[derive(SimpleObject)]
#[graphql(name = "MlflowSearchRunsResponse")]
pub struct SearchRunsResponse {
    runs: Vec<RunExt>,
    next_page_token: Option<String>,
    api_error: Option<types::ApiError>,
}

#[derive(SimpleObject)]
#[graphql(name = "MlflowGetMetricHistoryBulkIntervalResponse")]
pub struct BulkIntervalResponse {
    metrics: Vec<MetricWithRunId>,
    api_error: Option<types::ApiError>,
}

#[derive(SimpleObject)]
#[graphql(name = "MlflowSearchModelVersionsResponse")]
pub struct SearchModelVersionsResponse {
    model_versions: Vec<GqlModelVersion>,
    next_page_token: Option<String>,
    api_error: Option<types::ApiError>,
}

#[derive(SimpleObject)]
#[graphql(name = "MlflowDatasetSummary")]
pub struct DatasetSummary {
    experiment_id: Option<String>,
    name: Option<String>,
    digest: Option<String>,
    context: Option<String>,
}

#[derive(SimpleObject)]
#[graphql(name = "MlflowSearchDatasetsResponse")]
pub struct SearchDatasetsResponse {
    dataset_summaries: Vec<DatasetSummary>,
    api_error: Option<types::ApiError>,
}

#[ComplexObject]
impl RunExt {
    /// The run's experiment (GetExperiment).
    async fn experiment(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<GqlExperiment>> {
        let Some(id) = self.info.as_ref().and_then(|i| i.experiment_id.clone()) else {
            return Ok(None);
        };
        Ok(Some(
            call(ctx, move |s| service::experiments::get(s, &id))
                .await?
                .into(),
        ))
    }

    /// The model versions registered from this run (a version search on `run_id`).
    async fn model_versions(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Vec<GqlModelVersion>> {
        let Some(id) = self.info.as_ref().and_then(|i| i.run_id.clone()) else {
            return Ok(Vec::new());
        };
        let req = SearchRegistry {
            filter: Some(format!("run_id = '{id}'")),
            ..Default::default()
        };
        let (versions, _) = call_as(ctx, move |s, who| {
            service::model_versions::search(
                s,
                &req,
                &crate::api::visible(s, who, "registered_model")?,
            )
        })
        .await?;
        Ok(versions.into_iter().map(GqlModelVersion::from).collect())
    }
}

async fn search_runs(
    ctx: &Context<'_>,
    input: Option<SearchRunsInput>,
) -> async_graphql::Result<SearchRunsResponse> {
    let input = input.unwrap_or_default();
    let req = SearchRuns {
        experiment_ids: strings(input.experiment_ids),
        filter: input.filter,
        run_view_type: input.run_view_type.map(|v| {
            match v {
                ViewType::ActiveOnly => "ACTIVE_ONLY",
                ViewType::DeletedOnly => "DELETED_ONLY",
                ViewType::All => "ALL",
            }
            .to_string()
        }),
        max_results: input.max_results.map(i64::from),
        order_by: strings(input.order_by),
        page_token: input.page_token,
    };
    let (runs, next_page_token) = call_as(ctx, move |s, who| {
        service::runs::search(s, &req, &crate::api::visible(s, who, "experiment")?)
    })
    .await?;
    Ok(SearchRunsResponse {
        runs: runs.into_iter().map(RunExt::from).collect(),
        next_page_token,
        api_error: None,
    })
}

pub struct Query;

#[Object]
impl Query {
    async fn mlflow_get_experiment(
        &self,
        ctx: &Context<'_>,
        input: Option<GetExperimentInput>,
    ) -> async_graphql::Result<Option<GetExperimentResponse>> {
        let id = input.and_then(|i| i.experiment_id).unwrap_or_default();
        let e = call_as(ctx, move |s, who| {
            let read = may_read(s, who, Target::Experiment, json!({ "experiment_id": id }))?;
            read.then(|| service::experiments::get(s, &id)).transpose()
        })
        .await?;
        // As MLflow's GraphQL authorization: what the user may not read is a null field, not an error.
        let Some(e) = e else { return Ok(None) };
        Ok(Some(GetExperimentResponse {
            experiment: Some(e.into()),
            api_error: None,
        }))
    }

    async fn mlflow_get_run(
        &self,
        ctx: &Context<'_>,
        input: Option<GetRunInput>,
    ) -> async_graphql::Result<Option<GetRunResponse>> {
        let id = input
            .and_then(|i| i.run_id.or(i.run_uuid))
            .unwrap_or_default();
        let run = call_as(ctx, move |s, who| {
            let read = may_read(s, who, Target::Run, json!({ "run_id": id }))?;
            read.then(|| service::runs::get(s, &id)).transpose()
        })
        .await?;
        let Some(run) = run else { return Ok(None) };
        Ok(Some(GetRunResponse {
            run: Some(run.into()),
            api_error: None,
        }))
    }

    async fn mlflow_get_metric_history_bulk_interval(
        &self,
        ctx: &Context<'_>,
        input: Option<BulkIntervalInput>,
    ) -> async_graphql::Result<Option<BulkIntervalResponse>> {
        let i = input.ok_or("input is required")?;
        let req = GetHistoryBulkInterval {
            run_ids: strings(i.run_ids),
            metric_key: i.metric_key,
            start_step: i.start_step.map(i64::from),
            end_step: i.end_step.map(i64::from),
            max_results: i.max_results.map(i64::from),
        };
        let metrics = call_as(ctx, move |s, who| {
            let read = may_read(s, who, Target::Runs, json!({ "run_id": req.run_ids }))?;
            read.then(|| service::metrics::bulk_interval(s, &req))
                .transpose()
        })
        .await?;
        let Some(metrics) = metrics else {
            return Ok(None);
        };
        Ok(Some(BulkIntervalResponse {
            metrics: metrics.into_iter().map(MetricWithRunId::from).collect(),
            api_error: None,
        }))
    }

    async fn mlflow_search_model_versions(
        &self,
        ctx: &Context<'_>,
        input: Option<SearchModelVersionsInput>,
    ) -> async_graphql::Result<Option<SearchModelVersionsResponse>> {
        let req = match input {
            Some(i) => SearchRegistry {
                filter: i.filter,
                max_results: i.max_results.map(|m| m.0),
                order_by: strings(i.order_by),
                page_token: i.page_token,
            },
            None => SearchRegistry::default(),
        };
        let (versions, next_page_token) = call_as(ctx, move |s, who| {
            service::model_versions::search(
                s,
                &req,
                &crate::api::visible(s, who, "registered_model")?,
            )
        })
        .await?;
        Ok(Some(SearchModelVersionsResponse {
            model_versions: versions.into_iter().map(GqlModelVersion::from).collect(),
            next_page_token,
            api_error: None,
        }))
    }

    async fn mlflow_search_runs(
        &self,
        ctx: &Context<'_>,
        input: Option<SearchRunsInput>,
    ) -> async_graphql::Result<Option<SearchRunsResponse>> {
        Ok(Some(search_runs(ctx, input).await?))
    }

    async fn mlflow_list_artifacts(
        &self,
        ctx: &Context<'_>,
        input: Option<artifacts::ListArtifactsInput>,
    ) -> async_graphql::Result<Option<artifacts::ListArtifactsResponse>> {
        let i = input.ok_or("input is required")?;
        let run_id = crate::types::requests::run_id_of(&i.run_id, &i.run_uuid)
            .map_err(|e| e.message)?
            .to_string();
        let rel = crate::storage::path::safe_path(i.path.as_deref().unwrap_or(""), true)
            .map_err(|e| e.message)?;
        let root = call_as(ctx, move |s, who| {
            let read = may_read(s, who, Target::Run, json!({ "run_id": run_id }))?;
            read.then(|| service::artifacts::run_root(s, &run_id))
                .transpose()
        })
        .await?;
        let Some((root_uri, root)) = root else {
            return Ok(None);
        };
        let files = root.list(&rel).await.map_err(|e| e.message)?;
        Ok(Some(artifacts::ListArtifactsResponse {
            root_uri: Some(root_uri),
            files: files.into_iter().map(Into::into).collect(),
            next_page_token: None,
            api_error: None,
        }))
    }

    /// Simple echoing field
    async fn test(&self, input_string: Option<String>) -> Option<TestOut> {
        Some(TestOut {
            output: input_string,
        })
    }
}

pub struct Mutation;

#[Object]
impl Mutation {
    async fn mlflow_search_runs(
        &self,
        ctx: &Context<'_>,
        input: Option<SearchRunsInput>,
    ) -> async_graphql::Result<Option<SearchRunsResponse>> {
        Ok(Some(search_runs(ctx, input).await?))
    }

    async fn mlflow_search_datasets(
        &self,
        ctx: &Context<'_>,
        input: Option<SearchDatasetsInput>,
    ) -> async_graphql::Result<Option<SearchDatasetsResponse>> {
        let ids = strings(input.and_then(|i| i.experiment_ids));
        let rows = call(ctx, move |s| service::run_io::dataset_summaries(s, &ids)).await?;
        let dataset_summaries = rows
            .into_iter()
            .map(|r| DatasetSummary {
                experiment_id: r["experiment_id"].as_str().map(String::from),
                name: r["name"].as_str().map(String::from),
                digest: r["digest"].as_str().map(String::from),
                // Proto's empty default where no context tag was logged, as MLflow answers it.
                context: Some(r["context"].as_str().unwrap_or("").to_string()),
            })
            .collect();
        Ok(Some(SearchDatasetsResponse {
            dataset_summaries,
            api_error: None,
        }))
    }

    /// Simple echoing field
    async fn test_mutation(&self, input_string: Option<String>) -> Option<TestMutationOut> {
        Some(TestMutationOut {
            output: input_string,
        })
    }
}
