//! Service records and stored predictions.

use bytes::Bytes;
use mlops_manifest::{Env, ExternalId, ModelName};
use object_store::path::Path as StorePath;
use object_store::{ObjectStoreExt as _, PutPayload};

use crate::{
    Registry, RegistryError, Result, ServiceRecord, records, service_path, store_err, to_json,
};

/// Rewritten after every change to `services/`, so hosts can watch one
/// object instead of listing the folder.
const CHANGE_MARKER: &str = "changes/services";

/// A store object's identity as far as change detection goes.
fn identity(meta: &object_store::ObjectMeta) -> String {
    format!(
        "{}|{}|{}",
        meta.e_tag.as_deref().unwrap_or(""),
        meta.last_modified.timestamp_nanos_opt().unwrap_or_default(),
        meta.size
    )
}

impl Registry {
    /// Writes a service record (replacing any under the same id in one
    /// atomic put).
    pub async fn put_service(&self, record: &ServiceRecord) -> Result<()> {
        self.write_service(record).await?;
        self.mark_services_changed().await
    }

    async fn write_service(&self, record: &ServiceRecord) -> Result<()> {
        let path = service_path(&record.external_id);
        let body = to_json(record)?;
        self.store
            .put(&path, PutPayload::from(body))
            .await
            .map_err(|source| store_err("put", &path, source))?;
        Ok(())
    }

    /// Rewrites the change marker with content no earlier write had (S3
    /// e-tags hash the content), after the change it announces is stored.
    async fn mark_services_changed(&self) -> Result<()> {
        static WRITES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let n = WRITES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let nonce = blake3::hash(
            format!("{} {} {n} {}", std::process::id(), crate::now(), self.location).as_bytes(),
        );
        let body =
            serde_json::json!({ "changed_at": crate::now(), "nonce": nonce.to_hex().to_string() });
        let path = StorePath::from(CHANGE_MARKER);
        self.store
            .put(&path, PutPayload::from(body.to_string()))
            .await
            .map_err(|source| store_err("put", &path, source))?;
        Ok(())
    }

    /// What the service records last changed to, as an opaque token: equal
    /// tokens mean no service was written or deleted in between (by a
    /// writer using this registry). `None` if nothing was ever deployed.
    /// One HEAD request.
    pub async fn services_change(&self) -> Result<Option<String>> {
        let path = StorePath::from(CHANGE_MARKER);
        match self.store.head(&path).await {
            Ok(meta) => Ok(Some(identity(&meta))),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(source) => Err(store_err("head", &path, source)),
        }
    }

    /// Publishes a service: its pinned record first, then its latest alias
    /// in one atomic put, so callers of the alias never find it missing.
    pub async fn publish_service(&self, record: &ServiceRecord) -> Result<()> {
        if record.external_id.version.is_none() {
            return Err(RegistryError::Invalid(format!(
                "{} is an alias; publish the pinned record (with a version)",
                record.external_id
            )));
        }
        self.write_service(record).await?;
        self.write_service(&record.as_alias()).await?;
        self.mark_services_changed().await
    }

    /// Points the latest alias `alias` at its pinned version `version` (a
    /// rollback, or a roll forward), in one atomic put. Returns the new
    /// alias record.
    pub async fn redeploy(
        &self,
        alias: &ExternalId,
        version: mlops_manifest::Version,
    ) -> Result<ServiceRecord> {
        if alias.version.is_some() {
            return Err(RegistryError::Invalid(format!(
                "{alias} is a pinned version; redeploy its alias {} instead",
                alias.alias()
            )));
        }
        let pinned = ExternalId { version: Some(version), ..alias.clone() };
        let record = self.service(&pinned).await?.ok_or_else(|| RegistryError::NotFound {
            what: format!(
                "service {pinned} (deploy that version first, or pick one `services list` shows)"
            ),
        })?;
        let alias_record = record.as_alias();
        self.put_service(&alias_record).await?;
        Ok(alias_record)
    }

    /// Deletes a service record (nothing happens if it does not exist).
    pub async fn delete_service(&self, id: &ExternalId) -> Result<()> {
        let path = service_path(id);
        match self.store.delete(&path).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
            Err(source) => return Err(store_err("delete", &path, source)),
        }
        self.mark_services_changed().await
    }

    /// The record of one service, if it exists.
    pub async fn service(&self, id: &ExternalId) -> Result<Option<ServiceRecord>> {
        let path = service_path(id);
        match self.get(&path, || format!("service {id}")).await {
            Ok(bytes) => records::decode_service_record(&bytes, id).map(Some),
            Err(RegistryError::NotFound { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Every service record, by external id. A record that cannot be read
    /// is reported in the second list rather than failing the whole listing.
    pub async fn services(&self) -> Result<(Vec<ServiceRecord>, Vec<(String, RegistryError)>)> {
        let mut ok = Vec::new();
        let mut bad = Vec::new();
        for meta in self.list(&StorePath::from("services")).await? {
            let name = meta.location.filename().unwrap_or_default().to_string();
            let Some(id) = name.strip_suffix(".json").and_then(|s| s.parse::<ExternalId>().ok())
            else {
                bad.push((
                    name.clone(),
                    RegistryError::CorruptRecord {
                        what: format!("services/{name}"),
                        why: "its name is not `<external-id>.json`".into(),
                    },
                ));
                continue;
            };
            match self.service(&id).await {
                Ok(Some(record)) => ok.push(record),
                Ok(None) => {} // deleted meanwhile
                Err(e) => bad.push((id.to_string(), e)),
            }
        }
        ok.sort_by(|a, b| a.external_id.cmp(&b.external_id));
        Ok((ok, bad))
    }

    /// Stores a prediction document and returns its id
    /// (`predictions/<model>/<env>/<id>.json`).
    pub async fn put_prediction(&self, model: &ModelName, env: Env, body: Bytes) -> Result<String> {
        let id = format!(
            "{}-{}",
            chrono::Utc::now().format("%Y%m%dT%H%M%S%.6fZ"),
            &blake3::hash(&body).to_hex()[..12]
        );
        let path = StorePath::from(format!("predictions/{model}/{env}/{id}.json"));
        self.store
            .put(&path, PutPayload::from_bytes(body))
            .await
            .map_err(|source| store_err("put", &path, source))?;
        Ok(path.to_string())
    }

    /// Reads a stored prediction by the id [`Registry::put_prediction`] gave.
    pub async fn get_prediction(&self, id: &str) -> Result<Bytes> {
        if !id.starts_with("predictions/") || !records::is_safe_relative(id) {
            return Err(RegistryError::NotFound { what: format!("prediction `{id}`") });
        }
        self.get(&StorePath::from(id), || format!("prediction {id}")).await
    }
}
