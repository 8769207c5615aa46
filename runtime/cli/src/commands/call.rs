//! `mlops-host call`: call a service over HTTP and print its envelope; with
//! `--parallel`, many payloads at bounded concurrency, results in input
//! order.

use std::io::Read as _;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use bytes::Bytes;
use mlops_client::Client;
use mlops_manifest::ExternalId;
use serde_json::{Value, json};

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
    #[arg(long, short = 'd', value_name = "FILE", conflicts_with_all = ["body", "parallel"])]
    pub file: Option<PathBuf>,
    /// Call once per request body in FILE (a JSON array of bodies, or one
    /// body per line), printing a JSON array of the replies in input order.
    #[arg(long, value_name = "FILE", conflicts_with = "body")]
    pub parallel: Option<PathBuf>,
    /// With --parallel: calls in flight at once.
    #[arg(long, default_value_t = 8, value_name = "N")]
    pub concurrency: usize,
    /// Retries of a call that could not connect or got 429/503.
    #[arg(long, default_value_t = 3, value_name = "N")]
    pub retries: u32,
    /// The server to call.
    #[arg(long, env = "MLOPS_SERVER", default_value = "http://127.0.0.1:8080", value_name = "URL")]
    pub server: String,
    /// Bearer token (the caller token of the server).
    #[arg(long, env = "MLOPS_TOKEN", hide_env_values = true, value_name = "TOKEN")]
    pub token: Option<String>,
    /// Give up on one attempt after this many seconds.
    #[arg(long, default_value_t = 60, value_name = "SECONDS")]
    pub timeout: u64,
}

pub async fn run(_global: &GlobalArgs, args: Args) -> anyhow::Result<ExitCode> {
    let mut client = Client::new(&args.server)
        .map_err(|e| UsageError(format!("--server: {e}")))?
        .with_retries(args.retries)
        .with_timeout(std::time::Duration::from_secs(args.timeout))?;
    if let Some(token) = &args.token {
        client = client.with_token(token.clone());
    }
    let id = args.external_id.to_string();
    if let Some(path) = &args.parallel {
        let bodies = read_bodies(path)?;
        let replies = client.call_parallel(&id, bodies, args.concurrency).await;
        let all_ok = replies.iter().all(|r| r.as_ref().is_ok_and(mlops_client::Reply::is_ok));
        let out: Vec<Value> = replies
            .into_iter()
            .map(|r| match r {
                Ok(reply) => reply.body,
                Err(e) => json!({ "status": "error", "message": e.to_string(), "model_id": null }),
            })
            .collect();
        println!("{}", serde_json::to_string_pretty(&out)?);
        return Ok(if all_ok { ExitCode::SUCCESS } else { ExitCode::FAILURE });
    }
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
    let reply = client.call(&id, body).await.with_context(|| {
        format!("is `mlops-host serve` running at {}? (set --server)", args.server)
    })?;
    println!("{}", serde_json::to_string_pretty(&reply.body)?);
    if reply.is_ok() {
        Ok(ExitCode::SUCCESS)
    } else {
        eprintln!("HTTP {}", reply.status);
        Ok(ExitCode::FAILURE)
    }
}

/// Request bodies from a file: a JSON array of bodies, or one per line.
fn read_bodies(path: &PathBuf) -> anyhow::Result<Vec<Bytes>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    if let Ok(Value::Array(items)) = serde_json::from_str::<Value>(&text) {
        return Ok(items.into_iter().map(|v| Bytes::from(v.to_string())).collect());
    }
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, line)| {
            serde_json::from_str::<serde::de::IgnoredAny>(line)
                .map(|_| Bytes::from(line.to_string()))
                .map_err(|e| {
                    UsageError(format!("{} line {}: not JSON: {e}", path.display(), i + 1)).into()
                })
        })
        .collect()
}
