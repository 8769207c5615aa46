//! CDF data sets: look up, create, list.

use std::collections::BTreeMap;

use reqwest::Method;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::files::check_metadata;
use crate::{CdfClient, CdfError};

/// A data set as CDF describes it.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct DataSet {
    pub id: i64,
    #[serde(default)]
    pub external_id: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub metadata: BTreeMap<String, String>,
    #[serde(default)]
    pub write_protected: bool,
    pub created_time: i64,
    pub last_updated_time: i64,
}

/// The fields of a new data set.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DataSetSpec {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub metadata: BTreeMap<String, String>,
    pub write_protected: bool,
}

fn decode(value: Value, what: &str) -> Result<Vec<DataSet>, CdfError> {
    serde_json::from_value(value.get("items").cloned().unwrap_or(Value::Null))
        .map_err(|e| CdfError::Decode { what: what.to_string(), message: e.to_string() })
}

impl CdfClient {
    /// The data set with this external id, or `None`.
    pub async fn data_set(&self, external_id: &str) -> Result<Option<DataSet>, CdfError> {
        let body = json!({ "items": [{ "externalId": external_id }], "ignoreUnknownIds": true });
        let answer = self.call(Method::POST, "/datasets/byids", &[], Some(&body), true).await?;
        Ok(decode(answer, "POST /datasets/byids")?.into_iter().next())
    }

    /// Creates data sets (at most 10 per request, as CDF allows).
    pub async fn create_data_sets(&self, specs: &[DataSetSpec]) -> Result<Vec<DataSet>, CdfError> {
        let mut out = Vec::with_capacity(specs.len());
        for chunk in specs.chunks(10) {
            for spec in chunk {
                check_metadata(&spec.metadata)?;
                let bad = |what: &str, v: &Option<String>, max: usize| {
                    v.as_ref().is_some_and(|v| v.is_empty() || v.chars().count() > max).then(|| {
                        CdfError::Invalid(format!("a data set {what} must be 1–{max} characters"))
                    })
                };
                if let Some(e) = bad("name", &spec.name, 50)
                    .or_else(|| bad("description", &spec.description, 500))
                {
                    return Err(e);
                }
            }
            let answer = self
                .call(Method::POST, "/datasets", &[], Some(&json!({ "items": chunk })), false)
                .await?;
            out.extend(decode(answer, "POST /datasets")?);
        }
        Ok(out)
    }

    /// Every data set whose external id starts with `external_id_prefix`
    /// (all when `None`), following cursors.
    pub async fn list_data_sets(
        &self,
        external_id_prefix: Option<&str>,
    ) -> Result<Vec<DataSet>, CdfError> {
        let mut out = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let mut body = json!({ "limit": self.config().list_page.clamp(1, 1000) });
            if let Some(p) = external_id_prefix {
                body["filter"] = json!({ "externalIdPrefix": p });
            }
            if let Some(c) = &cursor {
                body["cursor"] = json!(c);
            }
            let answer = self.call(Method::POST, "/datasets/list", &[], Some(&body), true).await?;
            let next = answer["nextCursor"].as_str().filter(|c| !c.is_empty()).map(str::to_string);
            out.extend(decode(answer, "POST /datasets/list")?);
            match next {
                Some(c) => cursor = Some(c),
                None => return Ok(out),
            }
        }
    }

    /// The id of the data set `external_id`, created (with that name) when
    /// `create` and it does not exist yet. Two processes creating it at
    /// once both end with the same id.
    pub async fn data_set_id(&self, external_id: &str, create: bool) -> Result<i64, CdfError> {
        if let Some(ds) = self.data_set(external_id).await? {
            return Ok(ds.id);
        }
        if !create {
            return Err(CdfError::Invalid(format!(
                "CDF has no data set `{external_id}`: create it, or name one that exists"
            )));
        }
        let spec = DataSetSpec {
            external_id: Some(external_id.to_string()),
            name: Some(external_id.chars().take(50).collect()),
            description: Some("Model artifacts and predictions written by mlops-host".into()),
            ..Default::default()
        };
        match self.create_data_sets(&[spec]).await {
            Ok(created) => created.first().map(|d| d.id).ok_or_else(|| CdfError::Decode {
                what: "POST /datasets".into(),
                message: "no item".into(),
            }),
            // Someone else created it meanwhile.
            Err(e) if e.is_duplicated() => match self.data_set(external_id).await? {
                Some(ds) => Ok(ds.id),
                None => Err(e),
            },
            Err(e) => Err(e),
        }
    }
}
