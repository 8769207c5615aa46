//! Logging to the host (the seed's `get_logger`). Lines appear in the host's
//! log with the model id attached.

use crate::bindings::mlops::model::logging::{self, Level};

/// Logs `message` at `level` with key/value `fields`.
pub fn log(level: Level, message: &str, fields: &[(String, String)]) {
    logging::log(level, message, fields);
}

/// Logs at debug level.
pub fn debug(message: &str) {
    log(Level::Debug, message, &[]);
}

/// Logs at info level.
pub fn info(message: &str) {
    log(Level::Info, message, &[]);
}

/// Logs at warn level.
pub fn warn(message: &str) {
    log(Level::Warn, message, &[]);
}

/// Logs at error level.
pub fn error(message: &str) {
    log(Level::Error, message, &[]);
}

pub use crate::bindings::mlops::model::logging::Level as LogLevel;
