//! Write an mlops-host model in Rust.
//!
//! Implement [`Model`] for a type that holds what the model needs at
//! prediction time (the seed's `init_object`), then export it:
//!
//! ```ignore
//! use mlops_sdk::{Frame, Init, Model, ModelError, Payload, Context};
//!
//! struct Doubler;
//!
//! impl Model for Doubler {
//!     fn initialization(_init: Init<'_>) -> Result<Self, ModelError> {
//!         Ok(Doubler)
//!     }
//!
//!     fn predict(&self, input: Payload, _ctx: &Context<'_>) -> Result<Payload, ModelError> {
//!         let x = input.frame()?.f64("x")?;
//!         Ok(Frame::from_f64("y", x.iter().map(|v| 2.0 * v).collect()).into())
//!     }
//! }
//!
//! mlops_sdk::export_model!(Doubler);
//! ```
//!
//! Build it with `cargo build --release --target wasm32-wasip2`: the result
//! is a component of the `model` world in `wit/mlops.wit`.
//!
//! The crate depends on `wit-bindgen` only; it has no host code in it.

extern crate self as mlops_sdk;

mod frame;
pub mod log;

use std::path::{Path, PathBuf};

pub use frame::Validity;

/// Bindings generated from `wit/mlops.wit` (world `model`).
#[doc(hidden)]
pub mod bindings {
    wit_bindgen::generate!({
        world: "model",
        path: "../../wit",
        pub_export_macro: true,
        export_macro_name: "__export_model_world",
        default_bindings_module: "::mlops_sdk::bindings",
        runtime_path: "::mlops_sdk::__private::wit_bindgen::rt",
        generate_all,
    });
}

pub use bindings::mlops::model::types::{
    Column, ColumnData, DataType, Entry, ErrorKind, Field, Frame, ModelError, Payload, Schema,
    Secret, Signature,
};

impl ModelError {
    /// The caller's data is wrong; the message says what to fix.
    pub fn bad_input(message: impl Into<String>) -> Self {
        Self { kind: ErrorKind::BadInput, message: message.into() }
    }

    /// An artifact is missing or malformed.
    pub fn bad_artifact(message: impl Into<String>) -> Self {
        Self { kind: ErrorKind::BadArtifact, message: message.into() }
    }

    /// The model does not offer this operation.
    pub fn unsupported(message: impl Into<String>) -> Self {
        Self { kind: ErrorKind::Unsupported, message: message.into() }
    }

    /// Anything else.
    pub fn internal(message: impl Into<String>) -> Self {
        Self { kind: ErrorKind::Internal, message: message.into() }
    }
}

impl Payload {
    /// The frame in this payload, or a `bad-input` error for a JSON payload.
    pub fn frame(&self) -> Result<&Frame, ModelError> {
        match self {
            Payload::Frame(frame) => Ok(frame),
            Payload::Json(_) => Err(ModelError::bad_input(
                "this model reads columns: send `data` as an object of named columns",
            )),
        }
    }

    /// The JSON text in this payload, or a `bad-input` error for a frame.
    pub fn json(&self) -> Result<&str, ModelError> {
        match self {
            Payload::Json(text) => Ok(text),
            Payload::Frame(_) => {
                Err(ModelError::bad_input("this model reads a JSON document, not columns"))
            }
        }
    }
}

impl From<Frame> for Payload {
    fn from(frame: Frame) -> Self {
        Payload::Frame(frame)
    }
}

impl Field {
    /// A column the model needs.
    pub fn required(name: &str, ty: DataType, description: &str) -> Self {
        Field {
            name: name.to_string(),
            type_: ty,
            required: true,
            nullable: true,
            description: description.to_string(),
        }
    }

    /// A column the model uses when it is there.
    pub fn optional(name: &str, ty: DataType, description: &str) -> Self {
        Field { required: false, ..Field::required(name, ty, description) }
    }
}

/// What `initialization` gets: where the artifacts are, and the secrets.
#[derive(Debug)]
pub struct Init<'a> {
    artifact_folder: Option<PathBuf>,
    secrets: &'a [Secret],
}

impl Init<'_> {
    /// The read-only folder with the model's artifacts, if it has any.
    pub fn artifact_folder(&self) -> Option<&Path> {
        self.artifact_folder.as_deref()
    }

    /// Reads an artifact file. A missing folder or file is a `bad-artifact`
    /// error that names the file.
    pub fn read_artifact(&self, name: &str) -> Result<Vec<u8>, ModelError> {
        let folder = self.artifact_folder().ok_or_else(|| {
            ModelError::bad_artifact(format!(
                "the model needs artifact `{name}` but has no artifact folder: set `artifact_folder` in mlops_settings.yaml"
            ))
        })?;
        let path = folder.join(name);
        std::fs::read(&path)
            .map_err(|e| ModelError::bad_artifact(format!("cannot read artifact `{name}`: {e}")))
    }

    /// Reads an artifact file as UTF-8 text.
    pub fn read_artifact_string(&self, name: &str) -> Result<String, ModelError> {
        String::from_utf8(self.read_artifact(name)?)
            .map_err(|_| ModelError::bad_artifact(format!("artifact `{name}` is not UTF-8 text")))
    }

    /// The value of a secret the model declared, if the host has it.
    pub fn secret(&self, name: &str) -> Option<&str> {
        find_secret(self.secrets, name)
    }

    /// The names of the secrets the host handed over: the declared ones it
    /// has, nothing else.
    pub fn secret_names(&self) -> impl Iterator<Item = &str> {
        self.secrets.iter().map(|s| s.name.as_str())
    }
}

