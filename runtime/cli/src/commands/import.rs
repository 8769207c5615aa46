//! `mlops-host models import`: the artifact history akerbp.mlops kept in
//! CDF Files, copied into this host's store with every version's number,
//! environment, metadata and creation time.
//!
//! The framework's layout: files in a data set (`mlops` by default), in
//! the directory `/mlops`, with external id `<model>/<env>/<version>`,
//! name `<model>-<env>-<version>_archive.tar.gz` (a gzipped tar of the
//! version's folder, `shutil.make_archive`), and metadata that holds the
//! user's keys (non-strings JSON-encoded) and `version`.
//!
//! - Every archive is downloaded and unpacked in memory: gzip's checksum
//!   covers the content, each entry must be a regular file (or a folder)
//!   with a plain relative path, and every file is stored as a blob named
//!   by its blake3 digest.
//! - A version of test or prod whose files equal those of the same number
//!   one env below records that it was promoted from there (the framework
//!   promoted by copying).
//! - A number missing in dev below its highest is a version the framework
//!   deleted: it is recorded as deleted, so it is never reused.
//! - Versions are written one by one, each after its files: run it again
//!   after an interruption, and what was imported is found and skipped (no
//!   version is imported twice).

use std::collections::BTreeMap;
use std::io::Read as _;
use std::process::ExitCode;

use anyhow::{Context as _, bail};
use bytes::Bytes;
use mlops_cdf::{CdfClient, FileFilter, FileInfo, FileRef};
use mlops_manifest::{Env, ModelId, ModelName};
use mlops_registry::{
    ARTIFACT_FORMAT, ArtifactFile, ArtifactManifest, Deletion, Imported, Registry, RegistryError,
};

use crate::UsageError;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The CDF data set that holds the history (its external id).
    #[arg(long, default_value = "mlops", value_name = "EXTERNAL_ID")]
    pub data_set: String,
    /// The CDF Files directory of the archives.
    #[arg(long, default_value = "/mlops", value_name = "DIR")]
    pub directory: String,
    /// Only these models (repeatable); all by default.
    #[arg(long = "model", value_name = "NAME")]
    pub models: Vec<ModelName>,
    /// Only list what would be imported.
    #[arg(long)]
    pub dry_run: bool,
}

/// One version of the framework's history, as CDF Files lists it.
struct SeedVersion {
    id: ModelId,
    file: FileInfo,
}

/// What became of the history.
#[derive(Default)]
struct Outcome {
    imported: Vec<String>,
    already: Vec<String>,
    skipped: Vec<String>,
    problems: Vec<String>,
}

