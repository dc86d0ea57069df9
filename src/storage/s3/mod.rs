//! S3 artifact store (`--artifacts-destination s3://bucket/prefix`) through `aws-sdk-s3`: credentials,
//! region and endpoint from the standard AWS environment (plus MLflow's `MLFLOW_S3_ENDPOINT_URL`),
//! path-style addressing. Uploads stream through a bounded part buffer; an object appears under its key
//! only when `PutObject` or `CompleteMultipartUpload` succeeds, and an unfinished multipart upload is
//! aborted, so an interrupted upload never leaves a partial object.

mod upload;

use std::pin::Pin;

use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_s3::operation::list_objects_v2::ListObjectsV2Output;
use aws_sdk_s3::primitives::DateTimeFormat;
use aws_sdk_s3::types::{Delete, ObjectIdentifier};
use aws_sdk_s3::Client;
use bytes::Bytes;
use futures_util::Stream;

use super::path::SafePath;
use super::FileInfo;
use crate::error::{ApiError, ApiResult, ErrorCode};

pub struct S3Store {
    client: Client,
    /// Signs the URLs clients use themselves (configured with their endpoint when it differs).
    presigner: Client,
    bucket: String,
    prefix: String,
}

/// A streamed object body.
pub type Body = Pin<Box<dyn Stream<Item = Result<Bytes, std::io::Error>> + Send>>;

/// An object being read: the body and the headers a download needs.
pub struct Remote {
    pub length: Option<i64>,
    pub content_range: Option<String>,
    pub etag: Option<String>,
    pub last_modified: Option<String>,
    pub body: Body,
}

/// A presigned request for the client to send to S3 itself.
pub struct Presigned {
    pub url: String,
    pub headers: Vec<(String, String)>,
}

/// `s3://bucket/prefix` → (bucket, prefix without surrounding slashes).
pub fn parse_uri(uri: &str) -> Option<(String, String)> {
    let rest = uri.strip_prefix("s3://")?;
    let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
    (!bucket.is_empty()).then(|| (bucket.to_string(), prefix.trim_matches('/').to_string()))
}

pub(super) fn s3_err<E, R>(what: &str, key: &str, e: SdkError<E, R>) -> ApiError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    let code = match &e {
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) => {
            ErrorCode::TEMPORARILY_UNAVAILABLE
        }
        _ => match e.code() {
            Some("NoSuchKey" | "NotFound" | "NoSuchUpload") => ErrorCode::RESOURCE_DOES_NOT_EXIST,
            Some("AccessDenied") => ErrorCode::PERMISSION_DENIED,
            Some("InvalidRange" | "InvalidPart" | "InvalidPartOrder" | "EntityTooSmall") => {
                ErrorCode::INVALID_PARAMETER_VALUE
            }
            _ => ErrorCode::INTERNAL_ERROR,
        },
    };
    let detail = match (e.code(), e.message()) {
        (Some(code), Some(msg)) => format!("{code}: {msg}"),
        (Some(code), None) => code.to_string(),
        _ => aws_sdk_s3::error::DisplayErrorContext(&e).to_string(),
    };
    ApiError::new(code, format!("{what} '{key}': S3 {detail}"))
}

