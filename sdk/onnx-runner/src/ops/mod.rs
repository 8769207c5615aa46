//! The `ai.onnx.ml` operators that scikit-learn, XGBoost and LightGBM
//! converters emit, registered with tract.
//!
//! tract implements a handful of them; the runner replaces those and adds
//! the rest, so that one set of semantics serves every model. Each operator
//! is a [`Kernel`]: it reads its attributes once, says what it outputs for
//! what it is given ([`Kernel::output_facts`]) and computes in plain Rust
//! ([`Kernel::eval`]). The semantics are onnxruntime's, the reference the
//! converters are tested against (the tests compare with it on the same
//! graphs); arithmetic is done in `f64` and rounded once at the end, so
//! results sit between onnxruntime's (`f32` throughout) and the training
//! library's (`f64`).

mod attrs;
mod linear;
mod post;
mod standard;
mod svm;
mod transform;
mod tree;

use std::fmt;
use std::sync::Arc;

use tract_onnx::model::{OnnxOpRegister, ParsingContext};
use tract_onnx::pb::NodeProto;
use tract_onnx::tract_hir::internal::*;

pub(crate) use attrs::Attrs;

/// What an operator computes, given its attributes.
pub(crate) trait Kernel: fmt::Debug + Send + Sync + 'static {
    /// The operator's name (its `op_type`).
    fn name(&self) -> &'static str;

    /// How many outputs it has.
    fn outputs(&self) -> usize {
        1
    }

    /// The type and shape of each output, from those of the inputs.
    fn output_facts(&self, inputs: &[&TypedFact]) -> TractResult<TVec<TypedFact>>;

    /// Computes the outputs.
    fn eval(&self, inputs: TVec<TValue>) -> TractResult<TVec<TValue>>;
}

/// A [`Kernel`] as a tract operator, both in the inference model (where the
/// graph is read) and in the typed model (where it runs).
#[derive(Debug, Clone)]
pub(crate) struct MlOp(Arc<dyn Kernel>);

impl PartialEq for MlOp {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for MlOp {}

impl Op for MlOp {
    fn name(&self) -> StaticName {
        self.0.name().into()
    }

    op_as_typed_op!();
}

impl EvalOp for MlOp {
    op_out_of_plan!();

    fn eval(&self, _ctx: &EvalContext, inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
        self.0.eval(inputs).with_context(|| format!("running {}", self.0.name()))
    }
}

impl TypedOp for MlOp {
    fn output_facts(&self, inputs: &[&TypedFact]) -> TractResult<TVec<TypedFact>> {
        self.0.output_facts(inputs)
    }

    as_op!();
}

impl InferenceOp for MlOp {
    /// Output facts follow once every input's type and shape are known
    /// (symbolic row counts included); until then nothing is claimed.
    fn infer_facts(
        &mut self,
        inputs: TVec<&InferenceFact>,
        outputs: TVec<&InferenceFact>,
        observed: TVec<&InferenceFact>,
    ) -> TractResult<(TVec<InferenceFact>, TVec<InferenceFact>, TVec<InferenceFact>)> {
        let typed: Option<Vec<TypedFact>> =
            inputs.iter().map(|f| TypedFact::try_from(*f).ok()).collect();
        let outputs = match typed {
            Some(typed) => {
                let refs: Vec<&TypedFact> = typed.iter().collect();
                self.0.output_facts(&refs)?.into_iter().map(InferenceFact::from).collect()
            }
            None => outputs.into_iter().cloned().collect(),
        };
        Ok((
            inputs.into_iter().cloned().collect(),
            outputs,
            observed.into_iter().cloned().collect(),
        ))
    }

    fn nboutputs(&self) -> TractResult<usize> {
        Ok(self.0.outputs())
    }

    fn to_typed(
        &self,
        _source: &InferenceModel,
        node: &InferenceNode,
        target: &mut TypedModel,
        mapping: &HashMap<OutletId, OutletId>,
    ) -> TractResult<TVec<OutletId>> {
        let inputs: TVec<OutletId> = node.inputs.iter().map(|i| mapping[i]).collect();
        target.wire_node(&*node.name, self.clone(), &inputs)
    }