pub async fn run(registry: &Registry, args: Args) -> anyhow::Result<ExitCode> {
    let client = crate::context::cdf_client()?.ok_or_else(|| {
        UsageError(format!(
            "models import reads CDF Files: give the host a CDF client ({p}BASE_URL, {p}PROJECT, {p}TOKEN_URL, \
             {p}CLIENT_ID, {p}CLIENT_SECRET, or the Python framework's COGNITE_* names)",
            p = mlops_cdf::ENV_PREFIX
        ))
    })?;
    let data_set = client
        .data_set(&args.data_set)
        .await
        .with_context(|| format!("cannot look up data set `{}`", args.data_set))?
        .ok_or_else(|| {
            UsageError(format!(
                "CDF has no data set `{}` in this project; name the one the Python framework used with --data-set",
                args.data_set
            ))
        })?;
    let filter = FileFilter {
        directory_prefix: Some(args.directory.clone()),
        data_set_ids: vec![data_set.id],
        ..Default::default()
    };
    let files = client.list_files(&filter, None).await.with_context(|| {
        format!("cannot list {} in data set `{}`", args.directory, args.data_set)
    })?;
    let mut outcome = Outcome::default();
    let versions = seed_versions(files, &args, &mut outcome);
    if versions.is_empty() && outcome.problems.is_empty() {
        eprintln!(
            "no versions found in {} of data set `{}`{}",
            args.directory,
            args.data_set,
            if outcome.skipped.is_empty() { "" } else { " (see the skipped files)" }
        );
    }
    if args.dry_run {
        for v in &versions {
            println!("{}\t{}\t{}", v.id, v.file.name, created(&v.file));
        }
        report(&outcome);
        return Ok(ExitCode::SUCCESS);
    }
    // Per model and env, dev first (promotions point down), numbers up.
    let mut digests: BTreeMap<ModelId, Vec<(String, String)>> = BTreeMap::new();
    let mut highest_dev: BTreeMap<ModelName, u64> = BTreeMap::new();
    for v in &versions {
        if v.id.env == Env::Dev {
            let top = highest_dev.entry(v.id.model.clone()).or_default();
            *top = (*top).max(v.id.version);
        }
        match import_one(&client, registry, v, &digests, &args).await {
            Ok((files, what)) => {
                digests.insert(v.id.clone(), files);
                match what {
                    Imported::Written(m) => outcome.imported.push(describe(&m)),
                    Imported::AlreadyThere(m) => outcome.already.push(describe(&m)),
                }
            }
            Err(e) => outcome.problems.push(format!("{}: {e:#}", v.id)),
        }
    }
    for (model, top) in highest_dev {
        for version in 1..top {
            let id = ModelId { model: model.clone(), env: Env::Dev, version };
            if versions.iter().any(|v| v.id == id) {
                continue;
            }
            match record_deleted(registry, &id, &args).await {
                Ok(Imported::Written(_)) => outcome
                    .imported
                    .push(format!("{id} (deleted in the history: recorded as deleted)")),
                Ok(Imported::AlreadyThere(_)) => outcome.already.push(format!("{id} (deleted)")),
                Err(e) => outcome.problems.push(format!("{id}: {e}")),
            }
        }
    }
    report(&outcome);
    if outcome.problems.is_empty() {
        Ok(ExitCode::SUCCESS)
    } else {
        bail!(
            "{} of the history could not be imported (see above); fix what is named and run the import again: \
             what was imported is kept and skipped",
            plural(outcome.problems.len(), "version")
        )
    }
}

/// The files that are versions of the framework's history, sorted by
/// model, env (dev, test, prod) and number; the rest are noted.
fn seed_versions(files: Vec<FileInfo>, args: &Args, outcome: &mut Outcome) -> Vec<SeedVersion> {
    let mut out = Vec::new();
    for file in files {
        let shown = file.external_id.clone().unwrap_or_else(|| format!("id {}", file.id));
        // A prefix filter: `/mlops` also lists `/mlops2`.
        if file.directory.as_deref() != Some(args.directory.as_str()) {
            continue;
        }
        let Some(id) = file.external_id.as_deref().and_then(|e| e.parse::<ModelId>().ok()) else {
            outcome.skipped.push(format!("{shown}: not <model>/<env>/<version>"));
            continue;
        };
        if !args.models.is_empty() && !args.models.contains(&id.model) {
            continue;
        }
        if !file.uploaded {
            outcome.skipped.push(format!("{id}: its upload never completed in CDF"));
            continue;
        }
        if let Some(v) = file.metadata.get("version")
            && v.trim().parse::<u64>().ok() != Some(id.version)
        {
            outcome.problems.push(format!(
                "{id}: its metadata says version `{v}`; which number is right cannot be known, fix one in CDF"
            ));
            continue;
        }
        out.push(SeedVersion { id, file });
    }
    out.sort_by(|a, b| a.id.cmp(&b.id));
    out
}

