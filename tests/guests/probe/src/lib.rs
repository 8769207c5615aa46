//! A model for the host's tests. Each request is a JSON document whose `op`
//! says what to do; the artifact file `init.txt`, if present, says what
//! `initialization` does (`ok`, `loop`, `alloc`, `fail`, `panic`).
//!
//! It is deliberately hostile where asked to be: it loops forever, allocates
//! without bound, recurses without end, panics, traps, answers with
//! megabytes, floods the log, tries sockets, and tries to read and write
//! files it should not reach.

use std::sync::atomic::{AtomicU64, Ordering};

use mlops_sdk::{Context, Init, Model, ModelError, Payload, Schema, Signature};
use serde_json::{Value, json};

/// `initialization` runs in this instance this many times (must stay 1).
static INITS: AtomicU64 = AtomicU64::new(0);
/// `predict` calls in this instance.
static CALLS: AtomicU64 = AtomicU64::new(0);

pub struct Probe {
    init_mode: String,
}

impl Model for Probe {
    fn initialization(init: Init<'_>) -> Result<Self, ModelError> {
        INITS.fetch_add(1, Ordering::SeqCst);
        let mode = match init.artifact_folder() {
            Some(_) => init.read_artifact_string("init.txt").unwrap_or_else(|_| "ok".into()),
            None => "ok".into(),
        };
        let mode = mode.trim().to_string();
        match mode.as_str() {
            "loop" => spin(),
            "alloc" => hog(),
            "fail" => return Err(ModelError::bad_artifact("init.txt says fail")),
            "panic" => panic!("init.txt says panic"),
            _ => {}
        }
        Ok(Probe { init_mode: mode })
    }

    fn predict(&self, input: Payload, ctx: &Context<'_>) -> Result<Payload, ModelError> {
        let calls = CALLS.fetch_add(1, Ordering::SeqCst) + 1;
        let req: Value = serde_json::from_str(input.json()?)
            .map_err(|e| ModelError::bad_input(format!("not JSON: {e}")))?;
        let op = req["op"].as_str().unwrap_or("count");
        let out = match op {
            "count" => json!({
                "inits": INITS.load(Ordering::SeqCst),
                "calls": calls,
                "init_mode": self.init_mode,
            }),
            "echo" => req["value"].clone(),
            "loop" => spin(),
            "alloc" => hog(),
            "recurse" => json!({ "depth": recurse(req["depth"].as_u64().unwrap_or(u64::MAX)) }),
            "panic" => panic!("{}", req["message"].as_str().unwrap_or("probe panicked")),
            "error" => {
                let message = req["message"].as_str().unwrap_or("probe error").to_string();
                return Err(match req["kind"].as_str() {
                    Some("internal") => ModelError::internal(message),
                    _ => ModelError::bad_input(message),
                });
            }
            "read" => {
                let path = req["path"].as_str().unwrap_or("/etc/passwd");
                match std::fs::read_to_string(path) {
                    Ok(text) => json!({ "ok": true, "content": text }),
                    Err(e) => json!({ "ok": false, "error": e.to_string() }),
                }
            }
            "write" => {
                let path = req["path"].as_str().unwrap_or("/artifacts/written.txt");
                match std::fs::write(path, "probe was here") {
                    Ok(()) => json!({ "ok": true }),
                    Err(e) => json!({ "ok": false, "error": e.to_string() }),
                }
            }
            "list" => {
                let path = req["path"].as_str().unwrap_or("/");
                match std::fs::read_dir(path) {
                    Ok(entries) => {
                        let names: Vec<String> = entries
                            .filter_map(Result::ok)
                            .map(|e| e.file_name().to_string_lossy().into_owned())
                            .collect();
                        json!({ "ok": true, "entries": names })
                    }
                    Err(e) => json!({ "ok": false, "error": e.to_string() }),
                }
            }
            "env" => json!({ "vars": std::env::vars().count() }),
            // Whether the secret is there and how long it is; never its
            // value (the tests check no secret reaches a response or log).
            "secret" => {
                let value = ctx.secret(req["name"].as_str().unwrap_or(""));
                json!({ "present": value.is_some(), "len": value.map(|v| v.len()) })
            }
            // Tries to leak a declared secret: logs it, prints it, then fails
            // with it in the message (`"how": "error"`) or panics with it.
            "leak" => {
                let value = ctx.secret(req["name"].as_str().unwrap_or("")).unwrap_or_default();
                mlops_sdk::log::info(&format!("the secret is {value}"));
                println!("printed secret: {value}");
                eprintln!("to stderr: {value}");
                if req["how"] == "panic" {
                    panic!("panicking with the secret {value}");
                }
                return Err(ModelError::internal(format!("failing with the secret {value}")));
            }
            "log" => {
                for i in 0..req["lines"].as_u64().unwrap_or(1) {
                    mlops_sdk::log::info(&format!("probe log line {i}"));
                }
                json!({ "logged": true })
            }
            "print" => {
                println!("{}", req["text"].as_str().unwrap_or("printed"));
                json!({ "printed": true })
            }
            "sleep_ms" => {
                let until = std::time::Instant::now()
                    + std::time::Duration::from_millis(req["ms"].as_u64().unwrap_or(10));
                while std::time::Instant::now() < until {
                    std::hint::spin_loop();
                }
                json!({ "slept": true })
            }
            // A WebAssembly `unreachable`: a trap with no panic message.
            "trap" => unreachable_trap(),
            // Integer division by zero (Rust checks it and panics).
            "divide" => json!({ "q": std::hint::black_box(1u64) / std::hint::black_box(0u64) }),
            // An answer of `mb` MiB.
            "big" => {
                let mb = usize::try_from(req["mb"].as_u64().unwrap_or(1)).unwrap_or(usize::MAX);
                Value::String("x".repeat(mb << 20))
            }
            // Sockets: connect to `addr` over TCP, bind a UDP socket.
            "net" => {
                let addr = req["addr"].as_str().unwrap_or("127.0.0.1:80");
                let tcp = std::net::TcpStream::connect(addr).map(|_| ()).map_err(|e| e.to_string());
                let udp =
                    std::net::UdpSocket::bind("0.0.0.0:0").map(|_| ()).map_err(|e| e.to_string());
                let lookup = std::net::ToSocketAddrs::to_socket_addrs(&("example.com", 80))
                    .map(|_| ())
                    .map_err(|e| e.to_string());
                json!({ "tcp": format!("{tcp:?}"), "udp": format!("{udp:?}"), "dns": format!("{lookup:?}") })
            }
            other => return Err(ModelError::bad_input(format!("unknown op `{other}`"))),
        };
        Ok(Payload::Json(out.to_string()))
    }