/// What every call gets besides its data.
#[derive(Debug)]
pub struct Context<'a> {
    secrets: &'a [Secret],
}

impl Context<'_> {
    /// The value of a secret the model declared, if the host has it.
    pub fn secret(&self, name: &str) -> Option<&str> {
        find_secret(self.secrets, name)
    }

    /// The names of the secrets the host handed over: the declared ones it
    /// has, nothing else.
    pub fn secret_names(&self) -> impl Iterator<Item = &str> {
        self.secrets.iter().map(|s| s.name.as_str())
    }
}

fn find_secret<'a>(secrets: &'a [Secret], name: &str) -> Option<&'a str> {
    secrets.iter().find(|s| s.name == name).map(|s| s.value.as_str())
}

/// A model. One value of the implementing type is built per instance by
/// [`Model::initialization`] and lent to every [`Model::predict`].
pub trait Model: Sized + 'static {
    /// Builds the model's state: read artifacts, check them, precompute.
    fn initialization(init: Init<'_>) -> Result<Self, ModelError>;

    /// Predicts from `input`.
    fn predict(&self, input: Payload, ctx: &Context<'_>) -> Result<Payload, ModelError>;

    /// The model's inputs and outputs; the host validates requests against
    /// it. The default accepts anything and lets `predict` check.
    fn signature() -> Signature {
        Signature { inputs: Schema::Any, outputs: Schema::Any }
    }

    /// Trains on `data`, writing the new artifacts into `folder`, and returns
    /// metadata for the new version. The default reports `unsupported`.
    fn train(
        data: Payload,
        folder: &Path,
        ctx: &Context<'_>,
    ) -> Result<Vec<(String, String)>, ModelError> {
        let _ = (data, folder, ctx);
        Err(ModelError::unsupported("this model does not train"))
    }
}

/// Exports a [`Model`] as a component of the `model` world.
///
/// On targets other than WebAssembly it expands to nothing, so a model crate
/// can also be built natively (tests, benchmarks, tools) as an `rlib`.
#[macro_export]
macro_rules! export_model {
    ($model:ty) => {
        #[cfg(target_family = "wasm")]
        const _: () = {
            use $crate::bindings::exports::mlops::model::{prediction, training};

            struct MlopsGuest;

            impl prediction::Guest for MlopsGuest {
                type State = $crate::__private::State<$model>;

                fn initialization(
                    artifact_folder: Option<String>,
                    secrets: Vec<$crate::Secret>,
                ) -> Result<prediction::State, $crate::ModelError> {
                    $crate::__private::initialization::<$model>(artifact_folder, &secrets)
                        .map(prediction::State::new)
                }

                fn predict(
                    data: $crate::Payload,
                    state: prediction::StateBorrow<'_>,
                    secrets: Vec<$crate::Secret>,
                ) -> Result<$crate::Payload, $crate::ModelError> {
                    $crate::__private::predict(state.get::<Self::State>(), data, &secrets)
                }

                fn describe() -> $crate::Signature {
                    <$model as $crate::Model>::signature()
                }
            }

            impl training::Guest for MlopsGuest {
                fn train(
                    data: $crate::Payload,
                    folder_path: String,
                    secrets: Vec<$crate::Secret>,
                ) -> Result<Vec<$crate::Entry>, $crate::ModelError> {
                    $crate::__private::train::<$model>(data, folder_path, &secrets)
                }
            }

    $crate::bindings::__export_model_world!(MlopsGuest with_types_in $crate::bindings);
        };
    };
}

/// Support for [`export_model!`]; not part of the API.
#[doc(hidden)]
pub mod __private {
    use super::*;

    pub use wit_bindgen;

    /// The state resource: the model value `initialization` built.
    pub struct State<M>(M);

    impl<M: Model> bindings::exports::mlops::model::prediction::GuestState for State<M> {}

    pub fn initialization<M: Model>(
        artifact_folder: Option<String>,
        secrets: &[Secret],
    ) -> Result<State<M>, ModelError> {
        let init = Init { artifact_folder: artifact_folder.map(PathBuf::from), secrets };
        M::initialization(init).map(State)
    }

    pub fn predict<M: Model>(
        state: &State<M>,
        data: Payload,
        secrets: &[Secret],
    ) -> Result<Payload, ModelError> {
        state.0.predict(data, &Context { secrets })
    }

    pub fn train<M: Model>(
        data: Payload,
        folder_path: String,
        secrets: &[Secret],
    ) -> Result<Vec<Entry>, ModelError> {
        let metadata = M::train(data, Path::new(&folder_path), &Context { secrets })?;
        Ok(metadata.into_iter().map(|(key, value)| Entry { key, value }).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Predicts;

    impl Model for Predicts {
        fn initialization(_init: Init<'_>) -> Result<Self, ModelError> {
            Ok(Predicts)
        }

        fn predict(&self, input: Payload, _ctx: &Context<'_>) -> Result<Payload, ModelError> {
            Ok(input)
        }
    }

    #[test]
    fn a_model_that_does_not_train_says_so() {
        let err = __private::train::<Predicts>(Payload::Json("{}".into()), "/output".into(), &[])
            .expect_err("unsupported");
        assert_eq!(err.kind, ErrorKind::Unsupported);
    }

    #[test]
    fn secrets_are_found_by_name() {
        let secrets = [Secret { name: "A".into(), value: "1".into() }];
        let ctx = Context { secrets: &secrets };
        assert_eq!(ctx.secret("A"), Some("1"));
        assert_eq!(ctx.secret("B"), None);
    }
}