/// Imports one version: downloads, checks and unpacks its archive into
/// blobs, then writes its manifest. Returns its files' (path, digest).
async fn import_one(
    client: &CdfClient,
    registry: &Registry,
    v: &SeedVersion,
    done: &BTreeMap<ModelId, Vec<(String, String)>>,
    args: &Args,
) -> anyhow::Result<(Vec<(String, String)>, Imported)> {
    let created = created(&v.file);
    // Imported before (a resumed run): no download.
    match registry.manifest(&v.id).await {
        Ok(existing) if existing.created == created && existing.metadata == v.file.metadata => {
            return Ok((paths_and_digests(&existing.files), Imported::AlreadyThere(existing)));
        }
        Ok(_) | Err(RegistryError::NotFound { .. }) => {}
        Err(e) => return Err(e.into()),
    }
    let archive = client
        .download(&FileRef::Id(v.file.id))
        .await
        .with_context(|| format!("cannot download {}", v.file.name))?;
    let entries = {
        let name = v.file.name.clone();
        tokio::task::spawn_blocking(move || unpack(&archive).map_err(|e| format!("{name}: {e}")))
            .await
            .context("the unpacking task failed")?
            .map_err(anyhow::Error::msg)?
    };
    let mut files = Vec::new();
    for (path, bytes) in entries {
        let size = bytes.len() as u64;
        let blake3 = registry.put_blob(bytes).await?;
        files.push(ArtifactFile { path, size, blake3 });
    }
    files.sort_by(|a, b| a.path.cmp(&b.path));
    let digests = paths_and_digests(&files);
    // The framework promoted by copying: equal files one env below.
    let promoted_from = match v.id.env {
        Env::Dev => None,
        Env::Test => Some(Env::Dev),
        Env::Prod => Some(Env::Test),
    }
    .map(|below| ModelId { env: below, ..v.id.clone() })
    .filter(|below| done.get(below) == Some(&digests));
    let manifest = ArtifactManifest {
        format: ARTIFACT_FORMAT.to_string(),
        model: v.id.model.clone(),
        env: v.id.env,
        version: v.id.version,
        files,
        metadata: v.file.metadata.clone(),
        created,
        created_by: format!(
            "akerbp.mlops, imported from CDF Files ({}, data set {}, file {})",
            args.directory, args.data_set, v.file.id
        ),
        promoted_from,
        deleted: None,
    };
    let what = registry.import_version(manifest).await?;
    Ok((digests, what))
}

/// Records a number the framework's history skips as deleted.
async fn record_deleted(
    registry: &Registry,
    id: &ModelId,
    args: &Args,
) -> Result<Imported, RegistryError> {
    let by = format!(
        "akerbp.mlops: not in CDF Files ({}, data set {}) at the import",
        args.directory, args.data_set
    );
    let manifest = ArtifactManifest {
        format: ARTIFACT_FORMAT.to_string(),
        model: id.model.clone(),
        env: id.env,
        version: id.version,
        files: Vec::new(),
        metadata: BTreeMap::new(),
        created: mlops_registry::now(),
        created_by: by.clone(),
        promoted_from: None,
        deleted: Some(Deletion { at: mlops_registry::now(), by }),
    };
    registry.import_version(manifest).await
}

/// The most one archive may unpack to (it is held in memory).
const MAX_UNPACKED: u64 = 4 << 30;

/// The regular files of a gzipped tar, as (relative path, bytes), checked:
/// gzip's CRC and length, plain relative paths, no links or devices, no
/// path twice.
fn unpack(archive: &[u8]) -> Result<Vec<(String, Bytes)>, String> {
    let gz = flate2::read::GzDecoder::new(archive);
    let mut tar = tar::Archive::new(gz);
    let mut out: Vec<(String, Bytes)> = Vec::new();
    let mut total: u64 = 0;
    let entries = tar.entries().map_err(|e| format!("not a tar archive: {e}"))?;
    for entry in entries {
        let mut entry = entry.map_err(|e| format!("the archive is damaged: {e}"))?;
        let raw = entry.path().map_err(|e| format!("an entry's name is not usable: {e}"))?;
        let shown = raw.display().to_string();
        let kind = entry.header().entry_type();
        if kind.is_dir() {
            continue;
        }
        if !kind.is_file() {
            return Err(format!(
                "`{shown}` is a {kind:?} entry; an artifact archive may only hold regular files"
            ));
        }
        let path = mlops_registry::artifact_path(&raw)
            .ok_or_else(|| format!("`{shown}` is not a plain relative path"))?;
        total = total.saturating_add(entry.size());
        if total > MAX_UNPACKED {
            return Err(format!(
                "it unpacks to more than {} GiB; import such a version by hand (models upload)",
                MAX_UNPACKED >> 30
            ));
        }
        let mut bytes = Vec::with_capacity(usize::try_from(entry.size()).unwrap_or(0));
        entry.read_to_end(&mut bytes).map_err(|e| format!("`{shown}`: {e}"))?;
        if out.iter().any(|(p, _)| *p == path) {
            return Err(format!("`{path}` is in the archive twice"));
        }
        out.push((path, Bytes::from(bytes)));
    }
    // The whole stream was read: gzip's trailer (CRC-32, length) is checked.
    let mut rest = Vec::new();
    tar.into_inner().read_to_end(&mut rest).map_err(|e| format!("the archive is damaged: {e}"))?;
    Ok(out)
}