impl S3Store {
    /// Build the client from the AWS environment. Without a configured region, us-east-1.
    pub async fn open(uri: &str, public_endpoint: Option<&str>) -> Result<S3Store, String> {
        let (bucket, prefix) = parse_uri(uri).ok_or_else(|| {
            format!("Invalid S3 artifact destination '{uri}': expected s3://bucket/prefix")
        })?;
        let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest());
        if let Ok(ep) = std::env::var("MLFLOW_S3_ENDPOINT_URL") {
            if !ep.is_empty() {
                loader = loader.endpoint_url(ep);
            }
        }
        let sdk = loader.load().await;
        let mut conf = aws_sdk_s3::config::Builder::from(&sdk).force_path_style(true);
        if sdk.region().is_none() {
            conf = conf.region(aws_sdk_s3::config::Region::new("us-east-1"));
        }
        let presigner = match public_endpoint.filter(|e| !e.is_empty()) {
            Some(ep) => Client::from_conf(conf.clone().endpoint_url(ep).build()),
            None => Client::from_conf(conf.clone().build()),
        };
        Ok(S3Store {
            client: Client::from_conf(conf.build()),
            presigner,
            bucket,
            prefix,
        })
    }

    pub fn describe(&self) -> String {
        format!("s3://{}/{}", self.bucket, self.prefix)
    }

    /// Whether the bucket answers (a warning at start-up, not a refusal to start).
    pub async fn check(&self) -> Result<(), String> {
        self.client
            .head_bucket()
            .bucket(&self.bucket)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| s3_err("bucket", &self.bucket, e).message)
    }

    fn key(&self, p: &SafePath) -> String {
        match (self.prefix.is_empty(), p.is_root()) {
            (true, _) => p.as_str().to_string(),
            (false, true) => self.prefix.clone(),
            (false, false) => format!("{}/{}", self.prefix, p.as_str()),
        }
    }

    /// The key prefix of everything under `p` ("" for the whole bucket).
    fn dir_prefix(&self, p: &SafePath) -> String {
        let k = self.key(p);
        if k.is_empty() {
            k
        } else {
            k + "/"
        }
    }

    /// Read an object, or the byte range of it that an HTTP `Range` header asks for.
    pub async fn get(&self, p: &SafePath, range: Option<String>) -> ApiResult<Remote> {
        let key = self.key(p);
        let out = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(&key)
            .set_range(range)
            .send()
            .await;
        let out = match out {
            Ok(out) => out,
            Err(e) => return Err(self.read_error(p, e).await),
        };
        let body = futures_util::stream::unfold(out.body, |mut b| async move {
            b.next()
                .await
                .map(|r| (r.map_err(std::io::Error::other), b))
        });
        Ok(Remote {
            length: out.content_length,
            content_range: out.content_range,
            etag: out.e_tag,
            last_modified: out
                .last_modified
                .and_then(|t| t.fmt(DateTimeFormat::HttpDate).ok()),
            body: Box::pin(body),
        })
    }

    /// Why reading `p` failed: a "directory" (other objects under `p/`) is a 400 as on local disk, a
    /// missing key a 404; anything else is the store's error. Only the failure path pays the listing.
    async fn read_error<E, R>(&self, p: &SafePath, e: SdkError<E, R>) -> ApiError
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
        R: std::fmt::Debug,
    {
        let is_dir = self
            .client
            .list_objects_v2()
            .bucket(&self.bucket)
            .prefix(self.dir_prefix(p))
            .max_keys(1)
            .send()
            .await
            .is_ok_and(|l| !l.contents().is_empty());
        if is_dir {
            return ApiError::invalid(format!("Invalid path: '{}' is a directory", p.as_str()));
        }
        match e.code() {
            Some("NoSuchKey" | "NotFound") => {
                ApiError::not_found(format!("No such artifact: '{}'", p.as_str()))
            }
            _ => s3_err("cannot read artifact", p.as_str(), e),
        }
    }

    /// Every page of a listing under `prefix` (each page holds at most 1000 entries).
    async fn pages(
        &self,
        prefix: &str,
        delimiter: Option<&str>,
        p: &SafePath,
    ) -> ApiResult<Vec<ListObjectsV2Output>> {
        let mut pages = Vec::new();
        let mut token = None;
        loop {
            let page = self
                .client
                .list_objects_v2()
                .bucket(&self.bucket)
                .prefix(prefix)
                .set_delimiter(delimiter.map(str::to_string))
                .set_continuation_token(token)
                .send()
                .await
                .map_err(|e| s3_err("cannot list artifacts", p.as_str(), e))?;
            token = page.next_continuation_token().map(str::to_string);
            pages.push(page);
            if token.is_none() {
                return Ok(pages);
            }
        }
    }

    /// Entries directly under `p`, sorted; a missing path or an object lists as empty.
    pub async fn list(&self, p: &SafePath) -> ApiResult<Vec<FileInfo>> {
        let prefix = self.dir_prefix(p);
        let mut out = Vec::new();
        for page in self.pages(&prefix, Some("/"), p).await? {
            for cp in page.common_prefixes() {
                let name = cp.prefix().unwrap_or("")[prefix.len()..].trim_end_matches('/');
                if !name.is_empty() {
                    out.push(FileInfo {
                        path: name.to_string(),
                        is_dir: true,
                        file_size: None,
                    });
                }
            }
            for obj in page.contents() {
                let name = &obj.key().unwrap_or("")[prefix.len()..];
                if !name.is_empty() {
                    out.push(FileInfo {
                        path: name.to_string(),
                        is_dir: false,
                        file_size: Some(obj.size().unwrap_or(0)),
                    });
                }
            }
        }
        out.sort_by(|a, b| a.path.cmp(&b.path));
        Ok(out)
    }

    /// Remove the object `p` and everything under `p/`; a missing path is not an error.
    pub async fn delete(&self, p: &SafePath) -> ApiResult<()> {
        if p.is_root() {
            return Err(ApiError::invalid("Refusing to delete the artifact root"));
        }
        // One listing finds both the object itself and its "directory" (and skips `p.txt` beside it).
        let key = self.key(p);
        let under = self.dir_prefix(p);
        let mut keys = Vec::new();
        for page in self.pages(&key, None, p).await? {
            keys.extend(
                page.contents()
                    .iter()
                    .filter_map(|o| o.key())
                    .filter(|k| *k == key || k.starts_with(&under))
                    .map(str::to_string),
            );
        }
        for batch in keys.chunks(1000) {
            self.delete_keys(batch.to_vec(), p).await?;
        }
        Ok(())
    }

    async fn delete_keys(&self, keys: Vec<String>, p: &SafePath) -> ApiResult<()> {
        let objects = keys
            .into_iter()
            .map(|k| ObjectIdentifier::builder().key(k).build())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| ApiError::internal(format!("cannot delete artifact: {e}")))?;
        let delete = Delete::builder()
            .set_objects(Some(objects))
            .quiet(true)
            .build()
            .map_err(|e| ApiError::internal(format!("cannot delete artifact: {e}")))?;
        let out = self
            .client
            .delete_objects()
            .bucket(&self.bucket)
            .delete(delete)
            .send()
            .await
            .map_err(|e| s3_err("cannot delete artifact", p.as_str(), e))?;
        match out.errors().first() {
            Some(err) => Err(ApiError::internal(format!(
                "cannot delete artifact '{}': {}",
                err.key().unwrap_or(""),
                err.message().unwrap_or("")
            ))),
            None => Ok(()),
        }
    }
}
