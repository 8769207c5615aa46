//! The store a command works on, from `--store`/`MLOPS_STORE`: the one
//! place that reads store credentials from the environment.

use std::path::PathBuf;
use std::sync::Arc;

use mlops_registry::{Registry, RegistryError};
use object_store::ObjectStore;

/// Opens the store at `location`:
/// - a folder path (created if missing) or `file:///abs/path`;
/// - `memory://`: in this process only;
/// - `s3://bucket[/prefix]`: configured from the environment as the AWS
///   tools are (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_REGION`,
///   `AWS_ENDPOINT` or `AWS_ENDPOINT_URL` for an S3-compatible server,
///   `AWS_ALLOW_HTTP=true` for plain HTTP);
/// - `cdf://[<data set>][/<prefix>]`: CDF Files in that data set (`mlops`
///   when empty), with the credentials in `MLOPS_CDF_*`.
pub fn open(location: &str) -> Result<Registry, RegistryError> {
    let open_err = |why: String| RegistryError::Open { location: location.to_string(), why };
    if location == "memory://" || location == "memory:" {
        return Ok(Registry::memory());
    }
    if let Some(rest) = location.strip_prefix("s3://") {
        let store = s3(rest).map_err(open_err)?;
        return Ok(Registry::new(store, location));
    }
    if location.starts_with("cdf://") {
        let store = cdf(location).map_err(open_err)?;
        return Ok(Registry::new(store, location));
    }
    let path = if let Some(rest) = location.strip_prefix("file://") {
        PathBuf::from(rest)
    } else if location.contains("://") {
        let scheme = location.split("://").next().unwrap_or_default();
        return Err(open_err(format!(
            "`{scheme}://` stores are not supported; use a folder path, file:///path, s3://bucket/prefix or cdf://data-set/prefix"
        )));
    } else {
        PathBuf::from(location)
    };
    Registry::local(&path)
}

fn s3(rest: &str) -> Result<Arc<dyn ObjectStore>, String> {
    let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
    if bucket.is_empty() {
        return Err("no bucket: use s3://<bucket>[/<prefix>]".into());
    }
    // Retries ride out a blip; an outage surfaces within seconds instead of
    // object_store's default three minutes (a watching host retries on its
    // next tick, a CLI user sees the error).
    let retry = object_store::RetryConfig {
        max_retries: 4,
        retry_timeout: std::time::Duration::from_secs(10),
        ..Default::default()
    };
    let mut builder =
        object_store::aws::AmazonS3Builder::from_env().with_bucket_name(bucket).with_retry(retry);
    // The AWS CLI's name for a custom endpoint, besides object_store's.
    if let Ok(endpoint) = std::env::var("AWS_ENDPOINT_URL") {
        builder = builder.with_endpoint(endpoint);
    }
    let s3 = builder.build().map_err(|e| e.to_string())?;
    let prefix = prefix.trim_matches('/');
    Ok(if prefix.is_empty() {
        Arc::new(s3)
    } else {
        Arc::new(object_store::prefix::PrefixStore::new(s3, prefix))
    })
}

fn cdf(location: &str) -> Result<Arc<dyn ObjectStore>, String> {
    let config = crate::compat::cdf_config().map_err(|e| e.to_string())?.ok_or_else(|| {
        format!(
            "a CDF store needs credentials: set {p}BASE_URL, {p}PROJECT, {p}TOKEN_URL, {p}CLIENT_ID and {p}CLIENT_SECRET (or {p}CLIENT_SECRET_FILE), or the Python framework's COGNITE_* names",
            p = mlops_cdf::ENV_PREFIX
        )
    })?;
    let client = mlops_cdf::CdfClient::new(config).map_err(|e| e.to_string())?;
    let store = mlops_cdf::CdfStore::from_url(client, location).map_err(|e| e.to_string())?;
    Ok(Arc::new(store))
}

#[cfg(test)]
mod tests {
    #[test]
    fn unsupported_store_urls_are_named() {
        let err = super::open("gs://bucket").expect_err("unsupported");
        assert!(err.to_string().contains("`gs://` stores are not supported"), "{err}");
        let err = super::open("s3://").expect_err("no bucket");
        assert!(err.to_string().contains("no bucket"), "{err}");
    }
}
