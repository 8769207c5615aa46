//! Turns a service record into a running deployment: the component from the
//! compile cache (or fetched and compiled), the artifacts as a verified
//! local folder, the declared secrets resolved.

use std::path::PathBuf;
use std::sync::Arc;

use mlops_engine::{Deployment, DeploymentSpec, Engine, Schema};
use mlops_manifest::{Env, ModelId, ModelName, PredictionFiles, SecretName};
use mlops_registry::{ArtifactManifest, Registry, ServiceRecord};

use crate::envelope;
use crate::sink::PredictionSink;

/// Resolves a secret a model declared: its value, or why the model cannot
/// have it (not set; a host credential).
pub type SecretResolver = Arc<dyn Fn(&SecretName) -> Result<String, String> + Send + Sync>;

/// What loading needs besides the record.
#[derive(Clone)]
pub struct Loader {
    pub registry: Registry,
    pub engine: Engine,
    /// Local folder for verified copies of artifact versions.
    pub artifacts_dir: PathBuf,
    pub secrets: SecretResolver,
    /// Time the crossings into and out of the guest (`bench`: a clock read
    /// per crossing, so that a call splits into copy-in, compute and
    /// copy-out).
    pub profile: bool,
    /// Writes `to_file` predictions of services that ask for CDF; `None`
    /// when this host has no such sink.
    pub cdf: Option<Arc<dyn PredictionSink>>,
}

/// A deployment ready to call, with what the call path needs to know.
pub struct Service {
    pub deployment: Deployment,
    /// What `data` must look like (from the model's `describe`).
    pub inputs: Schema,
    /// `<model>/<env>/<version>`, returned with every prediction.
    pub model_id: String,
    /// `model_id` as a JSON string.
    pub(crate) model_id_json: String,
    /// What follows an inline prediction in the envelope (made once).
    pub(crate) inline_tail: Box<[u8]>,
    pub model: ModelName,
    pub env: Env,
    /// Whether the component came from the compile cache.
    pub from_cache: bool,
    /// Where `to_file` predictions go.
    pub prediction_files: PredictionFiles,
}

impl Service {
    /// Wraps a deployment.
    pub fn new(deployment: Deployment, model_id: &ModelId) -> Service {
        let inputs = deployment.signature().map_or(Schema::Any, |s| s.inputs.clone());
        let text = model_id.to_string();
        Service {
            deployment,
            inputs,
            model_id_json: envelope::quoted(&text),
            inline_tail: envelope::inline_tail(&text),
            model_id: text,
            model: model_id.model.clone(),
            env: model_id.env,
            from_cache: false,
            prediction_files: PredictionFiles::Store,
        }
    }
}

impl Loader {
    /// A verified local copy of an artifact version's files, for the
    /// sandbox to preopen; `None` for a version without files.
    pub async fn materialize(
        &self,
        manifest: &ArtifactManifest,
    ) -> Result<Option<PathBuf>, mlops_registry::RegistryError> {
        if manifest.files.is_empty() {
            return Ok(None);
        }
        // Named by content too: two stores may both have a `well_log/dev/1`.
        let mut h = blake3::Hasher::new();
        for f in &manifest.files {
            h.update(f.path.as_bytes()).update(b"\0").update(f.blake3.as_bytes()).update(b"\n");
        }
        let id = manifest.model_id();
        let dir = self.artifacts_dir.join(id.model.as_str()).join(id.env.as_str()).join(format!(
            "{}-{}",
            id.version,
            &h.finalize().to_hex()[..12]
        ));
        self.registry.materialize(manifest, &dir).await?;
        Ok(Some(dir))
    }

    /// Loads the service `record` describes.
    pub async fn load(&self, record: &ServiceRecord) -> Result<Service, String> {
        let component = match self.engine.load_cached(&record.component) {
            Some(loaded) => loaded,
            None => {
                let bytes = self
                    .registry
                    .get_blob(&record.component)
                    .await
                    .map_err(|e| format!("component: {e}"))?;
                let engine = self.engine.clone();
                tokio::task::spawn_blocking(move || engine.load(&bytes))
                    .await
                    .map_err(|e| format!("compile task failed: {e}"))?
                    .map_err(|e| e.to_string())?
            }
        };
        let manifest = self
            .registry
            .manifest(&record.model_id)
            .await
            .map_err(|e| format!("artifacts: {e}"))?;
        let artifact_dir =
            self.materialize(&manifest).await.map_err(|e| format!("artifacts: {e}"))?;
        let mut secrets = Vec::new();
        for name in &record.secrets {
            let value = (self.secrets)(name)?;
            secrets.push((name.to_string(), value));
        }
        let spec = DeploymentSpec {
            name: record.external_id.to_string(),
            artifact_dir,
            limits: record.limits(),
            secrets,
            profile: self.profile,
        };
        let deployment = self.engine.deploy(&component, spec).await.map_err(|e| e.to_string())?;
        let from_cache = component.outcome == mlops_engine::CacheOutcome::Loaded;
        if let PredictionFiles::Cdf { data_set } = &record.prediction_files {
            let why = match &self.cdf {
                None => Some("this host has no CDF sink".to_string()),
                Some(sink) => sink.unavailable(),
            };
            if let Some(why) = why {
                tracing::warn!(
                    service = %record.external_id,
                    "writes to_file predictions to CDF data set `{data_set}`, but {why}: such calls will fail"
                );
            }
        }
        Ok(Service {
            from_cache,
            prediction_files: record.prediction_files.clone(),
            ..Service::new(deployment, &record.model_id)
        })
    }
}
