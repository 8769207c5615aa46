//! `mlops-host serve`: load every service in the store and serve it.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context as _;
use mlops_server::App;

use crate::context::GlobalArgs;

#[derive(Debug, Clone, clap::Args)]
pub struct ListenArgs {
    /// Address to listen on. Loopback by default: expose it on purpose.
    #[arg(long, env = "MLOPS_LISTEN", default_value = "127.0.0.1:8080", value_name = "ADDR")]
    pub listen: SocketAddr,
    /// How long requests in flight may take to finish after Ctrl-C/SIGTERM.
    #[arg(long, default_value_t = 30, value_name = "SECONDS")]
    pub shutdown_grace: u64,
}

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub listen: ListenArgs,
}

pub async fn run(global: &GlobalArgs, args: Args) -> anyhow::Result<ExitCode> {
    let registry = global.registry()?;
    let engine = global.engine()?;
    let app = App::new(global.loader(registry.clone(), engine));
    let report = app
        .load_all()
        .await
        .map_err(anyhow::Error::msg)
        .with_context(|| format!("cannot list the services in {}", registry.location()))?;
    // Bind only after loading, so a load balancer never reaches a host that
    // is still compiling.
    let listener = tokio::net::TcpListener::bind(args.listen.listen).await.with_context(|| {
        format!(
            "cannot listen on {} (is another server running? pick one with --listen)",
            args.listen.listen
        )
    })?;
    let addr = listener.local_addr().unwrap_or(args.listen.listen);
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
    mlops_server::serve(
        app,
        listener,
        mlops_server::shutdown_signal(),
        Duration::from_secs(args.listen.shutdown_grace),
    )
    .await
    .context("the server failed")?;
    Ok(ExitCode::SUCCESS)
}
