//! Writing to S3: proxied uploads streamed through a bounded part buffer (one `PutObject`, or a
//! server-driven multipart upload that is aborted when unfinished), the client-driven `mpu/*` calls with
//! presigned part URLs, and presigned downloads.

use std::time::Duration;

use aws_sdk_s3::presigning::{PresignedRequest, PresigningConfig};
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};
use aws_sdk_s3::Client;
use bytes::{Bytes, BytesMut};
use futures_util::{Stream, StreamExt};

use super::{s3_err, Presigned, S3Store};
use crate::error::{ApiError, ApiResult};
use crate::storage::path::SafePath;

/// Part size of streamed uploads: 8 MiB for the first 1000 parts, growing by 8 MiB every 1000 parts
/// after that, so the 10,000-part limit of S3 allows objects of about 440 GB.
const PART: usize = 8 << 20;

/// How long presigned part-upload URLs stay valid (boto3's default, which MLflow uses).
const PART_URL_TTL: Duration = Duration::from_secs(3600);

fn part_size(part_number: i32) -> usize {
    PART * (1 + (part_number.max(1) as usize - 1) / 1000)
}

impl S3Store {
    /// Store a streamed body under `p`: one `PutObject` when it fits in a part, otherwise a multipart
    /// upload with one part in flight while the next one fills.
    pub async fn put<S>(&self, p: &SafePath, mut body: S) -> ApiResult<u64>
    where
        S: Stream<Item = ApiResult<Bytes>> + Unpin,
    {
        let key = self.key(p);
        let mut buf = BytesMut::with_capacity(PART);
        let mut mpu: Option<Multipart> = None;
        let mut total = 0u64;
        while let Some(chunk) = body.next().await {
            let mut chunk = chunk?;
            total += chunk.len() as u64;
            // Fill the part buffer exactly, so that it is allocated once per part and never regrown
            // (a regrown buffer doubles, and the parts in flight would keep the doubled blocks alive).
            loop {
                let want = part_size(mpu.as_ref().map_or(1, |m| m.next_part));
                let take = chunk.len().min(want - buf.len());
                buf.extend_from_slice(&chunk.split_to(take));
                if buf.len() < want {
                    break;
                }
                if mpu.is_none() {
                    mpu = Some(self.start_multipart(&key).await?);
                }
                let m = mpu.as_mut().expect("started above");
                let full = std::mem::replace(
                    &mut buf,
                    BytesMut::with_capacity(part_size(m.next_part + 1)),
                );
                m.send(full.freeze()).await?;
                if chunk.is_empty() {
                    break;
                }
            }
        }
        match mpu {
            None => {
                self.client
                    .put_object()
                    .bucket(&self.bucket)
                    .key(&key)
                    .body(ByteStream::from(buf.freeze()))
                    .send()
                    .await
                    .map_err(|e| s3_err("cannot store artifact", &key, e))?;
            }
            Some(mut m) => {
                if !buf.is_empty() {
                    m.send(buf.freeze()).await?;
                }
                m.complete().await?;
            }
        }
        Ok(total)
    }

    async fn start_multipart(&self, key: &str) -> ApiResult<Multipart> {
        let out = self
            .client
            .create_multipart_upload()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
            .map_err(|e| s3_err("cannot start upload", key, e))?;
        let upload_id = out
            .upload_id()
            .ok_or_else(|| ApiError::internal("S3 returned no upload id"))?
            .to_string();
        Ok(Multipart {
            client: self.client.clone(),
            bucket: self.bucket.clone(),
            key: key.to_string(),
            upload_id,
            next_part: 1,
            in_flight: None,
            done: Vec::new(),
            finished: false,
        })
    }

    /// `mpu/create`: start a multipart upload and presign one part-upload URL per part.
    pub async fn mpu_create(
        &self,
        p: &SafePath,
        num_parts: i32,
    ) -> ApiResult<(String, Vec<Presigned>)> {
        if !(1..=10_000).contains(&num_parts) {
            return Err(ApiError::invalid(format!(
                "num_parts must be between 1 and 10000, got {num_parts}"
            )));
        }
        let mut m = self.start_multipart(&self.key(p)).await?;
        m.finished = true; // the client owns it now: it completes or aborts
        let cfg = presign_cfg(PART_URL_TTL)?;
        let mut urls = Vec::with_capacity(num_parts as usize);
        for n in 1..=num_parts {
            let req = self
                .presigner
                .upload_part()
                .bucket(&self.bucket)
                .key(&m.key)
                .upload_id(&m.upload_id)
                .part_number(n)
                .presigned(cfg.clone())
                .await
                .map_err(|e| s3_err("cannot presign part", p.as_str(), e))?;
            urls.push(presigned(req));
        }
        Ok((m.upload_id.clone(), urls))
    }

    /// `mpu/complete`: join the parts the client uploaded.
    pub async fn mpu_complete(
        &self,
        p: &SafePath,
        upload_id: &str,
        parts: Vec<(i32, String)>,
    ) -> ApiResult<()> {
        let parts = parts
            .into_iter()
            .map(|(n, etag)| CompletedPart::builder().part_number(n).e_tag(etag).build())
            .collect();
        let key = self.key(p);
        let up = Upload {
            client: &self.client,
            bucket: &self.bucket,
            key: &key,
            upload_id,
        };
        up.complete(parts, p.as_str()).await
    }

