//! Tools for building models in languages without a component toolchain of
//! their own (C): bindings for the contract, and turning a WASI preview-1
//! core module into a component. Built in, so that a C model needs only
//! clang, wasi-libc and this binary.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context as _, bail};
use clap::{Subcommand, ValueEnum};

/// The contract, as this host speaks it.
pub const WIT: &str = include_str!("../../../../wit/mlops.wit");

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Write bindings for the contract (mlops:model) in a guest language.
    Bindings(BindingsArgs),
    /// Turn a wasm32-wasip1 core module (a reactor, with the world's type
    /// embedded by the bindings) into a component this host runs, adapting
    /// WASI preview 1 with the adapter of this host's wasmtime.
    Componentize(ComponentizeArgs),
    /// Print the contract (wit/mlops.wit) this host speaks.
    Wit,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Lang {
    C,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum World {
    /// `prediction` only.
    Predictor,
    /// `training` only.
    Trainer,
    /// Both.
    Model,
}

impl World {
    fn name(self) -> &'static str {
        match self {
            World::Predictor => "predictor",
            World::Trainer => "trainer",
            World::Model => "model",
        }
    }
}

#[derive(Debug, clap::Args)]
pub struct BindingsArgs {
    #[arg(long, value_enum)]
    pub lang: Lang,
    #[arg(long, value_enum, default_value = "predictor")]
    pub world: World,
    /// Where to write them (created if missing).
    #[arg(long, value_name = "DIR")]
    pub out_dir: PathBuf,
}

#[derive(Debug, clap::Args)]
pub struct ComponentizeArgs {
    /// The core module clang wrote.
    pub module: PathBuf,
    /// The component to write.
    #[arg(short, long, value_name = "FILE")]
    pub output: PathBuf,
}

pub fn run(cmd: Command) -> anyhow::Result<ExitCode> {
    match cmd {
        Command::Bindings(args) => bindings(&args),
        Command::Componentize(args) => componentize(&args.module, &args.output),
        Command::Wit => {
            print!("{WIT}");
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn bindings(args: &BindingsArgs) -> anyhow::Result<ExitCode> {
    let mut resolve = wit_parser::Resolve::default();
    let package =
        resolve.push_str("mlops.wit", WIT).context("the built-in contract does not parse")?;
    let world = resolve.select_world(&[package], Some(args.world.name()))?;
    let mut files = wit_bindgen_core::Files::default();
    let mut generator = match args.lang {
        Lang::C => wit_bindgen_c::Opts::default().build(),
    };
    generator.generate(&mut resolve, world, &mut files).context("generating the bindings")?;
    std::fs::create_dir_all(&args.out_dir)
        .with_context(|| format!("cannot create {}", args.out_dir.display()))?;
    for (name, contents) in files.iter() {
        let path = args.out_dir.join(name);
        std::fs::write(&path, contents)
            .with_context(|| format!("cannot write {}", path.display()))?;
        println!("{}", path.display());
    }
    Ok(ExitCode::SUCCESS)
}

fn componentize(module: &Path, output: &Path) -> anyhow::Result<ExitCode> {
    use wasi_preview1_component_adapter_provider::{
        WASI_SNAPSHOT_PREVIEW1_ADAPTER_NAME, WASI_SNAPSHOT_PREVIEW1_REACTOR_ADAPTER,
    };
    let bytes =
        std::fs::read(module).with_context(|| format!("cannot read {}", module.display()))?;
    if bytes.get(..4) != Some(b"\0asm") {
        bail!("{} is not a WebAssembly module", module.display());
    }
    let component = wit_component::ComponentEncoder::default()
        .module(&bytes)
        .with_context(|| {
            format!(
                "{}: not a core module with the world's type embedded (link the bindings' *_component_type.o)",
                module.display()
            )
        })?
        .adapter(WASI_SNAPSHOT_PREVIEW1_ADAPTER_NAME, WASI_SNAPSHOT_PREVIEW1_REACTOR_ADAPTER)
        .context("the WASI preview-1 adapter")?
        .validate(true)
        .encode()
        .with_context(|| format!("{}: cannot make a component of it", module.display()))?;
    let tmp = output.with_extension("wasm.tmp");
    std::fs::write(&tmp, &component).with_context(|| format!("cannot write {}", tmp.display()))?;
    std::fs::rename(&tmp, output).with_context(|| format!("cannot write {}", output.display()))?;
    println!("{}", output.display());
    Ok(ExitCode::SUCCESS)
}
