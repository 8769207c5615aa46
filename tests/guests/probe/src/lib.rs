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
    /// The secrets `initialization` was handed, by name.
    init_secrets: Vec<String>,
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
        let init_secrets = init.secret_names().map(str::to_string).collect();
        Ok(Probe { init_mode: mode, init_secrets })
    }

    fn predict(&self, input: Payload, ctx: &Context<'_>) -> Result<Payload, ModelError> {
        let calls = CALLS.fetch_add(1, Ordering::SeqCst) + 1;
        // Columns come back as they went in: the component-model boundary
        // round trip (the `boundary` fuzz target).
        let input = match input {
            Payload::Frame(frame) => return Ok(Payload::Frame(frame)),
            other => other,
        };
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
            "read" => attacks::read(req["path"].as_str().unwrap_or("/etc/passwd")),
            "write" => attacks::write(req["path"].as_str().unwrap_or("/artifacts/written.txt")),
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
            // Every secret this call and `initialization` were handed, by
            // name: what a model gets besides what it asks for by name.
            "secret_names" => {
                let call: Vec<&str> = ctx.secret_names().collect();
                json!({ "call": call, "init": self.init_secrets })
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
            // Integer division by zero, as the wasm instruction: a trap.
            // The divisor comes from the request (zero by default) so that the
            // compiler cannot know it.
            "divide" => json!({ "q": attacks::divide(1, req["by"].as_u64().unwrap_or(0)) }),
            // Rust's own check of the same: a panic.
            "divide_checked" => {
                json!({ "q": std::hint::black_box(1u64) / std::hint::black_box(0u64) })
            }
            // An answer of `mb` MiB.
            "big" => {
                let mb = usize::try_from(req["mb"].as_u64().unwrap_or(1)).unwrap_or(usize::MAX);
                Value::String("x".repeat(mb << 20))
            }
            // Sockets: connect to `addr` over TCP, bind a UDP socket,
            // look up `host`.
            "net" => attacks::net(
                req["addr"].as_str().unwrap_or("127.0.0.1:80"),
                req["host"].as_str().unwrap_or("localhost"),
            ),
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

/// The attacks that are plain functions, so that a test can run the same
/// code outside the sandbox (where it must succeed) as inside it (where it
/// must fail): each says `ok`, and on failure the error's kind and text.
pub mod attacks {
    use serde_json::{Value, json};

    fn outcome<T>(result: std::io::Result<T>, ok: impl FnOnce(T) -> Value) -> Value {
        match result {
            Ok(v) => {
                let mut out = json!({ "ok": true });
                if let (Value::Object(o), Value::Object(extra)) = (&mut out, ok(v)) {
                    o.extend(extra);
                }
                out
            }
            Err(e) => {
                json!({ "ok": false, "kind": format!("{:?}", e.kind()), "error": e.to_string() })
            }
        }
    }

    /// Reads a file.
    pub fn read(path: &str) -> Value {
        outcome(std::fs::read_to_string(path), |text| json!({ "content": text }))
    }

    /// Writes a file.
    pub fn write(path: &str) -> Value {
        outcome(std::fs::write(path, "probe was here"), |()| json!({}))
    }

    /// Connects to `addr` over TCP, binds a UDP socket, looks `host` up.
    pub fn net(addr: &str, host: &str) -> Value {
        let tcp = outcome(std::net::TcpStream::connect(addr), |_| json!({}));
        let udp = outcome(std::net::UdpSocket::bind("127.0.0.1:0"), |_| json!({}));
        let dns = outcome(
            std::net::ToSocketAddrs::to_socket_addrs(&(host, 80)),
            |found| json!({ "addresses": found.count() }),
        );
        json!({ "tcp": tcp, "udp": udp, "dns": dns })
    }

    /// `a / b` as WebAssembly's `i64.div_u`, without Rust's check for zero:
    /// on wasm32 a zero `b` traps in the instruction itself.
    #[cfg(target_arch = "wasm32")]
    #[inline(never)]
    #[allow(unsafe_code, reason = "a hostile guest: the division must reach the wasm instruction")]
    pub fn divide(a: u64, b: u64) -> u64 {
        // SAFETY: none, on purpose: `b` may be zero. The promise removes
        // Rust's check, so LLVM emits a bare `i64.div_u`, which traps on zero
        // in the sandbox; that trap is what the host is tested on. `b` comes
        // from the request and the function is not inlined, so the compiler
        // cannot see the zero and do anything else with it (the hostile test
        // fails if the call does not trap).
        unsafe {
            std::hint::assert_unchecked(b != 0);
        }
        a / b
    }

    /// Outside wasm: Rust's checked division (a zero `b` panics).
    #[cfg(not(target_arch = "wasm32"))]
    pub fn divide(a: u64, b: u64) -> u64 {
        a / b
    }
}

mlops_sdk::export_model!(Probe);
