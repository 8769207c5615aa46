//! The container file and the Kubernetes manifests (no cluster here; their
//! schemas are checked by runtime/deploy/kubernetes/validate in .ci/run).
//! This keeps them honest: they parse, they agree with each other, every
//! command, flag and environment variable in them is one mlops-host takes,
//! and the probes answer on a real `serve` started as the manifests
//! configure it.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Command;

use mlops_tests::{HostProcess, repo_root};
use serde_json::Value;

fn deploy_dir() -> PathBuf {
    repo_root().join("runtime/deploy")
}

fn manifests() -> Vec<Value> {
    let text = std::fs::read_to_string(deploy_dir().join("kubernetes/mlops-host.yaml"))
        .expect("the manifests");
    let docs: Vec<Value> = serde_saphyr::from_multiple(&text).expect("the manifests are YAML");
    assert!(!docs.is_empty());
    docs
}

fn find<'a>(docs: &'a [Value], kind: &str) -> &'a Value {
    let all: Vec<&Value> = docs.iter().filter(|d| d["kind"] == kind).collect();
    assert_eq!(all.len(), 1, "one {kind} in the manifests");
    all[0]
}

/// Environment variable names mlops-host reads: its own flags' (as
/// `--help` shows them), the CDF credentials, model secrets, and the AWS
/// names object_store's S3 client reads.
fn is_known_env(name: &str, help: &str) -> bool {
    const AWS: &[&str] = &[
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_REGION",
        "AWS_ENDPOINT",
        "AWS_ENDPOINT_URL",
        "AWS_ALLOW_HTTP",
    ];
    help.contains(&format!("[env: {name}="))
        || help.contains(&format!("[env: {name}]"))
        || AWS.contains(&name)
        || name
            .strip_prefix(mlops_cdf::ENV_PREFIX)
            .is_some_and(|k| mlops_cdf::ENV_KEYS.contains(&k))
        || name.strip_prefix("MLOPS_SECRET_").is_some_and(|k| !k.is_empty())
}

/// The CPU request of the pod's first container.
fn c_requests_cpu(pod: &Value) -> Option<&str> {
    pod["spec"]["containers"][0]["resources"]["requests"]["cpu"].as_str()
}

