//! The image `runtime/deploy/build-image` makes, run for real with podman
//! (`MLOPS_TEST_IMAGE` names it; .ci/run builds it): what is in it, and
//! three containers of it on one S3 store (SeaweedFS), on loopback, as an
//! operator would run them: non-root, read-only root file system, the
//! compile cache the only writable volume, no capabilities.

use std::collections::BTreeMap;
use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use mlops_tests::{HostProcess, repo_root};

use crate::scale::{deploy, s3_location, served, until_all_serve};

/// The image under test, or `None` (with a note) when none was built.
fn image(test: &str) -> Option<String> {
    let Ok(image) = std::env::var("MLOPS_TEST_IMAGE") else {
        mlops_tests::skip(
            test,
            "no image: runtime/deploy/build-image localhost/mlops-host:test, then \
             MLOPS_TEST_IMAGE=localhost/mlops-host:test",
        );
        return None;
    };
    Some(image)
}

/// `podman`, with the settings build-image used unless CONTAINERS_CONF says.
fn podman() -> Command {
    let mut cmd = Command::new("podman");
    if std::env::var_os("CONTAINERS_CONF").is_none() {
        cmd.env("CONTAINERS_CONF", repo_root().join("runtime/deploy/image/containers.conf"));
    }
    cmd
}

