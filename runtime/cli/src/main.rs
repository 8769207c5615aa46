//! `mlops-host`: deploy, serve and call WebAssembly models.
//!
//! The only composition root: it reads the environment, picks the store,
//! builds the engine and installs logging. Exit codes: 0 success, 1 failure,
//! 2 invalid input (bad flags, invalid settings).

mod build_key;
mod commands;
mod compat;
mod context;
mod onnx;
mod progress;
mod store;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use context::GlobalArgs;

/// Deploy, serve and call machine-learning models compiled to WebAssembly
/// components, sandboxed.
#[derive(Debug, Parser)]
#[command(name = "mlops-host", version, propagate_version = true)]
struct Cli {
    #[command(flatten)]
    global: GlobalArgs,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Build, test and deploy the models of a settings file as prediction
    /// services.
    Deploy(commands::deploy::Args),
    /// Serve every deployed service over HTTP.
    Serve(commands::serve::Args),
    /// Call a service and print the response envelope.
    Call(commands::call::Args),
    /// Run the models' fixtures in the sandbox, without deploying.
    Test(commands::test::Args),
    /// Check a settings file and its fixtures without building anything; an
    /// ONNX model's graph is loaded in the sandbox (exit code 2 when
    /// something is wrong).
    Validate(commands::validate::Args),
    /// Print a shell completion script, e.g. `mlops-host completions bash >
    /// ~/.local/share/bash-completion/completions/mlops-host`.
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Measure a model: cold start, warm latency by phase, HTTP throughput.
    Bench(commands::bench::Args),
    /// The Model Manager: upload, promote, list, download, delete artifact
    /// versions; collect unused files.
    #[command(subcommand)]
    Models(commands::models::Command),
    /// Deployed services in the store.
    #[command(subcommand)]
    Services(commands::services::Command),
    /// Create a model folder (settings, model, artifact, fixture, build
    /// script) in rust, python, js, c or onnx, ready for `mlops-host test`.
    Init(commands::init::Args),
    /// Convert an akerbp.mlops project (2.5.8 or 4.1.0 settings) into an
    /// mlops-host project beside it: settings, a wrapper per model that
    /// calls the seed's functions, fixtures from its ServiceTest inputs,
    /// and a report of the hand work left (MIGRATION.md).
    Migrate(commands::migrate::Args),
    /// Build support for guest languages: bindings, componentize, the WIT.
    #[command(subcommand)]
    Guest(commands::guest::Command),
}

/// An error that sets the exit code to 2 (invalid input).
#[derive(Debug)]
pub struct UsageError(pub String);

impl std::fmt::Display for UsageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UsageError {}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // HTTPS (CDF, S3) is rustls with ring, installed before any client.
    mlops_client::install_tls_provider();
    // Held to the end: it flushes the log on drop.
    let _log = context::init_logging(&cli.global, matches!(cli.command, Command::Serve(_)));
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        match cli.command {
            Command::Deploy(args) => commands::deploy::run(&cli.global, args).await,
            Command::Serve(args) => commands::serve::run(&cli.global, args).await,
            Command::Call(args) => commands::call::run(&cli.global, args).await,
            Command::Test(args) => commands::test::run(&cli.global, args).await,
            Command::Bench(args) => commands::bench::run(&cli.global, args).await,
            Command::Models(cmd) => commands::models::run(&cli.global, cmd).await,
            Command::Services(cmd) => commands::services::run(&cli.global, cmd).await,
            Command::Guest(cmd) => commands::guest::run(cmd),
            Command::Init(args) => commands::init::run(&cli.global, args).await,
            Command::Migrate(args) => commands::migrate::run(args).await,
            Command::Validate(args) => commands::validate::run(&cli.global, args).await,
            Command::Completions { shell } => {
                use clap::CommandFactory as _;
                clap_complete::generate(
                    shell,
                    &mut Cli::command(),
                    "mlops-host",
                    &mut std::io::stdout(),
                );
                Ok(ExitCode::SUCCESS)
            }
        }
    });
    match result {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err}");
            for cause in err.chain().skip(1) {
                eprintln!("  caused by: {cause}");
            }
            if err.chain().any(|c| c.to_string().starts_with("invalid peer certificate")) {
                eprintln!(
                    "  hint: the server's TLS certificate is not trusted here; if it comes from \
                     your own CA, name its PEM file with SSL_CERT_FILE=<ca.pem>"
                );
            }
            let invalid_input = err.downcast_ref::<UsageError>().is_some()
                || err.downcast_ref::<mlops_manifest::SettingsError>().is_some()
                || matches!(
                    err.downcast_ref::<mlops_registry::RegistryError>(),
                    Some(
                        mlops_registry::RegistryError::Invalid(_)
                            | mlops_registry::RegistryError::NotFound { .. }
                    )
                );
            if invalid_input { ExitCode::from(2) } else { ExitCode::FAILURE }
        }
    }
}
