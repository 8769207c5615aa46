//! Everything a call or an admin action can fail with, in one enum. Each
//! message says what is wrong and what to do; none carries the store's
//! internals (those go to the host's log).

use mlops_engine::CallError;
use mlops_manifest::{ExternalId, ServiceKind};
use mlops_registry::RegistryError;

use crate::sink::SinkError;

/// Why a call or an admin action failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The request is not what the service reads: not the envelope, no
    /// `data`, columns the model does not take, a bad admin request.
    #[error("{0}")]
    BadRequest(String),
    /// No service by that id (or the id cannot be one).
    #[error("no service {0}; GET /services lists the deployed ones")]
    UnknownService(String),
    /// The host has not read its store yet: the service may exist.
    #[error("service {0}: this host has not loaded the services from its store yet; retry shortly")]
    NotSyncedYet(ExternalId),
    /// The service is deployed but could not be loaded.
    #[error("service {id} is not loaded: {why}")]
    NotLoaded { id: ExternalId, why: String },
    /// The route is for the other kind of service (OIP serves predictions).
    #[error("{id} is a {kind} service")]
    WrongKind { id: String, kind: ServiceKind },
    /// The model or its sandbox failed the call.
    #[error("{0}")]
    Call(#[from] CallError),
    /// The model or its sandbox failed a training run.
    #[error("training failed: {0}")]
    Training(CallError),
    /// An admin action names something the store does not have, or asks
    /// for what the store refuses (a version that does not exist, a
    /// component never uploaded, redeploying a pinned id).
    #[error("{0}")]
    Invalid(String),
    /// The store failed; the host's log has its error.
    #[error("{doing}: the store failed (the host's log says why); retry, or ask the operator")]
    Store { doing: String, source: Box<RegistryError> },
    /// A `to_file` prediction could not be written to its sink.
    #[error("{}", sink_message(.0))]
    PredictionFile(SinkError),
    /// Something on this host failed (a scratch folder, an encoding).
    #[error("{0}")]
    Internal(String),
}

fn sink_message(e: &SinkError) -> String {
    match e {
        SinkError::Unavailable(why) => why.clone(),
        SinkError::Timeout(why) | SinkError::Failed(why) => {
            format!("the prediction could not be written to CDF: {why}")
        }
    }
}

impl Error {
    /// A store failure while `doing`, logged in full here (the message a
    /// client gets leaves the store's internals out).
    pub fn store(doing: impl Into<String>, source: RegistryError) -> Error {
        let doing = doing.into();
        tracing::error!("{doing}: {source}");
        Error::Store { doing, source: Box::new(source) }
    }

    /// A registry error of an admin action: what the caller asked for that
    /// the store does not have or refuses is theirs to fix (`Invalid`);
    /// anything else is the store's failure.
    pub(crate) fn admin(doing: &str, e: RegistryError) -> Error {
        match e {
            RegistryError::NotFound { .. }
            | RegistryError::Invalid(_)
            | RegistryError::Conflict(_) => Error::Invalid(e.to_string()),
            other => Error::store(doing, other),
        }
    }
}
