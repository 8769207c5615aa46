//! Predictions to CDF Files (`to_file`).
//!
//! A prediction becomes the file with external id
//! `<data set>/predictions/<model>/<env>/<UTC time>-<random>.json`, named
//! after its last segment, in directory `/<data set>/predictions/<model>/<env>`,
//! MIME type `application/json`, in the data set, with metadata `model_id`,
//! `service` (the external id called), `env` and `created` (RFC 3339). The
//! upload runs under a deadline; the id is returned only once CDF marks the
//! file uploaded, so a reader can fetch it at once. When anything fails the
//! file is removed (retried in the background if CDF is unwell), so no
//! half-written prediction stays.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use mlops_core::{PredictionFile, PredictionSink, SinkError};
use tokio::sync::Mutex;

use crate::files::{FileRef, FileSpec};
use crate::{CdfClient, CdfError};

/// Writes predictions to CDF Files: the serving core's
/// [`PredictionSink`] for services whose `prediction_files` go to CDF.
#[derive(Debug)]
pub struct CdfSink {
    client: CdfClient,
    deadline: Duration,
    data_set_ids: Mutex<HashMap<String, i64>>,
}

#[async_trait::async_trait]
impl PredictionSink for CdfSink {
    async fn upload(&self, data_set: &str, file: PredictionFile<'_>) -> Result<String, SinkError> {
        CdfSink::upload(self, data_set, file).await.map_err(|e| match e {
            CdfError::Timeout { .. } => SinkError::Timeout(e.to_string()),
            e => SinkError::Failed(e.to_string()),
        })
    }
}

impl CdfSink {
    /// A sink that gives each upload at most `deadline`.
    pub fn new(client: CdfClient, deadline: Duration) -> CdfSink {
        CdfSink { client, deadline, data_set_ids: Mutex::new(HashMap::new()) }
    }

    pub fn client(&self) -> &CdfClient {
        &self.client
    }

    /// Uploads `file` into data set `data_set` (an external id; it must
    /// exist) and returns the file's external id.
    pub async fn upload(
        &self,
        data_set: &str,
        file: PredictionFile<'_>,
    ) -> Result<String, CdfError> {
        let now = chrono::Utc::now();
        let name = format!("{}-{:08x}.json", now.format("%Y%m%dT%H%M%S%.6fZ"), fastrand::u32(..));
        let directory = format!("{data_set}/predictions/{}/{}", file.model, file.env);
        let external_id = format!("{directory}/{name}");
        let spec = FileSpec {
            name,
            external_id: Some(external_id.clone()),
            directory: Some(format!("/{directory}")),
            source: Some("mlops-host".into()),
            mime_type: Some("application/json".into()),
            metadata: BTreeMap::from([
                ("model_id".to_string(), file.model_id.to_string()),
                ("service".to_string(), file.service.to_string()),
                ("env".to_string(), file.env.to_string()),
                ("created".to_string(), now.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)),
            ]),
            data_set_id: None,
        };
        let started = Instant::now();
        let work = async {
            let data_set_id = self.data_set_id(data_set).await?;
            let spec = FileSpec { data_set_id: Some(data_set_id), ..spec };
            let info = self.client.upload_file(&spec, file.body, false).await?;
            let left = self.deadline.saturating_sub(started.elapsed());
            self.client.await_uploaded(&FileRef::Id(info.id), left).await
        };
        let result = match tokio::time::timeout(self.deadline, work).await {
            Ok(result) => result.map(|_| ()),
            Err(_) => Err(CdfError::Timeout {
                what: format!("upload of {external_id}"),
                after: self.deadline,
            }),
        };
        match result {
            Ok(()) => Ok(external_id),
            Err(e) => {
                self.remove_later(external_id);
                Err(e)
            }
        }
    }

    async fn data_set_id(&self, data_set: &str) -> Result<i64, CdfError> {
        if let Some(id) = self.data_set_ids.lock().await.get(data_set) {
            return Ok(*id);
        }
        let id = self.client.data_set_id(data_set, false).await?;
        self.data_set_ids.lock().await.insert(data_set.to_string(), id);
        Ok(id)
    }

    /// Removes what a failed upload may have left, in the background: now,
    /// and once more a little later (a create cut off by the deadline may
    /// still land after the first delete).
    fn remove_later(&self, external_id: String) {
        let client = self.client.clone();
        tokio::spawn(async move {
            let file = [FileRef::ExternalId(external_id.clone())];
            for pause in [Duration::ZERO, Duration::from_secs(2)] {
                tokio::time::sleep(pause).await;
                if let Err(e) = client.delete_files(&file, true).await {
                    tracing::warn!(file = %external_id, "could not remove a prediction file whose upload failed: {e}");
                }
            }
        });
    }
}