    /// `mpu/abort`.
    pub async fn mpu_abort(&self, p: &SafePath, upload_id: &str) -> ApiResult<()> {
        let up = Upload {
            client: &self.client,
            bucket: &self.bucket,
            key: &self.key(p),
            upload_id,
        };
        up.abort(p.as_str()).await
    }

    /// `presigned/<path>`: a GET URL for the object (as an attachment) and its size.
    pub async fn presign_get(
        &self,
        p: &SafePath,
        ttl: Duration,
    ) -> ApiResult<(Presigned, Option<i64>)> {
        let key = self.key(p);
        let head = self
            .client
            .head_object()
            .bucket(&self.bucket)
            .key(&key)
            .send()
            .await;
        let head = match head {
            Ok(h) => h,
            Err(e) => return Err(self.read_error(p, e).await),
        };
        let req = self
            .presigner
            .get_object()
            .bucket(&self.bucket)
            .key(&key)
            .response_content_disposition(format!(
                "attachment; filename=\"{}\"",
                p.file_name().replace('"', "")
            ))
            .presigned(presign_cfg(ttl)?)
            .await
            .map_err(|e| s3_err("cannot presign download", p.as_str(), e))?;
        Ok((presigned(req), head.content_length))
    }
}

fn presign_cfg(ttl: Duration) -> ApiResult<PresigningConfig> {
    PresigningConfig::expires_in(ttl).map_err(|e| ApiError::internal(format!("presigning: {e}")))
}

fn presigned(req: PresignedRequest) -> Presigned {
    Presigned {
        url: req.uri().to_string(),
        headers: req
            .headers()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    }
}

/// One multipart upload, named: the calls that finish it either way.
struct Upload<'a> {
    client: &'a Client,
    bucket: &'a str,
    key: &'a str,
    upload_id: &'a str,
}

impl Upload<'_> {
    async fn complete(&self, parts: Vec<CompletedPart>, shown: &str) -> ApiResult<()> {
        self.client
            .complete_multipart_upload()
            .bucket(self.bucket)
            .key(self.key)
            .upload_id(self.upload_id)
            .multipart_upload(
                CompletedMultipartUpload::builder()
                    .set_parts(Some(parts))
                    .build(),
            )
            .send()
            .await
            .map_err(|e| s3_err("cannot complete upload", shown, e))?;
        Ok(())
    }

    async fn abort(&self, shown: &str) -> ApiResult<()> {
        self.client
            .abort_multipart_upload()
            .bucket(self.bucket)
            .key(self.key)
            .upload_id(self.upload_id)
            .send()
            .await
            .map_err(|e| s3_err("cannot abort upload", shown, e))?;
        Ok(())
    }
}

/// A multipart upload driven by the server (large proxied PUTs). Dropped unfinished, it is aborted.
struct Multipart {
    client: Client,
    bucket: String,
    key: String,
    upload_id: String,
    next_part: i32,
    in_flight: Option<tokio::task::JoinHandle<ApiResult<CompletedPart>>>,
    done: Vec<CompletedPart>,
    finished: bool,
}

impl Multipart {
    /// Wait for the part in flight, then start uploading `data` as the next part.
    async fn send(&mut self, data: Bytes) -> ApiResult<()> {
        self.settle().await?;
        let n = self.next_part;
        self.next_part += 1;
        let req = self
            .client
            .upload_part()
            .bucket(&self.bucket)
            .key(&self.key)
            .upload_id(&self.upload_id)
            .part_number(n)
            .body(ByteStream::from(data));
        let key = self.key.clone();
        self.in_flight = Some(tokio::spawn(async move {
            let out = req
                .send()
                .await
                .map_err(|e| s3_err("cannot upload part", &key, e))?;
            Ok(CompletedPart::builder()
                .part_number(n)
                .set_e_tag(out.e_tag)
                .build())
        }));
        Ok(())
    }

    async fn settle(&mut self) -> ApiResult<()> {
        if let Some(h) = self.in_flight.take() {
            let part = h
                .await
                .map_err(|e| ApiError::internal(format!("part upload failed: {e}")))??;
            self.done.push(part);
        }
        Ok(())
    }

    async fn complete(mut self) -> ApiResult<()> {
        self.settle().await?;
        let parts = std::mem::take(&mut self.done);
        let up = Upload {
            client: &self.client,
            bucket: &self.bucket,
            key: &self.key,
            upload_id: &self.upload_id,
        };
        up.complete(parts, &self.key).await?;
        self.finished = true;
        Ok(())
    }
}

impl Drop for Multipart {
    fn drop(&mut self) {
        if self.finished {
            return;
        }
        if let Some(h) = self.in_flight.take() {
            h.abort();
        }
        let (client, bucket, key, id) = (
            self.client.clone(),
            self.bucket.clone(),
            self.key.clone(),
            self.upload_id.clone(),
        );
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            rt.spawn(async move {
                let up = Upload {
                    client: &client,
                    bucket: &bucket,
                    key: &key,
                    upload_id: &id,
                };
                if let Err(e) = up.abort(&key).await {
                    tracing::warn!(
                        "could not abort an unfinished multipart upload: {}",
                        e.message
                    );
                }
            });
        }
    }
}
