//! The object port over S3, path-style addressed so a local endpoint works.
//! Keys keep the embedded default's layout: `public/...` for logos and program
//! images (served to anyone, e.g. through CloudFront), `private/...` for
//! customer uploads, reports and exports (only through presigned GETs).
//!
//! Uploads can skip the API: [`S3Objects::presign_upload`] signs a PUT for one
//! key with its content type and exact length, so S3 itself refuses a
//! different type or size.

use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_s3::Client;
use aws_sdk_s3::presigning::PresigningConfig;
use aws_sdk_s3::primitives::ByteStream;
use stampede_domain::ports::{ObjectInfo, ObjectStore, StoreError, StoreResult};

use crate::sdk_error;

pub struct S3Objects {
    client: Client,
    bucket: String,
}

impl S3Objects {
    pub fn from_conf(conf: &aws_config::SdkConfig, bucket: impl Into<String>) -> Self {
        Self::new(Self::client_for(conf), bucket)
    }

    pub fn new(client: Client, bucket: impl Into<String>) -> Self {
        Self { client, bucket: bucket.into() }
    }

    /// An S3 client for this configuration, path-style addressed.
    pub fn client_for(conf: &aws_config::SdkConfig) -> Client {
        Client::from_conf(aws_sdk_s3::config::Builder::from(conf).force_path_style(true).build())
    }
}

fn presigning(ttl: Duration) -> StoreResult<PresigningConfig> {
    PresigningConfig::expires_in(ttl).map_err(|e| StoreError::Other(format!("s3 presigning: {e}")))
}

fn check_key(key: &str) -> StoreResult<()> {
    let ok = !key.is_empty() && !key.starts_with('/') && !key.split('/').any(|p| p.is_empty() || p == "..");
    if ok { Ok(()) } else { Err(StoreError::Other(format!("invalid object key {key:?}"))) }
}

#[async_trait]
impl ObjectStore for S3Objects {
    async fn put(&self, key: &str, bytes: &[u8], content_type: &str) -> StoreResult<()> {
        check_key(key)?;
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .content_type(content_type)
            .body(ByteStream::from(bytes.to_vec()))
            .send()
            .await
            .map_err(|e| sdk_error("s3 put", e))?;
        Ok(())
    }

    async fn put_file(&self, key: &str, path: &std::path::Path, content_type: &str) -> StoreResult<()> {
        check_key(key)?;
        // Streamed from disk; S3 takes up to 5 GB in one PUT.
        let body = ByteStream::from_path(path).await.map_err(|e| StoreError::Unavailable(format!("s3 body: {e}")))?;
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .content_type(content_type)
            .body(body)
            .send()
            .await
            .map_err(|e| sdk_error("s3 put file", e))?;
        Ok(())
    }

    async fn get(&self, key: &str) -> StoreResult<Option<(Vec<u8>, String)>> {
        if check_key(key).is_err() {
            return Ok(None);
        }
        let out = match self.client.get_object().bucket(&self.bucket).key(key).send().await {
            Ok(out) => out,
            Err(e) if e.as_service_error().is_some_and(|s| s.is_no_such_key()) => return Ok(None),
            Err(e) => return Err(sdk_error("s3 get", e)),
        };
        let content_type = out.content_type.clone().unwrap_or_else(|| "application/octet-stream".into());
        let bytes = out.body.collect().await.map_err(|e| StoreError::Unavailable(format!("s3 read: {e}")))?;
        Ok(Some((bytes.into_bytes().to_vec(), content_type)))
    }

    async fn delete(&self, key: &str) -> StoreResult<()> {
        check_key(key)?;
        self.client
            .delete_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
            .map_err(|e| sdk_error("s3 delete", e))?;
        Ok(())
    }

    async fn list(&self, prefix: &str) -> StoreResult<Vec<ObjectInfo>> {
        let mut found = Vec::new();
        let mut pages = self.client.list_objects_v2().bucket(&self.bucket).prefix(prefix).into_paginator().send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| sdk_error("s3 list", e))?;
            for o in page.contents() {
                let (Some(key), Some(modified)) = (o.key(), o.last_modified()) else { continue };
                let modified =
                    chrono::DateTime::from_timestamp(modified.secs(), modified.subsec_nanos()).unwrap_or_default();
                let size = u64::try_from(o.size().unwrap_or(0)).unwrap_or(0);
                found.push(ObjectInfo { key: key.to_owned(), size, modified });
            }
        }
        Ok(found)
    }

    async fn exists(&self, key: &str) -> StoreResult<bool> {
        if check_key(key).is_err() {
            return Ok(false);
        }
        match self.client.head_object().bucket(&self.bucket).key(key).send().await {
            Ok(_) => Ok(true),
            Err(e) if e.as_service_error().is_some_and(|s| s.is_not_found()) => Ok(false),
            Err(e) => Err(sdk_error("s3 head", e)),
        }
    }

    async fn presign_upload(
        &self,
        key: &str,
        content_type: &str,
        content_length: u64,
        ttl: Duration,
    ) -> StoreResult<Option<String>> {
        check_key(key)?;
        let length = i64::try_from(content_length).map_err(|_| StoreError::Other("s3: object too large".into()))?;
        let req = self
            .client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .content_type(content_type)
            .content_length(length)
            .presigned(presigning(ttl)?)
            .await
            .map_err(|e| sdk_error("s3 presign put", e))?;
        Ok(Some(req.uri().to_owned()))
    }

    async fn presign_download(&self, key: &str, ttl: Duration) -> StoreResult<Option<String>> {
        check_key(key)?;
        let req = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .presigned(presigning(ttl)?)
            .await
            .map_err(|e| sdk_error("s3 presign get", e))?;
        Ok(Some(req.uri().to_owned()))
    }
}