fn paths_and_digests(files: &[ArtifactFile]) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> =
        files.iter().map(|f| (f.path.clone(), f.blake3.clone())).collect();
    out.sort();
    out
}

/// The file's creation time in CDF, RFC 3339 in UTC (the manifests' form).
fn created(file: &FileInfo) -> String {
    chrono::DateTime::from_timestamp_millis(file.created_time)
        .unwrap_or_default()
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

fn describe(m: &ArtifactManifest) -> String {
    let from = m.promoted_from.as_ref().map(|p| format!(", promoted from {p}")).unwrap_or_default();
    format!("{} ({}, created {}{from})", m.model_id(), plural(m.files.len(), "file"), m.created)
}

fn plural(n: usize, what: &str) -> String {
    if n == 1 { format!("1 {what}") } else { format!("{n} {what}s") }
}

fn report(outcome: &Outcome) {
    for (title, lines) in [
        ("imported", &outcome.imported),
        ("already imported (skipped)", &outcome.already),
        ("not versions (skipped)", &outcome.skipped),
        ("problems", &outcome.problems),
    ] {
        if lines.is_empty() {
            continue;
        }
        eprintln!("{title}:");
        for line in lines {
            eprintln!("  {line}");
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write as _;

    use super::*;

    fn gz_tar(build: impl FnOnce(&mut tar::Builder<Vec<u8>>)) -> Vec<u8> {
        let mut builder = tar::Builder::new(Vec::new());
        build(&mut builder);
        let tar = builder.into_inner().expect("tar");
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(&tar).expect("gzip");
        gz.finish().expect("gzip")
    }

    fn file(b: &mut tar::Builder<Vec<u8>>, path: &str, content: &[u8]) {
        let mut header = tar::Header::new_gnu();
        header.set_size(content.len() as u64);
        header.set_mode(0o644);
        header.set_entry_type(tar::EntryType::Regular);
        header.set_cksum();
        b.append_data(&mut header, path, content).expect("append");
    }

    #[test]
    fn archives_unpack_to_plain_files_and_damage_is_refused() {
        let good = gz_tar(|b| {
            file(b, "./model.json", b"{}");
            file(b, "./sub/w.bin", &[1, 2, 3]);
        });
        let files = unpack(&good).expect("unpacks");
        let paths: Vec<&str> = files.iter().map(|(p, _)| p.as_str()).collect();
        assert_eq!(paths, ["model.json", "sub/w.bin"]);
        assert_eq!(&files[1].1[..], [1, 2, 3]);
        // A flipped byte in the compressed content: gzip's checksum fails.
        let mut bad = good.clone();
        let at = bad.len() - 12;
        bad[at] ^= 0xff;
        assert!(unpack(&bad).is_err());
        assert!(unpack(&good[..good.len() - 8]).is_err(), "a truncated archive");
        assert!(unpack(b"not gzip").is_err());
        let link = gz_tar(|b| {
            let mut header = tar::Header::new_gnu();
            header.set_entry_type(tar::EntryType::Symlink);
            header.set_size(0);
            header.set_cksum();
            b.append_link(&mut header, "evil", "/etc/passwd").expect("link");
        });
        let err = unpack(&link).expect_err("a link");
        assert!(err.contains("only hold regular files"), "{err}");
    }
}
