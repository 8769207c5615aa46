//! `mlops-host serve`: load every service in the store, serve it, and keep
//! in step with the store.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context as _;
use mlops_server::{App, AppOptions, Auth};

use crate::UsageError;
use crate::context::GlobalArgs;

#[derive(Debug, Clone, clap::Args)]
pub struct ListenArgs {
    /// Address to listen on. Loopback by default: expose it on purpose.
    #[arg(long, env = "MLOPS_LISTEN", default_value = "127.0.0.1:8080", value_name = "ADDR")]
    pub listen: SocketAddr,
    /// How long requests in flight may take to finish after Ctrl-C/SIGTERM.
    #[arg(long, default_value_t = 30, value_name = "SECONDS")]
    pub shutdown_grace: u64,
    /// How often to look in the store for deploys, redeploys and deletes
    /// made by any process.
    #[arg(long, default_value_t = 2.0, value_name = "SECONDS")]
    pub watch_interval: f64,
    /// Token for the admin routes (deploy, delete, redeploy). Prefer the
    /// environment variable: command lines are visible to other users.
    #[arg(long, env = "MLOPS_ADMIN_TOKEN", hide_env_values = true, value_name = "TOKEN")]
    pub admin_token: Option<String>,
    /// Token for calls and listings (the admin token works too).
    #[arg(long, env = "MLOPS_CALLER_TOKEN", hide_env_values = true, value_name = "TOKEN")]
    pub caller_token: Option<String>,
}

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub listen: ListenArgs,
}

pub async fn run(global: &GlobalArgs, args: Args) -> anyhow::Result<ExitCode> {
    let args = args.listen;
    let watch =
        Duration::try_from_secs_f64(args.watch_interval).ok().filter(|d| !d.is_zero()).ok_or_else(
            || UsageError("--watch-interval must be a positive number of seconds".into()),
        )?;
    let registry = global.registry()?;
    let engine = global.engine()?;
    let options = AppOptions {
        auth: Auth::new(args.admin_token.as_deref(), args.caller_token.as_deref()),
        scratch_dir: global.cache_dir().join("scratch"),
    };
    let app = App::new(global.loader(registry.clone(), engine)?, options);
    let report = app
        .load_all()
        .await
        .map_err(anyhow::Error::msg)
        .with_context(|| format!("cannot list the services in {}", registry.location()))?;
    // Bind only after loading, so a load balancer never reaches a host that
    // is still compiling.
    let listener = tokio::net::TcpListener::bind(args.listen).await.with_context(|| {
        format!(
            "cannot listen on {} (is another server running? pick one with --listen)",
            args.listen
        )
    })?;
    let addr = listener.local_addr().unwrap_or(args.listen);
    tracing::info!(
        store = %registry.location(),
        loaded = report.loaded.len(),
        failed = report.failed.len(),
        "listening on http://{addr}"
    );
    eprintln!(
        "mlops-host: serving {} service(s) from {} on http://{addr}",
        report.loaded.len(),
        registry.location()
    );
    for id in &report.loaded {
        eprintln!("  POST http://{addr}/services/{id}/call");
    }
    for (id, why) in &report.failed {
        eprintln!("  not loaded: {id}: {why}");
    }
    let watcher = app.spawn_watch(watch);
    let served = mlops_server::serve(
        app,
        listener,
        mlops_server::shutdown_signal(),
        Duration::from_secs(args.shutdown_grace),
    )
    .await;
    watcher.abort();
    served.context("the server failed")?;
    Ok(ExitCode::SUCCESS)
}
