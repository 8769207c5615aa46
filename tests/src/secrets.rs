//! Every secret value the test suite hands to a host or a model, in one
//! place, and the check that none of them shows up where it must not: in a
//! host's log lines or in an HTTP response. `HostProcess` applies it to
//! everything it reads from a running host, and the e2e `Host` to every
//! command's output, so the whole suite scans as it runs.

/// A model's declared secret (`MLOPS_SECRET_API_KEY`).
pub const MODEL_SECRET: &str = "mlops-test-model-secret-9f2c71";
/// The local CDF server's client secret.
pub const CDF_CLIENT_SECRET: &str = "correct horse battery staple";
/// A client secret the CDF server refuses.
pub const WRONG_CDF_SECRET: &str = "wrong-cdf-secret-5d0a";
/// Admin and caller tokens of `serve`.
pub const ADMIN_TOKEN: &str = "mlops-test-admin-token-4b1e";
pub const CALLER_TOKEN: &str = "mlops-test-caller-token-77c3";

/// The values above, and the S3 secret key of the test store when set.
pub fn all() -> Vec<String> {
    let mut values: Vec<String> =
        [MODEL_SECRET, CDF_CLIENT_SECRET, WRONG_CDF_SECRET, ADMIN_TOKEN, CALLER_TOKEN]
            .iter()
            .map(|s| s.to_string())
            .collect();
    if let Ok(key) = std::env::var("AWS_SECRET_ACCESS_KEY")
        && key.len() >= 8
    {
        values.push(key);
    }
    values
}

/// Panics, naming the place, if `text` holds any test secret.
pub fn assert_none_in(what: &str, text: &str) {
    for secret in all() {
        assert!(
            !text.contains(&secret),
            "a secret value appears in {what}:\n{}",
            text.lines().filter(|l| l.contains(&secret)).collect::<Vec<_>>().join("\n")
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[should_panic(expected = "a secret value appears in a log")]
    fn a_secret_in_the_text_is_caught() {
        assert_none_in("a log", &format!("line one\nthe key is {MODEL_SECRET}\n"));
    }

    #[test]
    fn text_without_secrets_passes() {
        assert_none_in("a log", "the key is [redacted]");
    }
}
