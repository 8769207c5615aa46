//! Host bindings generated from `wit/mlops.wit`. This is the only place
//! `bindgen!` runs over the contract.

wasmtime::component::bindgen!({
    world: "model",
    path: "../../wit",
    exports: { default: async },
    additional_derives: [PartialEq],
});

pub use exports::mlops::model::{prediction, training};
pub use mlops::model::logging;
pub use mlops::model::types;