    as_op!();
}

/// The `ai.onnx.ml` operators the runner provides, with the newest opset
/// of the domain each is known to work with (a graph may import an older
/// one).
pub const ML_OPERATORS: &[&str] = &[
    "ArrayFeatureExtractor",
    "Binarizer",
    "CategoryMapper",
    "FeatureVectorizer",
    "Imputer",
    "LabelEncoder",
    "LinearClassifier",
    "LinearRegressor",
    "Normalizer",
    "OneHotEncoder",
    "Scaler",
    "SVMClassifier",
    "SVMRegressor",
    "TreeEnsemble",
    "TreeEnsembleClassifier",
    "TreeEnsembleRegressor",
    "ZipMap",
];

/// The newest `ai.onnx.ml` opset the runner reads.
pub const ML_OPSET: i64 = 5;

/// Wraps a kernel builder as tract's operator builder (a non-capturing
/// closure, so it coerces to the `fn` tract stores).
macro_rules! op {
    ($build:path) => {
        |ctx: &ParsingContext,
         node: &NodeProto|
         -> TractResult<(Box<dyn InferenceOp>, Vec<String>)> {
            let kernel = $build(ctx, node).with_context(|| describe(node))?;
            Ok((Box::new(MlOp(kernel)), vec![]))
        }
    };
}

/// Registers the runner's operators with tract, replacing tract's own
/// `ai.onnx.ml` ones but CategoryMapper, and `Sigmoid` (for `f64`).
pub fn register(reg: &mut OnnxOpRegister) {
    reg.insert("ArrayFeatureExtractor", op!(transform::array_feature_extractor));
    reg.insert("Binarizer", op!(transform::binarizer));
    reg.insert("FeatureVectorizer", op!(transform::feature_vectorizer));
    reg.insert("Imputer", op!(transform::imputer));
    reg.insert("LabelEncoder", op!(transform::label_encoder));
    reg.insert("LinearClassifier", op!(linear::classifier));
    reg.insert("LinearRegressor", op!(linear::regressor));
    reg.insert("Normalizer", op!(transform::normalizer));
    reg.insert("OneHotEncoder", op!(transform::one_hot_encoder));
    reg.insert("Scaler", op!(transform::scaler));
    reg.insert("SVMClassifier", op!(svm::classifier));
    reg.insert("SVMRegressor", op!(svm::regressor));
    reg.insert("TreeEnsemble", op!(tree::ensemble_v5));
    reg.insert("TreeEnsembleClassifier", op!(tree::classifier));
    reg.insert("TreeEnsembleRegressor", op!(tree::regressor));
    reg.insert("ZipMap", op!(transform::zip_map));
    reg.insert("Sigmoid", op!(standard::sigmoid));
}

/// Class labels: integers or strings.
#[derive(Debug, Clone)]
pub(crate) enum Labels {
    Ints(Vec<i64>),
    Strings(Vec<String>),
}

impl Labels {
    /// `<prefix>_int64s` or `<prefix>_strings` (exactly one).
    pub fn read(a: &Attrs<'_, '_>, ints: &str, strings: &str) -> TractResult<Labels> {
        let i = a.ints(ints);
        let s = a.strings(strings)?;
        match (i.is_empty(), s.is_empty()) {
            (false, true) => Ok(Labels::Ints(i.to_vec())),
            (true, false) => Ok(Labels::Strings(s)),
            (true, true) => {
                bail!("neither `{ints}` nor `{strings}` is set: the classifier has no class labels")
            }
            (false, false) => {
                bail!("both `{ints}` and `{strings}` are set; a classifier has one or the other")
            }
        }
    }

    pub fn len(&self) -> usize {
        match self {
            Labels::Ints(v) => v.len(),
            Labels::Strings(v) => v.len(),
        }
    }

    pub fn datum_type(&self) -> DatumType {
        match self {
            Labels::Ints(_) => DatumType::I64,
            Labels::Strings(_) => DatumType::String,
        }
    }

    /// A classifier's output facts: labels [rows] and `columns` `f32`
    /// scores per row.
    pub fn facts(
        &self,
        op: &str,
        input: &TypedFact,
        columns: usize,
    ) -> TractResult<TVec<TypedFact>> {
        expect_type(op, input, NUMERIC)?;
        let rows = rows_of(input);
        Ok(tvec!(self.datum_type().fact(&[rows.clone()]), f32::fact(&[rows, columns.to_dim()])))
    }

