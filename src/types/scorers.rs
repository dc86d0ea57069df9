//! Scorers on the wire (MLflow 3.17's `RegisterScorer`, `GetScorer`, `ListScorers`, `ListScorerVersions`,
//! `DeleteScorer`): a registration answers with `name`/`version` and a string `experiment_id`; a stored
//! version is a `Scorer` message with `scorer_name`/`scorer_version` and an integer `experiment_id`.

use serde::Serialize;

use super::de;

request!(RegisterScorer {
    #[serde(deserialize_with = "de::opt_string_or_num")]
    experiment_id: Option<String>,
    name: Option<String>,
    serialized_scorer: Option<String>,
});
request!(ScorerRef {
    #[serde(deserialize_with = "de::opt_string_or_num")]
    experiment_id: Option<String>,
    name: Option<String>,
    #[serde(deserialize_with = "de::opt_i64")]
    version: Option<i64>,
});
request!(ListScorers {
    #[serde(deserialize_with = "de::opt_string_or_num")]
    experiment_id: Option<String>,
    #[serde(deserialize_with = "de::string_list")]
    experiment_ids: Vec<String>,
});

request!(OnlineConfigs {
    #[serde(deserialize_with = "de::string_list")]
    scorer_ids: Vec<String>,
});

/// How a scorer is applied to incoming traces (stock's `OnlineScoringConfig.to_dict`).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct OnlineScoringConfig {
    pub online_scoring_config_id: String,
    pub scorer_id: String,
    pub sample_rate: f64,
    pub experiment_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub filter_string: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct OnlineConfigsResponse {
    pub configs: Vec<OnlineScoringConfig>,
}

/// One stored version of a scorer.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Scorer {
    pub experiment_id: i64,
    pub scorer_name: String,
    pub scorer_version: i32,
    pub serialized_scorer: String,
    pub creation_time: i64,
    pub scorer_id: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RegisterScorerResponse {
    pub version: i32,
    pub scorer_id: String,
    pub experiment_id: String,
    pub name: String,
    pub serialized_scorer: String,
    pub creation_time: i64,
}

impl From<Scorer> for RegisterScorerResponse {
    fn from(s: Scorer) -> Self {
        RegisterScorerResponse {
            version: s.scorer_version,
            scorer_id: s.scorer_id,
            experiment_id: s.experiment_id.to_string(),
            name: s.scorer_name,
            serialized_scorer: s.serialized_scorer,
            creation_time: s.creation_time,
        }
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct GetScorerResponse {
    pub scorer: Scorer,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ScorersResponse {
    pub scorers: Vec<Scorer>,
}
