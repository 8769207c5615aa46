//! `mlops-host call`: call a service over HTTP and print its envelope.

use std::io::Read as _;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use mlops_manifest::ExternalId;

use crate::UsageError;
use crate::context::GlobalArgs;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The service: `<model>-<service>-<env>` (latest) or
    /// `<model>-<service>-<env>-<version>`.
    pub external_id: ExternalId,
    /// The request body, e.g. '{"data": {"ACS": [190.0]}}'. Read from
    /// --file, or from stdin when neither is given.
    pub body: Option<String>,
    /// Read the request body from this file (`-` for stdin).
    #[arg(long, short = 'd', value_name = "FILE", conflicts_with = "body")]
    pub file: Option<PathBuf>,
    /// The server to call.
    #[arg(long, env = "MLOPS_SERVER", default_value = "http://127.0.0.1:8080", value_name = "URL")]
    pub server: String,
    /// Give up after this many seconds.
    #[arg(long, default_value_t = 60, value_name = "SECONDS")]
    pub timeout: u64,
}

pub async fn run(_global: &GlobalArgs, args: Args) -> anyhow::Result<ExitCode> {
    let body = match (&args.body, &args.file) {
        (Some(body), _) => body.clone().into_bytes(),
        (None, Some(path)) if path.as_os_str() != "-" => {
            std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?
        }
        _ => {
            let mut buf = Vec::new();
            std::io::stdin().read_to_end(&mut buf).context("cannot read the body from stdin")?;
            buf
        }
    };
    if serde_json::from_slice::<serde::de::IgnoredAny>(&body).is_err() {
        return Err(
            UsageError("the request body is not valid JSON; send {\"data\": …}".into()).into()
        );
    }
    let url = format!("{}/services/{}/call", args.server.trim_end_matches('/'), args.external_id);
    let client = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(args.timeout))
        .build()
        .context("cannot build the HTTP client")?;
    let response = client
        .post(&url)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .with_context(|| {
            format!("cannot reach {url} (is `mlops-host serve` running? set --server)")
        })?;
    let status = response.status();
    let text = response.text().await.context("cannot read the response")?;
    match serde_json::from_str::<serde_json::Value>(&text) {
        Ok(v) => println!("{}", serde_json::to_string_pretty(&v).unwrap_or(text)),
        Err(_) => println!("{text}"),
    }
    if status.is_success() {
        Ok(ExitCode::SUCCESS)
    } else {
        eprintln!("HTTP {status}");
        Ok(ExitCode::FAILURE)
    }
}
