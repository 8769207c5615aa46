//! The one way to publish, roll back and remove a service. `mlops-host
//! deploy`, the admin API and `bench` all publish through [`deploy`]: a
//! plan in (what the settings file, or an admin request, says), a service
//! record out, older pinned versions pruned.

use std::collections::BTreeMap;

use mlops_manifest::{
    Env, ExternalId, Limits, ModelId, ModelName, ModelSettings, PredictionFiles, SecretName,
    ServiceKind, Version,
};
use mlops_registry::{LimitsRecord, Registry, SERVICE_FORMAT, ServiceRecord};

use crate::error::Error;

/// What to publish: parts already in the store (an artifact version and a
/// component blob) and how the service runs them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeployPlan {
    pub model: ModelName,
    pub env: Env,
    pub service: ServiceKind,
    /// The artifact version to run; it must be live in `env`.
    pub version: Version,
    /// blake3 of the component, in the store.
    pub component: String,
    pub human_friendly_model_name: String,
    pub description: String,
    pub owner: String,
    /// The service's own metadata (the host adds `version` and `model_id`).
    pub metadata: BTreeMap<String, String>,
    pub limits: Limits,
    pub secrets: Vec<SecretName>,
    pub prediction_files: PredictionFiles,
    /// blake3 of an example request in the store (see
    /// [`ServiceRecord::example`]).
    pub example: Option<String>,
    /// Pinned versions of this model, service and env to keep (≥ 1).
    pub models_to_keep: u32,
    /// Who deploys (`user@host`, or what acted for them).
    pub deployed_by: String,
}

impl DeployPlan {
    /// The plan a settings file makes for `model`'s `kind` service.
    pub fn from_settings(
        model: &ModelSettings,
        env: Env,
        kind: ServiceKind,
        version: Version,
        component: String,
        deployed_by: String,
    ) -> DeployPlan {
        let info = model.service_info(kind);
        DeployPlan {
            model: model.model_name.clone(),
            env,
            service: kind,
            version,
            component,
            human_friendly_model_name: model.human_friendly_model_name.clone(),
            description: info.description,
            owner: info.owner,
            metadata: info.metadata,
            limits: model.limits.clone(),
            secrets: model.secrets.clone(),
            prediction_files: model.prediction_files.clone(),
            example: None,
            models_to_keep: model.models_to_keep,
            deployed_by,
        }
    }

    pub fn model_id(&self) -> ModelId {
        ModelId { model: self.model.clone(), env: self.env, version: self.version }
    }
}

/// What a deploy did.
#[derive(Debug, Clone)]
pub struct Deployed {
    /// The pinned record (its alias points at it too).
    pub record: ServiceRecord,
    /// Older pinned versions removed (beyond `models_to_keep`).
    pub pruned: Vec<ExternalId>,
}

/// Publishes the service `plan` describes under its pinned id and its
/// latest alias, then keeps the newest `models_to_keep` pinned versions of
/// the same model, service and env (always the one just deployed) and
/// deletes the older ones. Artifact versions are not touched.
pub async fn deploy(registry: &Registry, plan: DeployPlan) -> Result<Deployed, Error> {
    let model_id = plan.model_id();
    if plan.models_to_keep == 0 {
        return Err(Error::BadRequest(
            "models_to_keep must be at least 1 (the deployed version)".into(),
        ));
    }
    // Deleted versions are refused as missing.
    registry
        .manifest(&model_id)
        .await
        .map_err(|e| Error::admin(&format!("reading {model_id}"), e))?;
    let component_size = registry
        .blob_size(&plan.component)
        .await
        .map_err(|e| Error::store("looking for the component", e))?
        .ok_or_else(|| {
            Error::Invalid(format!(
                "component {} is not in the store: upload it first",
                plan.component
            ))
        })?;
    if let Some(example) = &plan.example {
        let stored = registry
            .blob_size(example)
            .await
            .map_err(|e| Error::store("looking for the example request", e))?;
        if stored.is_none() {
            return Err(Error::Invalid(format!(
                "example request {example} is not in the store: upload it first"
            )));
        }
    }
    let record = record(plan.clone(), model_id, component_size);
    // The pinned version first, then the alias in one atomic write:
    // callers of the alias never find it missing.
    registry
        .publish_service(&record)
        .await
        .map_err(|e| Error::admin(&format!("publishing {}", record.external_id), e))?;
    let pruned = prune(registry, &record.external_id, plan.models_to_keep).await?;
    Ok(Deployed { record, pruned })
}

/// The service record of a plan: the only place one is made.
fn record(plan: DeployPlan, model_id: ModelId, component_size: u64) -> ServiceRecord {
    let mut metadata = plan.metadata;
    metadata.insert("version".into(), plan.version.to_string());
    metadata.insert("model_id".into(), model_id.to_string());
    ServiceRecord {
        format: SERVICE_FORMAT.to_string(),
        external_id: ExternalId::pinned(plan.model.clone(), plan.service, plan.env, plan.version),
        alias_of: None,
        model: plan.model,
        service: plan.service,
        env: plan.env,
        model_id,
        component: plan.component,
        component_size,
        human_friendly_model_name: plan.human_friendly_model_name,
        description: plan.description,
        owner: plan.owner,
        metadata,
        limits: LimitsRecord::from(&plan.limits),
        secrets: plan.secrets,
        prediction_files: plan.prediction_files,
        example: plan.example,
        deployed: mlops_registry::now(),
        deployed_by: plan.deployed_by,
    }
}

/// Keeps the newest `keep` pinned services of `deployed`'s model, service
/// and env (always including `deployed`) and deletes the older ones.
async fn prune(
    registry: &Registry,
    deployed: &ExternalId,
    keep: u32,
) -> Result<Vec<ExternalId>, Error> {
    let (records, _) = registry
        .services()
        .await
        .map_err(|e| Error::store("listing services to prune old versions", e))?;
    let mut pinned: Vec<&ServiceRecord> = records
        .iter()
        .filter(|r| r.alias_of.is_none() && r.external_id.alias() == deployed.alias())
        .collect();
    pinned.sort_by_key(|r| std::cmp::Reverse(r.external_id.version));
    let mut pruned = Vec::new();
    for old in pinned.iter().skip(keep as usize) {
        if &old.external_id == deployed {
            continue;
        }
        registry
            .delete_service(&old.external_id)
            .await
            .map_err(|e| Error::store(format!("deleting {}", old.external_id), e))?;
        pruned.push(old.external_id.clone());
    }
    Ok(pruned)
}

/// Points the latest alias `alias` at its pinned version `version` (a
/// rollback, or a roll forward). Returns the new alias record.
pub async fn redeploy(
    registry: &Registry,
    alias: &ExternalId,
    version: Version,
) -> Result<ServiceRecord, Error> {
    registry
        .redeploy(alias, version)
        .await
        .map_err(|e| Error::admin(&format!("redeploying {alias}"), e))
}

/// Deletes a service record (the alias or a pinned version).
pub async fn delete(registry: &Registry, id: &ExternalId) -> Result<(), Error> {
    registry.delete_service(id).await.map_err(|e| Error::store(format!("deleting {id}"), e))
}
