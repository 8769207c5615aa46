pub mod bench;
pub mod call;
pub mod deploy;
pub mod local;
pub mod models;
pub mod serve;
pub mod services;
pub mod test;