/// Runs `podman args…`; on success its stdout, else its stderr.
fn podman_output(args: &[&str]) -> Result<Vec<u8>, String> {
    let out = podman().args(args).output().expect("run podman");
    if out.status.success() {
        Ok(out.stdout)
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

fn podman_ok(args: &[&str]) -> String {
    let out = podman_output(args).unwrap_or_else(|e| panic!("podman {}: {e}", args.join(" ")));
    String::from_utf8(out).expect("UTF-8").trim().to_string()
}

/// A name no other run of this test uses.
fn unique(what: &str) -> String {
    format!("mlops-test-{what}-{}", std::process::id())
}

/// A container or volume, removed when dropped (a container killed first
/// if it still runs).
struct Removed(Vec<String>);

impl Removed {
    fn container(name: &str) -> Removed {
        Removed(["rm", "--force", "--time", "0", name].map(String::from).to_vec())
    }

    fn volume(name: &str) -> Removed {
        Removed(["volume", "rm", "--force", name].map(String::from).to_vec())
    }
}

impl Drop for Removed {
    fn drop(&mut self) {
        let _ = podman().args(&self.0).output();
    }
}

/// Static busybox from Debian (busybox-static), mounted read-only into the
/// containers to look around inside them: the image has no shell.
const BUSYBOX: &str = "/bin/busybox";

#[test]
fn the_image_holds_a_static_binary_ca_roots_and_a_user_and_nothing_else() {
    let Some(image) = image("containers::the image's content") else { return };

    // How it runs: as 10001, `serve` on 0.0.0.0:8080, cache in the volume.
    let inspect: serde_json::Value =
        serde_json::from_str(&podman_ok(&["image", "inspect", &image])).expect("JSON");
    let config = &inspect[0]["Config"];
    assert_eq!(config["User"], "10001:10001", "{config}");
    assert_eq!(config["Entrypoint"], serde_json::json!(["/usr/local/bin/mlops-host"]));
    assert_eq!(config["Cmd"], serde_json::json!(["serve"]));
    let env: Vec<&str> =
        config["Env"].as_array().expect("Env").iter().filter_map(|v| v.as_str()).collect();
    for var in ["MLOPS_LISTEN=0.0.0.0:8080", "MLOPS_CACHE_DIR=/var/cache/mlops-host"] {
        assert!(env.contains(&var), "{var} not in {env:?}");
    }
    assert!(config["ExposedPorts"].get("8080/tcp").is_some(), "{config}");
    let size = inspect[0]["Size"].as_u64().expect("Size");
    eprintln!("containers: {image} is {:.1} MB", size as f64 / 1e6);
    // The goal, met by the image profile (fat LTO): a binary built
    // without it makes a 44.5 MB image.
    assert!(size < 40_000_000, "{image} is {size} bytes, over the 40 MB goal");

    // Every file in it: the layout make-rootfs writes, owned as it must be.
    let name = unique("content");
    podman_ok(&["create", "--name", &name, &image]);
    let _removed = Removed::container(&name);
    let tar = podman_output(&["export", &name]).expect("podman export");
    let mut files = BTreeMap::new();
    let mut ca = Vec::new();
    let mut archive = tar::Archive::new(tar.as_slice());
    for entry in archive.entries().expect("a tar") {
        let mut entry = entry.expect("an entry");
        let header = entry.header();
        let path = entry.path().expect("path").to_string_lossy().trim_end_matches('/').to_string();
        let kind = if header.entry_type().is_dir() { "dir" } else { "file" };
        let owner = (header.uid().expect("uid"), header.gid().expect("gid"));
        let mode = header.mode().expect("mode") & 0o7777;
        if path == "etc/ssl/certs/ca-certificates.crt" {
            entry.read_to_end(&mut ca).expect("read");
        }
        files.insert(path, (kind, owner, mode));
    }
    let root = (0, 0);
    let expected: BTreeMap<String, (&str, (u64, u64), u32)> = [
        ("etc", ("dir", root, 0o755)),
        ("etc/group", ("file", root, 0o644)),
        ("etc/passwd", ("file", root, 0o644)),
        ("etc/ssl", ("dir", root, 0o755)),
        ("etc/ssl/certs", ("dir", root, 0o755)),
        ("etc/ssl/certs/ca-certificates.crt", ("file", root, 0o644)),
        ("usr", ("dir", root, 0o755)),
        ("usr/local", ("dir", root, 0o755)),
        ("usr/local/bin", ("dir", root, 0o755)),
        ("usr/local/bin/mlops-host", ("file", root, 0o755)),
        ("var", ("dir", root, 0o755)),
        ("var/cache", ("dir", root, 0o755)),
        // The only thing the user owns.
        ("var/cache/mlops-host", ("dir", (10001, 10001), 0o755)),
    ]
    .into_iter()
    .map(|(p, v)| (p.to_string(), v))
    .collect();
    assert_eq!(files, expected, "the image's files");
    let debian = std::fs::read("/etc/ssl/certs/ca-certificates.crt").expect("Debian's CA roots");
    assert!(ca == debian, "the image's CA roots are not Debian's ca-certificates bundle");

    // The binary runs with no libc in the image: it is static. It is the
    // same version as the one cargo built for these tests.
    let version =
        podman_ok(&["run", "--rm", "--network", "none", "--read-only", &image, "--version"]);
    let ours = Command::new(crate::bin()).arg("--version").output().expect("--version");
    assert_eq!(version, String::from_utf8_lossy(&ours.stdout).trim());
}

/// One container of the image serving `store`, its cache in `cache` (a
/// host folder or a podman volume's name).
fn start_container(image: &str, name: &str, store: &str, cache: &str) -> HostProcess {
    let mut cmd = podman();
    let volume = format!("{cache}:/var/cache/mlops-host");
    let probe = format!("{BUSYBOX}:/probe/busybox:ro");
    let store = format!("MLOPS_STORE={store}");
    cmd.args(["run", "--rm", "--name", name, "--network", "host"])
        .args(["--read-only", "--read-only-tmpfs=false", "--cap-drop", "all"])
        .args(["--security-opt", "no-new-privileges", "-v", &volume, "-v", &probe])
        .args(["-e", &store]);
    // The S3 endpoint and credentials, from this process's environment.
    for var in [
        "AWS_ENDPOINT",
        "AWS_ALLOW_HTTP",
        "AWS_REGION",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
    ] {
        cmd.args(["-e", var]);
    }
    cmd.args([image, "serve", "--listen", "127.0.0.1:0"]);
    HostProcess::start(cmd)
}

/// What `busybox args…` says inside `container`, and whether it succeeded.
fn probe(container: &str, args: &[&str]) -> Result<String, String> {
    let mut all = vec!["exec", container, "/probe/busybox"];
    all.extend_from_slice(args);
    podman_output(&all).map(|out| String::from_utf8_lossy(&out).trim().to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_containers_on_one_s3_store_serve_a_deploy_and_outlive_one_of_them() {
    let Some(image) = image("containers::three containers") else { return };
    let Some(store) = s3_location("containers") else { return };
    assert!(Path::new(BUSYBOX).is_file(), "no {BUSYBOX}: apt-get install busybox-static");
    let dir = tempfile::tempdir().expect("tempdir");
    // Removed after the containers (dropped in reverse order).
    let volume = unique("cache");
    podman_ok(&["volume", "create", &volume]);
    let _volume = Removed::volume(&volume);
    let names: Vec<String> = (0..3).map(|i| unique(&format!("c{i}"))).collect();
    let _removed: Vec<Removed> = names.iter().map(|n| Removed::container(n)).collect();

    // Three containers on an empty store, each with an empty cache: the
    // first a new podman volume (podman gives it the owner of the image's
    // /var/cache/mlops-host), the others host folders owned by 10001.
    let mut caches = vec![PathBuf::from(podman_ok(&[
        "volume",
        "inspect",
        "--format",
        "{{.Mountpoint}}",
        &volume,
    ]))];
    let mut containers = Vec::new();
    for (i, name) in names.iter().enumerate() {
        let cache = if i == 0 {
            volume.clone()
        } else {
            let folder = dir.path().join(name);
            std::fs::create_dir(&folder).expect("cache");
            std::os::unix::fs::chown(&folder, Some(10001), Some(10001)).expect("chown the cache");
            caches.push(folder.clone());
            folder.display().to_string()
        };
        containers.push(Some(start_container(&image, name, &store, &cache)));
    }
    let hosts: Vec<&HostProcess> = containers.iter().flatten().collect();
    for h in &hosts {
        assert_eq!(h.get("/readyz").await.0, 200);
        assert_eq!(served(h).await, None, "a container serves before the deploy");
    }

    // Deploy once through the CLI; every container serves it within the
    // watch interval plus the time to load it.
    deploy(&store, &dir.path().join("ci"));
    let took = until_all_serve(&hosts, "well_log/dev/1").await;
    eprintln!("containers: deploy → served by all 3 containers in {} ms", took.as_millis());

    for (name, cache) in names.iter().zip(&caches) {
        // The server runs as 10001 with no capabilities.
        let pid = podman_ok(&["inspect", "--format", "{{.State.Pid}}", name]);
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("status");
        let field = |key: &str| {
            status.lines().find_map(|l| l.strip_prefix(key)).unwrap_or_default().trim().to_string()
        };
        assert_eq!(field("Uid:"), "10001\t10001\t10001\t10001", "{name}: {status}");
        assert_eq!(field("Gid:"), "10001\t10001\t10001\t10001", "{name}: {status}");
        assert_eq!(field("CapEff:"), "0000000000000000", "{name}");

        // Read-only everywhere but the cache, which is the only volume
        // written to (the probe's mount is read-only too).
        let readonly = podman_ok(&["inspect", "--format", "{{.HostConfig.ReadonlyRootfs}}", name]);
        assert_eq!(readonly, "true", "{name}: the root file system is writable");
        let mounts = podman_ok(&[
            "inspect",
            "--format",
            "{{range .Mounts}}{{.Destination}}:{{.RW}} {{end}}",
            name,
        ]);
        let mounts: std::collections::BTreeSet<&str> = mounts.split_whitespace().collect();
        let expected = ["/probe/busybox:false", "/var/cache/mlops-host:true"];
        assert_eq!(mounts, expected.into_iter().collect(), "{name}: its volumes");
        for dir in ["/", "/etc", "/etc/ssl/certs", "/usr/local/bin", "/var/cache", "/probe"] {
            let refused = probe(name, &["touch", &format!("{dir}/written")])
                .expect_err(&format!("{name}: {dir} is writable"));
            assert!(refused.contains("Read-only file system"), "{name}: {dir}: {refused}");
        }
        // No /tmp: podman adds no tmpfs (--read-only-tmpfs=false).
        let tmp = probe(name, &["ls", "/tmp"]).expect_err(&format!("{name} has a /tmp"));
        assert!(tmp.contains("No such file"), "{name}: {tmp}");
        probe(name, &["touch", "/var/cache/mlops-host/written"]).expect("the cache is writable");
        assert_eq!(probe(name, &["id", "-u"]).as_deref(), Ok("10001"));
        // The container compiled the component into its cache.
        let compiled = cache.join("compiled");
        let files = std::fs::read_dir(&compiled).map(|d| d.count()).unwrap_or(0);
        assert!(files >= 1, "{name} compiled nothing into its cache volume");
    }

    // Kill one container outright: the two others keep serving.
    podman_ok(&["kill", "--signal", "KILL", &names[2]]);
    let dead = containers[2].take().expect("c2");
    let dead_url = dead.url.clone();
    drop(dead);
    assert!(reqwest::get(format!("{dead_url}/healthz")).await.is_err(), "c2 still answers");
    let live: Vec<&HostProcess> = containers.iter().flatten().collect();
    for _ in 0..20 {
        for h in &live {
            assert_eq!(served(h).await.as_deref(), Some("well_log/dev/1"));
        }
    }
    // And follow the next deploy.
    deploy(&store, &dir.path().join("ci"));
    let took = until_all_serve(&live, "well_log/dev/2").await;
    eprintln!(
        "containers: deploy of v2 → served by the 2 live containers in {} ms",
        took.as_millis()
    );

    // `podman stop` (what an orchestrator does) sends SIGTERM to the host,
    // which runs as the container's PID 1: it drains and exits rather than
    // waiting to be killed when the grace period ends.
    podman_ok(&["stop", "--time", "60", &names[1]]);
    let log = containers[1].take().expect("c1").stop();
    assert!(
        log.iter().any(|l| l.contains("SIGTERM received")),
        "c1 did not shut down on SIGTERM:\n{}",
        log.join("\n")
    );
}
