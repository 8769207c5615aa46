//! HTTPS with rustls and ring (reqwest's `rustls-no-provider`, the provider
//! installed by the binary; no aws-lc): the S3 store on SeaweedFS's TLS
//! port, whose certificate is its own (.ci/s3-server). Trusted through
//! SSL_CERT_FILE, as a company's CA would be, the deploy works end to end;
//! not trusted, the same command fails, naming the certificate, and writes
//! nothing.

use std::process::Output;

use mlops_tests::{host_command, repo_root};

#[test]
fn the_s3_store_over_https_verifies_the_servers_certificate() {
    let test = "the S3 over HTTPS test";
    let Some(store) = crate::scale::s3_location(test) else { return };
    let (Ok(endpoint), Ok(ca)) =
        (std::env::var("MLOPS_TEST_S3_HTTPS"), std::env::var("MLOPS_TEST_S3_CA"))
    else {
        mlops_tests::skip(
            test,
            "no HTTPS S3 server: eval \"$(.ci/s3-server start)\" sets MLOPS_TEST_S3_HTTPS",
        );
        return;
    };
    let cache = tempfile::tempdir().expect("tempdir");
    let run = |trusted: bool, args: &[&str]| -> Output {
        let mut cmd = host_command(crate::bin(), std::path::Path::new("unused"), cache.path());
        cmd.current_dir(repo_root())
            .env("MLOPS_STORE", &store)
            .env("AWS_ENDPOINT", &endpoint)
            .env_remove("AWS_ALLOW_HTTP")
            .args(args);
        if trusted {
            cmd.env("SSL_CERT_FILE", &ca);
        } else {
            cmd.env_remove("SSL_CERT_FILE").env_remove("SSL_CERT_DIR");
        }
        cmd.output().expect("run mlops-host")
    };
    let deploy = ["deploy", "--settings", "examples/well_log/mlops_settings.yaml"];

    // Not trusted: refused, with the reason, and nothing recorded.
    let out = run(false, &deploy);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "an unknown certificate was accepted:\n{err}");
    assert!(err.contains("caused by: invalid peer certificate: UnknownIssuer"), "{err}");
    assert!(err.contains("hint: the server's TLS certificate is not trusted here"), "{err}");
    assert!(err.contains("SSL_CERT_FILE=<ca.pem>"), "{err}");
    let out = run(true, &["services", "list"]);
    let listed = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(!listed.contains("well_log-prediction-dev"), "{listed}");

    // Trusted: deployed and listed over HTTPS.
    let out = run(true, &deploy);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "deploy over HTTPS failed:\n{err}");
    assert!(err.contains("well_log: deployed "), "{err}");
    let out = run(true, &["services", "list"]);
    let listed = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(listed.contains("well_log-prediction-dev"), "{listed}");
}
