//! `mlops-host serve`: load every service in the store, serve it, and keep
//! in step with the store.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context as _;
use mlops_core::{Host, WatchOptions};
use mlops_http::{App, AppOptions, Auth};

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
    /// made by any process (one HEAD request of a change marker each time;
    /// the services are listed only when it moved).
    #[arg(long, env = "MLOPS_WATCH_INTERVAL", default_value_t = 2.0, value_name = "SECONDS")]
    pub watch_interval: f64,
    /// List every service record at least this often even if the change
    /// marker did not move (a safety net for writers other than mlops-host).
    #[arg(long, env = "MLOPS_RESYNC_INTERVAL", default_value_t = 60.0, value_name = "SECONDS")]
    pub resync_interval: f64,
    /// How long a client may take to send a request's head (slow clients
    /// are cut off rather than holding a connection).
    #[arg(long, default_value_t = 10.0, value_name = "SECONDS")]
    pub header_timeout: f64,
    /// How long a client may take to send a request's body (answered 408).
    #[arg(long, default_value_t = 30.0, value_name = "SECONDS")]
    pub body_timeout: f64,
    /// Token for the admin routes (deploy, delete, redeploy). Prefer the
    /// environment variable: command lines are visible to other users.
    #[arg(long, env = "MLOPS_ADMIN_TOKEN", hide_env_values = true, value_name = "TOKEN")]
    pub admin_token: Option<String>,
    /// Token for calls and listings (the admin token works too).
    #[arg(long, env = "MLOPS_CALLER_TOKEN", hide_env_values = true, value_name = "TOKEN")]
    pub caller_token: Option<String>,
    /// Serve the dashboard at http://ADDR/ui/ (a port of its own; the API
    /// answers there too, behind the dashboard's security headers). Its
    /// admin actions need MLOPS_ADMIN_TOKEN. Loopback unless exposed on
    /// purpose.
    #[arg(long, env = "MLOPS_UI", value_name = "ADDR")]
    pub ui: Option<SocketAddr>,
}

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub listen: ListenArgs,
}

pub async fn run(global: &GlobalArgs, args: Args) -> anyhow::Result<ExitCode> {
    let args = args.listen;
    let seconds = |value: f64, flag: &str| {
        Duration::try_from_secs_f64(value)
            .ok()
            .filter(|d| !d.is_zero())
            .ok_or_else(|| UsageError(format!("{flag} must be a positive number of seconds")))
    };
    let watch = WatchOptions {
        interval: seconds(args.watch_interval, "--watch-interval")?,
        resync: seconds(args.resync_interval, "--resync-interval")?,
    };
    let registry = global.registry()?;
    let engine = global.engine()?;
    let options = AppOptions {
        auth: Auth::new(args.admin_token.as_deref(), args.caller_token.as_deref()),
        header_timeout: seconds(args.header_timeout, "--header-timeout")?,
        body_timeout: seconds(args.body_timeout, "--body-timeout")?,
        dashboard: false,
    };
    let host =
        Host::new(global.loader(registry.clone(), engine)?, global.cache_dir().join("scratch"));
    let app = App::new(host.clone(), options);
    // Listen at once: /healthz answers while the services load, and /readyz
    // says "loading" (503) until they have, so a load balancer or
    // Kubernetes sends no traffic to a host that is still compiling.
    let listener = tokio::net::TcpListener::bind(args.listen).await.with_context(|| {
        format!(
            "cannot listen on {} (is another server running? pick one with --listen)",
            args.listen
        )
    })?;
    let addr = listener.local_addr().unwrap_or(args.listen);
    eprintln!(
        "mlops-host: listening on http://{addr}; loading the services in {}",
        registry.location()
    );
    let dashboard = match args.ui {
        Some(ui) => {
            let ui_listener = tokio::net::TcpListener::bind(ui).await.with_context(|| {
                format!("cannot listen on {ui} for the dashboard (pick another with --ui)")
            })?;
            let ui = ui_listener.local_addr().unwrap_or(ui);
            eprintln!("mlops-host: dashboard on http://{ui}/ui/");
            Some((app.dashboard(), ui_listener))
        }
        None => None,
    };
    // One signal stops both listeners.
    let (stop, stopped) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        mlops_http::shutdown_signal().await;
        let _ = stop.send(true);
    });
    let on_stop = move || {
        let mut stopped = stopped.clone();
        async move {
            let _ = stopped.wait_for(|s| *s).await;
        }
    };
    let grace = Duration::from_secs(args.shutdown_grace);
    let ui_served = dashboard
        .map(|(app, listener)| tokio::spawn(mlops_http::serve(app, listener, on_stop(), grace)));
    let served = tokio::spawn(mlops_http::serve(app, listener, on_stop(), grace));
    match host.sync().await {
        Ok(report) => {
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
        }
        // A store that is down at start is not fatal: the watcher retries
        // and the host reports not ready until it has read the store.
        Err(e) => eprintln!(
            "mlops-host: cannot list the services in {} ({e}); listening on http://{addr}, not ready, retrying every {:?}",
            registry.location(),
            watch.interval
        ),
    }
    let watcher = host.spawn_watch(watch);
    let served = served.await;
    if let Some(ui) = ui_served {
        ui.await.context("the dashboard's task failed")?.context("the dashboard failed")?;
    }
    watcher.abort();
    served.context("the server task failed")?.context("the server failed")?;
    Ok(ExitCode::SUCCESS)
}