    /// A classifier's outputs: the labels of `classes` and the scores,
    /// `columns` a row.
    pub fn outputs(
        &self,
        classes: &[usize],
        scores: &[f64],
        columns: usize,
    ) -> TractResult<TVec<TValue>> {
        Ok(tvec!(
            self.tensor(classes)?.into_tvalue(),
            from_f64(DatumType::F32, &[classes.len(), columns], scores)?.into_tvalue()
        ))
    }

    /// A label tensor [rows] from class indices.
    pub fn tensor(&self, classes: &[usize]) -> TractResult<Tensor> {
        Ok(match self {
            Labels::Ints(v) => {
                let out: Vec<i64> = classes.iter().map(|&c| v[c]).collect();
                Tensor::from_shape(&[out.len()], &out)?
            }
            Labels::Strings(v) => {
                let out: Vec<String> = classes.iter().map(|&c| v[c].clone()).collect();
                tract_ndarray::Array1::from_vec(out).into()
            }
        })
    }
}

/// How a node is named in messages: `TreeEnsembleRegressor node "name"`.
pub(crate) fn describe(node: &NodeProto) -> String {
    if node.name.is_empty() {
        format!("{} node (output `{}`)", node.op_type, node.output.first().map_or("", |s| s))
    } else {
        format!("{} node `{}`", node.op_type, node.name)
    }
}

/// The number of rows of an input: its first dimension (1 for a vector,
/// as onnxruntime treats it).
pub(crate) fn rows_of(fact: &TypedFact) -> TDim {
    if fact.rank() >= 2 { fact.shape[0].clone() } else { 1.to_dim() }
}

/// An input's row count and row width. A vector is one row.
pub(crate) fn rows_and_width(t: &Tensor) -> TractResult<(usize, usize)> {
    Ok(match t.shape() {
        [] => (1, 1),
        [w] => (1, *w),
        [r, w] => (*r, *w),
        other => bail!("expected a [rows, features] tensor, got shape {other:?}"),
    })
}

/// An input as `f64` values with its row count and row width, whatever its
/// numeric type. A vector is one row.
pub(crate) fn as_f64_rows(t: &Tensor) -> TractResult<(Vec<f64>, usize, usize)> {
    let (rows, width) = rows_and_width(t)?;
    Ok((to_f64(t)?, rows, width))
}

/// The values of a numeric tensor as `f64`.
pub(crate) fn to_f64(t: &Tensor) -> TractResult<Vec<f64>> {
    let view = t.try_as_plain_ram()?;
    Ok(match t.datum_type() {
        DatumType::F64 => view.as_slice::<f64>()?.to_vec(),
        DatumType::F32 => view.as_slice::<f32>()?.iter().map(|&v| f64::from(v)).collect(),
        DatumType::I64 => view.as_slice::<i64>()?.iter().map(|&v| v as f64).collect(),
        DatumType::I32 => view.as_slice::<i32>()?.iter().map(|&v| f64::from(v)).collect(),
        DatumType::Bool => {
            view.as_slice::<bool>()?.iter().map(|&v| if v { 1.0 } else { 0.0 }).collect()
        }
        other => bail!("expected a numeric tensor, got {other:?}"),
    })
}

/// A tensor of `dt` (f32 or f64) from `f64` values.
pub(crate) fn from_f64(dt: DatumType, shape: &[usize], values: &[f64]) -> TractResult<Tensor> {
    match dt {
        DatumType::F64 => Tensor::from_shape(shape, values),
        DatumType::F32 => {
            let v: Vec<f32> = values.iter().map(|&v| v as f32).collect();
            Tensor::from_shape(shape, &v)
        }
        other => bail!("cannot write {other:?} scores"),
    }
}

/// Checks an input's type is one of `allowed`.
pub(crate) fn expect_type(op: &str, fact: &TypedFact, allowed: &[DatumType]) -> TractResult<()> {
    if !allowed.contains(&fact.datum_type) {
        bail!("{op}: input of type {:?} is not supported (it takes {allowed:?})", fact.datum_type);
    }
    Ok(())
}

/// Numeric inputs the classic-ML operators take.
pub(crate) const NUMERIC: &[DatumType] =
    &[DatumType::F32, DatumType::F64, DatumType::I64, DatumType::I32];