    fn signature() -> Signature {
        Signature { inputs: Schema::Json, outputs: Schema::Json }
    }

    /// Writes `{"write_mb": n}` MiB into the output folder, 1 MiB per file,
    /// then panics if `{"panic": true}` (a run that dies half-way).
    fn train(
        data: Payload,
        folder: &std::path::Path,
        _ctx: &Context<'_>,
    ) -> Result<Vec<(String, String)>, ModelError> {
        let req: Value = serde_json::from_str(data.json()?)
            .map_err(|e| ModelError::bad_input(format!("not JSON: {e}")))?;
        let mb = req["write_mb"].as_u64().unwrap_or(1);
        let block = vec![7u8; 1 << 20];
        for i in 0..mb {
            std::fs::write(folder.join(format!("part-{i}.bin")), &block)
                .map_err(|e| ModelError::internal(format!("write: {e}")))?;
        }
        if req["panic"].as_bool() == Some(true) {
            panic!("probe died after writing {mb} MiB");
        }
        Ok(vec![("written_mb".to_string(), mb.to_string())])
    }
}

/// Executes WebAssembly's `unreachable` instruction.
fn unreachable_trap() -> ! {
    #[cfg(target_arch = "wasm32")]
    core::arch::wasm32::unreachable();
    #[cfg(not(target_arch = "wasm32"))]
    std::process::abort()
}

/// Never returns.
fn spin() -> ! {
    let mut x = 0u64;
    loop {
        x = std::hint::black_box(x.wrapping_add(1));
    }
}

/// Allocates 1 MiB blocks, touching each, until allocation fails.
fn hog() -> ! {
    let mut blocks: Vec<Vec<u8>> = Vec::new();
    loop {
        blocks.push(vec![1u8; 1 << 20]);
        std::hint::black_box(&blocks);
    }
}

/// Recurses `depth` times with a frame the optimiser cannot remove.
fn recurse(depth: u64) -> u64 {
    if depth == 0 {
        return 0;
    }
    let frame = std::hint::black_box([depth; 32]);
    1 + recurse(depth - 1) + std::hint::black_box(frame[7] - depth)
}

mlops_sdk::export_model!(Probe);