fn help(args: &[&str]) -> String {
    let out = Command::new(crate::bin()).args(args).arg("--help").output().expect("help");
    assert!(
        out.status.success(),
        "`mlops-host {}` is not a valid command: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
    // Wrapped lines joined, so `[env: NAME=]` reads as one piece.
    String::from_utf8_lossy(&out.stdout).split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The instructions of a Containerfile, comments and blank lines left out,
/// continuation lines joined.
fn instructions(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    for line in text.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (part, continues) = match line.strip_suffix('\\') {
            Some(part) => (part.trim_end(), true),
            None => (line, false),
        };
        if !current.is_empty() {
            current.push(' ');
        }
        current.push_str(part);
        if !continues {
            out.push(std::mem::take(&mut current));
        }
    }
    out
}

#[test]
fn both_container_files_build_a_static_binary_into_one_run_stage_from_scratch() {
    let text = std::fs::read_to_string(deploy_dir().join("Containerfile")).expect("Containerfile");
    let local = std::fs::read_to_string(deploy_dir().join("image/Containerfile"))
        .expect("image/Containerfile");
    let two_stage = instructions(&text);
    let froms: Vec<&String> = two_stage.iter().filter(|l| l.starts_with("FROM ")).collect();
    assert_eq!(froms.len(), 2, "two stages: {froms:?}");
    let build_stage = froms[0].rsplit_once(" AS ").expect("the build stage is named").1;
    assert!(
        froms[0].contains("rust:1.95"),
        "the build image has the pinned toolchain: {}",
        froms[0]
    );
    assert_eq!(froms[1], "FROM scratch", "the run image is empty but for the root file system");

    // The build stage builds the package that is the binary, statically,
    // and lays out the root file system with the script build-image uses.
    let cli = std::fs::read_to_string(repo_root().join("runtime/cli/Cargo.toml")).expect("toml");
    assert!(cli.contains("name = \"mlops-host\""));
    let build = two_stage.iter().find(|l| l.contains("cargo build")).expect("a cargo build");
    assert!(
        build.contains(
            "cargo build --profile image --locked -p mlops-host --target x86_64-unknown-linux-musl"
        ),
        "{build}"
    );
    assert!(
        build.contains(
            "runtime/deploy/image/make-rootfs target/x86_64-unknown-linux-musl/image/mlops-host \
             /etc/ssl/certs/ca-certificates.crt /image"
        ),
        "{build}"
    );
    let script = std::fs::read_to_string(deploy_dir().join("build-image")).expect("build-image");
    assert!(
        script.contains("runtime/deploy/image/make-rootfs \"$binary\" \"$ca\" \"$context\""),
        "build-image"
    );
    assert!(script.contains("-f runtime/deploy/image/Containerfile"), "build-image");

    // Both run stages are the same lines: the two-stage file copies from
    // its build stage's /image, build-image's from its context.
    let run_stage = |lines: &[String]| -> Vec<String> {
        let at = lines.iter().rposition(|l| l.starts_with("FROM ")).expect("FROM");
        lines[at..].to_vec()
    };
    let remote: Vec<String> = run_stage(&two_stage)
        .iter()
        .map(|l| l.replace(&format!("--from={build_stage} "), "").replace(" /image/", " "))
        .collect();
    assert_eq!(remote, run_stage(&instructions(&local)), "the two run stages differ");
    let lines: Vec<&str> = remote.iter().map(String::as_str).collect();
    assert!(lines.contains(&"COPY rootfs/ /"), "{lines:?}");
    // The compile cache is the user's; the ENV names it.
    assert!(lines.contains(&"COPY --chown=10001:10001 cache/ /var/cache/mlops-host/"), "{lines:?}");
    assert!(text.contains("MLOPS_CACHE_DIR=/var/cache/mlops-host"), "the ENV names the cache");

    // It runs the binary make-rootfs installs, as the user it writes.
    let layout = std::fs::read_to_string(deploy_dir().join("image/make-rootfs")).expect("layout");
    let entry = lines.iter().find(|l| l.starts_with("ENTRYPOINT")).expect("ENTRYPOINT");
    assert!(entry.contains("\"/usr/local/bin/mlops-host\""), "{entry}");
    assert!(layout.contains("\"$out/usr/local/bin/mlops-host\""), "make-rootfs installs it");
    assert!(lines.contains(&"USER 10001:10001"), "runs as 10001: {lines:?}");
    assert!(layout.contains("mlops:x:10001:10001:"), "make-rootfs names user 10001");

    // The default command parses; the port it listens on is the one exposed.
    let cmd: Vec<String> =
        serde_json::from_str(lines.iter().find_map(|l| l.strip_prefix("CMD ")).expect("CMD"))
            .expect("CMD is an exec-form JSON array");
    let args: Vec<&str> = cmd.iter().map(String::as_str).collect();
    let serve_help = help(&args);
    let listen = text
        .split_whitespace()
        .find_map(|w| w.strip_prefix("MLOPS_LISTEN="))
        .expect("ENV MLOPS_LISTEN");
    assert!(serve_help.contains("[env: MLOPS_LISTEN="), "serve reads MLOPS_LISTEN");
    let port = listen.rsplit_once(':').expect("host:port").1;
    assert!(lines.contains(&format!("EXPOSE {port}").as_str()), "EXPOSE {port}");
    assert!(serve_help.contains("[env: MLOPS_CACHE_DIR="), "serve reads MLOPS_CACHE_DIR");

    // The build context leaves out what would make it gigabytes.
    let ignore = std::fs::read_to_string(repo_root().join(".dockerignore")).expect(".dockerignore");
    assert!(ignore.lines().any(|l| l.trim() == "target/"), "target/ is sent to the build");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_kubernetes_manifests_agree_with_each_other_and_their_probes_answer() {
    let docs = manifests();
    for d in &docs {
        assert!(d["apiVersion"].is_string() && d["metadata"]["name"].is_string(), "{d}");
    }
    let config = find(&docs, "ConfigMap");
    let secret = find(&docs, "Secret");
    let deployment = find(&docs, "Deployment");
    let service = find(&docs, "Service");

    let pod = &deployment["spec"]["template"];
    let labels = &pod["metadata"]["labels"];
    assert_eq!(&deployment["spec"]["selector"]["matchLabels"], labels);
    for (k, v) in service["spec"]["selector"].as_object().expect("selector") {
        assert_eq!(&labels[k], v, "the Service selects the pods by {k}");
    }
    // The README: "a Deployment of three pods".
    assert_eq!(deployment["spec"]["replicas"].as_u64(), Some(3), "three pods");

    // The autoscaler scales this Deployment on CPU, from its three pods up;
    // the disruption budget covers the same pods and leaves most serving.
    let hpa = find(&docs, "HorizontalPodAutoscaler");
    let target = &hpa["spec"]["scaleTargetRef"];
    assert_eq!(
        (&target["kind"], &target["name"]),
        (&deployment["kind"], &deployment["metadata"]["name"])
    );
    let min = hpa["spec"]["minReplicas"].as_u64().expect("minReplicas");
    assert_eq!(
        Some(min),
        deployment["spec"]["replicas"].as_u64(),
        "the autoscaler keeps the three pods"
    );
    assert!(hpa["spec"]["maxReplicas"].as_u64().expect("maxReplicas") > min);
    let metric = &hpa["spec"]["metrics"][0]["resource"];
    assert_eq!(metric["name"], "cpu", "{hpa}");
    assert!(c_requests_cpu(pod).is_some(), "a CPU target needs a CPU request");
    let pdb = find(&docs, "PodDisruptionBudget");
    for (k, v) in pdb["spec"]["selector"]["matchLabels"].as_object().expect("selector") {
        assert_eq!(&labels[k], v, "the budget selects the pods by {k}");
    }
    let unavailable = pdb["spec"]["maxUnavailable"].as_u64().expect("maxUnavailable");
    assert!(unavailable < min, "a drain may not take {unavailable} of {min} pods");

    let containers = pod["spec"]["containers"].as_array().expect("containers");
    assert_eq!(containers.len(), 1);
    let c = &containers[0];
    let args: Vec<&str> =
        c["args"].as_array().expect("args").iter().map(|a| a.as_str().expect("str")).collect();
    let serve_help = help(&args);
    let listen = args.iter().position(|a| *a == "--listen").map(|i| args[i + 1]).expect("--listen");
    let listen_port: u64 = listen.rsplit_once(':').expect("port").1.parse().expect("port");
    let ports: BTreeMap<String, u64> = c["ports"]
        .as_array()
        .expect("ports")
        .iter()
        .map(|p| {
            (
                p["name"].as_str().unwrap_or("").to_string(),
                p["containerPort"].as_u64().expect("port"),
            )
        })
        .collect();
    assert!(ports.values().any(|p| *p == listen_port), "the container port is {listen}'s");
    let resolve = |port: &Value| -> u64 {
        match port {
            Value::String(name) => {
                *ports.get(name).unwrap_or_else(|| panic!("no port named {name}"))
            }
            Value::Number(n) => n.as_u64().expect("port"),
            other => panic!("bad port {other}"),
        }
    };
    for p in service["spec"]["ports"].as_array().expect("service ports") {
        assert_eq!(resolve(&p["targetPort"]), listen_port, "the Service targets the server");
    }

    // The grace period outlasts the server's drain.
    let grace = args
        .iter()
        .position(|a| *a == "--shutdown-grace")
        .map(|i| args[i + 1].parse::<u64>().expect("seconds"))
        .unwrap_or(30);
    let k8s_grace = pod["spec"]["terminationGracePeriodSeconds"].as_u64().expect("grace");
    assert!(k8s_grace > grace, "Kubernetes kills at {k8s_grace} s, before the {grace} s drain");

    // Limits on CPU and memory; the cache mount is where the cache goes.
    for kind in ["requests", "limits"] {
        for what in ["cpu", "memory"] {
            assert!(c["resources"][kind][what].is_string(), "resources.{kind}.{what}");
        }
    }
    let cache_dir = config["data"]["MLOPS_CACHE_DIR"]
        .as_str()
        .map(str::to_string)
        .unwrap_or_else(|| "/var/cache/mlops-host".into());
    let mounts: Vec<&str> = c["volumeMounts"]
        .as_array()
        .expect("mounts")
        .iter()
        .map(|m| m["mountPath"].as_str().expect("path"))
        .collect();
    assert!(mounts.contains(&cache_dir.as_str()), "the compile cache {cache_dir} is writable");
    // A read-only root file system; the cache, the one writable place, is
    // an emptyDir of the pod.
    assert_eq!(c["securityContext"]["readOnlyRootFilesystem"], Value::Bool(true));
    // The image's user and cache (runtime/deploy/image/make-rootfs).
    for key in ["runAsUser", "runAsGroup", "fsGroup"] {
        assert_eq!(pod["spec"]["securityContext"][key].as_u64(), Some(10001), "{key}");
    }
    assert_eq!(cache_dir, "/var/cache/mlops-host", "the image's cache folder");
    let cache_volume = c["volumeMounts"]
        .as_array()
        .expect("mounts")
        .iter()
        .find(|m| m["mountPath"] == cache_dir.as_str())
        .and_then(|m| m["name"].as_str())
        .expect("the cache mount's volume");
    let volume = pod["spec"]["volumes"]
        .as_array()
        .expect("volumes")
        .iter()
        .find(|v| v["name"] == cache_volume)
        .expect("the cache volume");
    assert!(volume["emptyDir"].is_object(), "the cache is an emptyDir: {volume}");

    // envFrom names the ConfigMap and the Secret, whose keys mlops-host reads.
    let from: Vec<&str> = c["envFrom"]
        .as_array()
        .expect("envFrom")
        .iter()
        .filter_map(|e| {
            e["configMapRef"]["name"].as_str().or_else(|| e["secretRef"]["name"].as_str())
        })
        .collect();
    assert!(from.contains(&config["metadata"]["name"].as_str().expect("name")));
    assert!(from.contains(&secret["metadata"]["name"].as_str().expect("name")));
    let global_help = help(&[]);
    let known = format!("{serve_help}{global_help}");
    let mut env: BTreeMap<String, String> = BTreeMap::new();
    for (map, field) in [(config, "data"), (secret, "stringData")] {
        for (k, v) in map[field].as_object().expect("keys") {
            assert!(is_known_env(k, &known), "{k} in the manifests is not read by mlops-host");
            env.insert(k.clone(), v.as_str().expect("string values").to_string());
        }
    }
    assert!(env.contains_key("MLOPS_STORE"), "the store is configured");
    for k in ["AWS_SECRET_ACCESS_KEY", "MLOPS_ADMIN_TOKEN", "MLOPS_CDF_CLIENT_SECRET"] {
        assert!(secret["stringData"].get(k).is_some(), "{k} belongs in the Secret");
        assert!(config["data"].get(k).is_none(), "{k} must not be in the ConfigMap");
    }

    // The probes point at routes the server has and answer on a real serve
    // started with the manifests' arguments (on a local store and a free
    // loopback port instead of the cluster's).
    let routes: Vec<&str> =
        mlops_http::ROUTES.iter().filter(|e| e.method == "GET").map(|e| e.path).collect();
    let dir = tempfile::tempdir().expect("tempdir");
    let mut cmd = mlops_tests::host_command(
        crate::bin(),
        &dir.path().join("store"),
        &dir.path().join("cache"),
    );
    for (k, v) in &env {
        if !k.starts_with("MLOPS_STORE") && !k.starts_with("AWS_") && !k.starts_with("MLOPS_CDF_") {
            cmd.env(k, v);
        }
    }
    let args: Vec<&str> =
        args.iter().map(|a| if *a == listen { "127.0.0.1:0" } else { a }).collect();
    cmd.args(&args);
    let host = HostProcess::start(cmd);
    for probe in ["livenessProbe", "readinessProbe"] {
        let get = &c[probe]["httpGet"];
        let path = get["path"].as_str().unwrap_or_else(|| panic!("{probe} has an HTTP path"));
        assert!(routes.contains(&path), "{probe} {path} is not a route: {routes:?}");
        assert_eq!(resolve(&get["port"]), listen_port, "{probe} probes the server's port");
        let (status, body) = host.get(path).await;
        assert_eq!(status, 200, "{probe} {path}: {body}");
    }
    assert_eq!(c["livenessProbe"]["httpGet"]["path"], "/healthz");
    assert_eq!(c["readinessProbe"]["httpGet"]["path"], "/readyz");
}
