//! The preprocessing operators of `ai.onnx.ml`: `Scaler`, `Imputer`,
//! `Normalizer`, `Binarizer`, `OneHotEncoder`, `LabelEncoder`,
//! `ArrayFeatureExtractor`, `FeatureVectorizer`, and `ZipMap`.

use std::collections::HashMap;
use std::sync::Arc;

use tract_onnx::model::ParsingContext;
use tract_onnx::pb::NodeProto;
use tract_onnx::tract_hir::internal::*;

use super::{Attrs, Kernel, NUMERIC, expect_type, from_f64, rows_of, to_f64};

fn reals(a: &Attrs<'_, '_>, name: &str) -> Vec<f64> {
    a.floats(name).iter().map(|&v| f64::from(v)).collect()
}

/// The value for column `j` of a per-column list of length 1 or `width`.
fn per_column(name: &str, values: &[f64], width: usize) -> TractResult<()> {
    if values.len() != 1 && values.len() != width {
        bail!(
            "attribute `{name}` has {} values; the input has {width} columns (give 1 or {width})",
            values.len()
        );
    }
    Ok(())
}

fn width_of(t: &Tensor) -> usize {
    t.shape().last().copied().unwrap_or(1)
}

/// `Scaler`: Y `f32` = (X − offset) · scale, per column.
pub(crate) fn scaler(ctx: &ParsingContext, node: &NodeProto) -> TractResult<Arc<dyn Kernel>> {
    let a = Attrs::new(ctx, node);
    let offset = reals(&a, "offset");
    let scale = reals(&a, "scale");
    if offset.is_empty() && scale.is_empty() {
        bail!("attributes `offset` and `scale` are both missing");
    }
    Ok(Arc::new(Scaler { offset, scale }))
}

#[derive(Debug)]
struct Scaler {
    offset: Vec<f64>,
    scale: Vec<f64>,
}

impl Kernel for Scaler {
    fn name(&self) -> &'static str {
        "Scaler"
    }

    fn output_facts(&self, inputs: &[&TypedFact]) -> TractResult<TVec<TypedFact>> {
        expect_type(self.name(), inputs[0], NUMERIC)?;
        Ok(tvec!(f32::fact(inputs[0].shape.iter())))
    }

    fn eval(&self, inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
        let x = &inputs[0];
        let width = width_of(x);
        let offset = if self.offset.is_empty() { vec![0.0] } else { self.offset.clone() };
        let scale = if self.scale.is_empty() { vec![1.0] } else { self.scale.clone() };
        per_column("offset", &offset, width)?;
        per_column("scale", &scale, width)?;
        let at = |v: &[f64], j: usize| if v.len() == 1 { v[0] } else { v[j] };
        let out: Vec<f32> = if x.datum_type() == DatumType::F32 {
            // In f32, as onnxruntime does for f32 inputs.
            let values = x.try_as_plain_ram()?.as_slice::<f32>()?;
            values
                .iter()
                .enumerate()
                .map(|(i, &v)| (v - at(&offset, i % width) as f32) * at(&scale, i % width) as f32)
                .collect()
        } else {
            to_f64(x)?
                .iter()
                .enumerate()
                .map(|(i, &v)| ((v - at(&offset, i % width)) * at(&scale, i % width)) as f32)
                .collect()
        };
        Ok(tvec!(Tensor::from_shape(x.shape(), &out)?.into_tvalue()))
    }
}

/// `Imputer`: replaces a marker value (NaN by default for floats when
/// `replaced_value_float` is NaN) with a value per column.
pub(crate) fn imputer(ctx: &ParsingContext, node: &NodeProto) -> TractResult<Arc<dyn Kernel>> {
    let a = Attrs::new(ctx, node);
    let floats = reals(&a, "imputed_value_floats");
    let ints = a.ints("imputed_value_int64s");
    let (values, replaced, integer) = match (floats.is_empty(), ints.is_empty()) {
        (false, true) => (floats, f64::from(a.float("replaced_value_float").unwrap_or(0.0)), false),
        (true, false) => (
            ints.iter().map(|&v| v as f64).collect(),
            a.int("replaced_value_int64").unwrap_or(0) as f64,
            true,
        ),
        (true, true) => bail!("neither `imputed_value_floats` nor `imputed_value_int64s` is set"),
        (false, false) => bail!("both `imputed_value_floats` and `imputed_value_int64s` are set"),
    };
    Ok(Arc::new(Imputer { values, replaced, integer }))
}

#[derive(Debug)]
struct Imputer {
    values: Vec<f64>,
    replaced: f64,
    integer: bool,
}

impl Kernel for Imputer {
    fn name(&self) -> &'static str {
        "Imputer"
    }

    fn output_facts(&self, inputs: &[&TypedFact]) -> TractResult<TVec<TypedFact>> {
        let allowed: &[DatumType] = if self.integer {
            &[DatumType::I64, DatumType::I32]
        } else {
            &[DatumType::F32, DatumType::F64]
        };
        expect_type(self.name(), inputs[0], allowed)?;
        Ok(tvec!(inputs[0].datum_type.fact(inputs[0].shape.iter())))
    }

    fn eval(&self, inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
        let x = &inputs[0];
        let width = width_of(x);
        per_column("imputed_value", &self.values, width)?;
        let value = |j: usize| if self.values.len() == 1 { self.values[0] } else { self.values[j] };
        let replace = |v: f64| v == self.replaced || (self.replaced.is_nan() && v.is_nan());
        let mut out = x.clone().into_tensor();
        match x.datum_type() {
            DatumType::F32 => {
                let mut view = out.try_as_plain_ram_mut()?;
                for (i, v) in view.as_slice_mut::<f32>()?.iter_mut().enumerate() {
                    if replace(f64::from(*v)) {
                        *v = value(i % width) as f32;
                    }
                }
            }
            DatumType::F64 => {
                let mut view = out.try_as_plain_ram_mut()?;
                for (i, v) in view.as_slice_mut::<f64>()?.iter_mut().enumerate() {
                    if replace(*v) {
                        *v = value(i % width);
                    }
                }
            }
            DatumType::I64 => {
                let mut view = out.try_as_plain_ram_mut()?;
                for (i, v) in view.as_slice_mut::<i64>()?.iter_mut().enumerate() {
                    if replace(*v as f64) {
                        *v = value(i % width) as i64;
                    }
                }
            }
            DatumType::I32 => {
                let mut view = out.try_as_plain_ram_mut()?;
                for (i, v) in view.as_slice_mut::<i32>()?.iter_mut().enumerate() {
                    if replace(f64::from(*v)) {
                        *v = value(i % width) as i32;
                    }
                }
            }
            other => bail!("Imputer: input of type {other:?}"),
        }
        Ok(tvec!(out.into_tvalue()))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Norm {
    Max,
    L1,
    L2,
}

/// `Normalizer`: each row divided by its largest value (as onnxruntime:
/// not the largest absolute value), the sum of its absolute values, or its
/// Euclidean length; a row whose divisor is 0 is left as it is. Y `f32`.
pub(crate) fn normalizer(ctx: &ParsingContext, node: &NodeProto) -> TractResult<Arc<dyn Kernel>> {
    let a = Attrs::new(ctx, node);
    let norm =
        a.choice("norm", Norm::Max, &[("MAX", Norm::Max), ("L1", Norm::L1), ("L2", Norm::L2)])?;
    Ok(Arc::new(Normalizer { norm }))
}

#[derive(Debug)]
struct Normalizer {
    norm: Norm,
}

impl Kernel for Normalizer {
    fn name(&self) -> &'static str {
        "Normalizer"
    }

    fn output_facts(&self, inputs: &[&TypedFact]) -> TractResult<TVec<TypedFact>> {
        expect_type(self.name(), inputs[0], NUMERIC)?;
        Ok(tvec!(f32::fact(inputs[0].shape.iter())))
    }

    fn eval(&self, inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
        let x = &inputs[0];
        let width = width_of(x).max(1);
        let mut v = to_f64(x)?;
        for row in v.chunks_mut(width) {
            let d = match self.norm {
                Norm::Max => row.iter().copied().fold(f64::NEG_INFINITY, f64::max),
                Norm::L1 => row.iter().map(|v| v.abs()).sum(),
                Norm::L2 => row.iter().map(|v| v * v).sum::<f64>().sqrt(),
            };
            if d != 0.0 {
                row.iter_mut().for_each(|v| *v /= d);
            }
        }
        Ok(tvec!(from_f64(DatumType::F32, x.shape(), &v)?.into_tvalue()))
    }
}

/// `Binarizer`: 1 where X > threshold, else 0, of X's type.
pub(crate) fn binarizer(ctx: &ParsingContext, node: &NodeProto) -> TractResult<Arc<dyn Kernel>> {
    let a = Attrs::new(ctx, node);
    Ok(Arc::new(Binarizer { threshold: f64::from(a.float("threshold").unwrap_or(0.0)) }))
}

#[derive(Debug)]
struct Binarizer {
    threshold: f64,
}

impl Kernel for Binarizer {
    fn name(&self) -> &'static str {
        "Binarizer"
    }

    fn output_facts(&self, inputs: &[&TypedFact]) -> TractResult<TVec<TypedFact>> {
        expect_type(self.name(), inputs[0], NUMERIC)?;
        Ok(tvec!(inputs[0].datum_type.fact(inputs[0].shape.iter())))
    }

    fn eval(&self, inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
        let x = &inputs[0];
        let v: Vec<f64> =
            to_f64(x)?.iter().map(|&v| if v > self.threshold { 1.0 } else { 0.0 }).collect();
        let t = match x.datum_type() {
            DatumType::F32 | DatumType::F64 => from_f64(x.datum_type(), x.shape(), &v)?,
            dt => Tensor::from_shape(x.shape(), &v)?.cast_to_dt(dt)?.into_owned(),
        };
        Ok(tvec!(t.into_tvalue()))
    }
}

/// A value used as a key: strings, integers, or reals (all NaNs equal).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Key {
    S(String),
    I(i64),
    F(u64),
}

impl Key {
    fn real(v: f64) -> Key {
        Key::F(if v.is_nan() { f64::NAN.to_bits() } else { (v + 0.0).to_bits() })
    }
}

/// The values of a tensor as keys, by its type.
fn keys_of(t: &Tensor) -> TractResult<Vec<Key>> {
    let view = t.try_as_plain_ram()?;
    Ok(match t.datum_type() {
        DatumType::String => view.as_slice::<String>()?.iter().map(|s| Key::S(s.clone())).collect(),
        DatumType::I64 => view.as_slice::<i64>()?.iter().map(|&v| Key::I(v)).collect(),
        DatumType::I32 => view.as_slice::<i32>()?.iter().map(|&v| Key::I(i64::from(v))).collect(),
        DatumType::I16 => view.as_slice::<i16>()?.iter().map(|&v| Key::I(i64::from(v))).collect(),
        DatumType::F32 | DatumType::F64 => to_f64(t)?.into_iter().map(Key::real).collect(),
        other => bail!("keys of type {other:?} are not supported"),
    })
}

/// `OneHotEncoder`: Y `f32` of shape X.shape + [categories].
pub(crate) fn one_hot_encoder(
    ctx: &ParsingContext,
    node: &NodeProto,
) -> TractResult<Arc<dyn Kernel>> {
    let a = Attrs::new(ctx, node);
    let ints = a.ints("cats_int64s");
    let strings = a.strings("cats_strings")?;
    let cats: Vec<Key> = match (ints.is_empty(), strings.is_empty()) {
        (false, true) => ints.iter().map(|&v| Key::I(v)).collect(),
        (true, false) => strings.into_iter().map(Key::S).collect(),
        (true, true) => bail!("neither `cats_int64s` nor `cats_strings` is set"),
        (false, false) => bail!("both `cats_int64s` and `cats_strings` are set"),
    };
    let index = cats.iter().enumerate().map(|(i, k)| (k.clone(), i)).collect();
    Ok(Arc::new(OneHot {
        strings: matches!(cats[0], Key::S(_)),
        count: cats.len(),
        index,
        zeros: a.int("zeros").unwrap_or(1) != 0,
    }))
}

#[derive(Debug)]
struct OneHot {
    index: HashMap<Key, usize>,
    count: usize,
    strings: bool,
    /// An unknown category encodes as all zeros (otherwise it is an error).
    zeros: bool,
}

impl Kernel for OneHot {
    fn name(&self) -> &'static str {
        "OneHotEncoder"
    }

    fn output_facts(&self, inputs: &[&TypedFact]) -> TractResult<TVec<TypedFact>> {
        if self.strings {
            expect_type(self.name(), inputs[0], &[DatumType::String])?;
        } else {
            expect_type(self.name(), inputs[0], NUMERIC)?;
        }
        let mut shape: TVec<TDim> = inputs[0].shape.iter().cloned().collect();
        shape.push(self.count.to_dim());
        Ok(tvec!(f32::fact(&shape)))
    }

    fn eval(&self, inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
        let x = &inputs[0];
        let keys = match x.datum_type() {
            DatumType::F32 | DatumType::F64 => {
                to_f64(x)?.into_iter().map(|v| Key::I(v as i64)).collect()
            }
            _ => keys_of(x)?,
        };
        let mut out = vec![0f32; keys.len() * self.count];
        for (i, key) in keys.iter().enumerate() {
            match self.index.get(key) {
                Some(&j) => out[i * self.count + j] = 1.0,
                None if self.zeros => {}
                None => {
                    bail!("OneHotEncoder: value {key:?} is not a known category (and `zeros` is 0)")
                }
            }
        }
        let mut shape: Vec<usize> = x.shape().to_vec();
        shape.push(self.count);
        Ok(tvec!(Tensor::from_shape(&shape, &out)?.into_tvalue()))
    }
}

/// The values a `LabelEncoder` maps to.
#[derive(Debug, Clone)]
enum Values {
    Strings(Vec<String>),
    Ints(Vec<i64>),
    Reals(Vec<f64>, DatumType),
}

impl Values {
    fn datum_type(&self) -> DatumType {
        match self {
            Values::Strings(_) => DatumType::String,
            Values::Ints(_) => DatumType::I64,
            Values::Reals(_, dt) => *dt,
        }
    }

    fn from_tensor(t: &Tensor) -> TractResult<Values> {
        let view = t.try_as_plain_ram()?;
        Ok(match t.datum_type() {
            DatumType::String => Values::Strings(view.as_slice::<String>()?.to_vec()),
            DatumType::I64 | DatumType::I32 | DatumType::I16 => {
                Values::Ints(t.cast_to::<i64>()?.try_as_plain_ram()?.as_slice::<i64>()?.to_vec())
            }
            dt @ (DatumType::F32 | DatumType::F64) => Values::Reals(to_f64(t)?, dt),
            other => bail!("values of type {other:?} are not supported"),
        })
    }
}

/// `LabelEncoder`, opsets 1 (`classes_strings`), 2 (`keys_*`, `values_*`)
/// and 4 (`keys_tensor`, `values_tensor`, `default_tensor`).
pub(crate) fn label_encoder(
    ctx: &ParsingContext,
    node: &NodeProto,
) -> TractResult<Arc<dyn Kernel>> {
    let a = Attrs::new(ctx, node);
    let default_string = a.string("default_string")?.unwrap_or_else(|| "_Unused".into());
    let default_int = a.int("default_int64").unwrap_or(-1);
    let (keys, values, default): (Vec<Key>, Values, Values) = if a.has("classes_strings") {
        // Opset 1: strings ↔ their index.
        let classes = a.strings("classes_strings")?;
        let n = classes.len() as i64;
        (
            classes.into_iter().map(Key::S).collect(),
            Values::Ints((0..n).collect()),
            Values::Ints(vec![default_int]),
        )
    } else if let Some(keys) = a.tensor("keys_tensor")? {
        let values = a
            .tensor("values_tensor")?
            .context("`keys_tensor` is set but `values_tensor` is not")?;
        let values = Values::from_tensor(&values)?;
        let default = match a.tensor("default_tensor")? {
            Some(t) => Values::from_tensor(&t)?,
            None => match &values {
                Values::Strings(_) => Values::Strings(vec![default_string]),
                Values::Ints(_) => Values::Ints(vec![default_int]),
                Values::Reals(_, dt) => Values::Reals(vec![-0.0], *dt),
            },
        };
        (keys_of(&keys)?, values, default)
    } else {
        let keys: Vec<Key> = if a.has("keys_strings") {
            a.strings("keys_strings")?.into_iter().map(Key::S).collect()
        } else if a.has("keys_int64s") {
            a.ints("keys_int64s").iter().map(|&v| Key::I(v)).collect()
        } else if a.has("keys_floats") {
            a.floats("keys_floats").iter().map(|&v| Key::real(f64::from(v))).collect()
        } else {
            bail!("no keys: set `keys_strings`, `keys_int64s`, `keys_floats` or `keys_tensor`");
        };
        let (values, default) = if a.has("values_strings") {
            (Values::Strings(a.strings("values_strings")?), Values::Strings(vec![default_string]))
        } else if a.has("values_int64s") {
            (Values::Ints(a.ints("values_int64s").to_vec()), Values::Ints(vec![default_int]))
        } else if a.has("values_floats") {
            let d = f64::from(a.float("default_float").unwrap_or(-0.0));
            (
                Values::Reals(reals(&a, "values_floats"), DatumType::F32),
                Values::Reals(vec![d], DatumType::F32),
            )
        } else {
            bail!(
                "no values: set `values_strings`, `values_int64s`, `values_floats` or `values_tensor`"
            );
        };
        (keys, values, default)
    };
    let n = match &values {
        Values::Strings(v) => v.len(),
        Values::Ints(v) => v.len(),
        Values::Reals(v, _) => v.len(),
    };
    if n != keys.len() {
        bail!("{} keys but {n} values", keys.len());
    }
    let key_strings = matches!(keys.first(), Some(Key::S(_)));
    let index = keys.into_iter().enumerate().map(|(i, k)| (k, i)).collect();
    Ok(Arc::new(LabelEncoder { index, values, default, key_strings }))
}

#[derive(Debug)]
struct LabelEncoder {
    index: HashMap<Key, usize>,
    values: Values,
    default: Values,
    key_strings: bool,
}

impl Kernel for LabelEncoder {
    fn name(&self) -> &'static str {
        "LabelEncoder"
    }

    fn output_facts(&self, inputs: &[&TypedFact]) -> TractResult<TVec<TypedFact>> {
        if self.key_strings {
            expect_type(self.name(), inputs[0], &[DatumType::String])?;
        } else {
            expect_type(
                self.name(),
                inputs[0],
                &[DatumType::I64, DatumType::I32, DatumType::I16, DatumType::F32, DatumType::F64],
            )?;
        }
        Ok(tvec!(self.values.datum_type().fact(inputs[0].shape.iter())))
    }

    fn eval(&self, inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
        let x = &inputs[0];
        let found: Vec<Option<usize>> =
            keys_of(x)?.iter().map(|k| self.index.get(k).copied()).collect();
        let shape = x.shape();
        let t = match (&self.values, &self.default) {
            (Values::Strings(v), Values::Strings(d)) => {
                let out: Vec<String> = found
                    .iter()
                    .map(|f| f.map_or_else(|| d[0].clone(), |i| v[i].clone()))
                    .collect();
                tract_ndarray::ArrayD::from_shape_vec(shape, out)?.into()
            }
            (Values::Ints(v), Values::Ints(d)) => {
                let out: Vec<i64> = found.iter().map(|f| f.map_or(d[0], |i| v[i])).collect();
                Tensor::from_shape(shape, &out)?
            }
            (Values::Reals(v, dt), Values::Reals(d, _)) => {
                let out: Vec<f64> = found.iter().map(|f| f.map_or(d[0], |i| v[i])).collect();
                from_f64(*dt, shape, &out)?
            }
            _ => bail!("LabelEncoder: the default is not of the values' type"),
        };
        Ok(tvec!(t.into_tvalue()))
    }
}

/// `ArrayFeatureExtractor`: the columns `indices` of X (its last axis).
pub(crate) fn array_feature_extractor(
    _ctx: &ParsingContext,
    _node: &NodeProto,
) -> TractResult<Arc<dyn Kernel>> {
    Ok(Arc::new(FeatureExtractor))
}

#[derive(Debug)]
struct FeatureExtractor;

impl Kernel for FeatureExtractor {
    fn name(&self) -> &'static str {
        "ArrayFeatureExtractor"
    }

    fn output_facts(&self, inputs: &[&TypedFact]) -> TractResult<TVec<TypedFact>> {
        if inputs.len() != 2 {
            bail!("ArrayFeatureExtractor takes 2 inputs (data, indices), got {}", inputs.len());
        }
        expect_type(self.name(), inputs[1], &[DatumType::I64])?;
        let selected = inputs[1].shape.volume();
        let mut shape: TVec<TDim> = inputs[0].shape.iter().cloned().collect();
        if shape.len() <= 1 {
            shape = tvec![1.to_dim(), selected];
        } else {
            *shape.last_mut().unwrap_or(&mut TDim::from(0)) = selected;
        }
        Ok(tvec!(inputs[0].datum_type.fact(&shape)))
    }

    fn eval(&self, inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
        let (x, indices) = (&inputs[0], &inputs[1]);
        let width = width_of(x);
        let indices: Vec<usize> = indices
            .cast_to::<i64>()?
            .try_as_plain_ram()?
            .as_slice::<i64>()?
            .iter()
            .map(|&i| {
                usize::try_from(i).ok().filter(|&i| i < width).ok_or_else(|| {
                    format_err!("index {i} is out of range: the input has {width} columns")
                })
            })
            .collect::<TractResult<_>>()?;
        let rows = if width == 0 { 0 } else { x.len() / width };
        let mut shape: Vec<usize> = if x.rank() <= 1 { vec![1, 0] } else { x.shape().to_vec() };
        *shape.last_mut().unwrap_or(&mut 0) = indices.len();
        let t = match x.datum_type() {
            DatumType::String => {
                let v = x.try_as_plain_ram()?.as_slice::<String>()?;
                let out: Vec<String> = (0..rows)
                    .flat_map(|r| indices.iter().map(move |&j| v[r * width + j].clone()))
                    .collect();
                tract_ndarray::ArrayD::from_shape_vec(shape, out)?.into()
            }
            DatumType::F32 => gather::<f32>(x, rows, width, &indices, &shape)?,
            DatumType::F64 => gather::<f64>(x, rows, width, &indices, &shape)?,
            DatumType::I64 => gather::<i64>(x, rows, width, &indices, &shape)?,
            DatumType::I32 => gather::<i32>(x, rows, width, &indices, &shape)?,
            DatumType::Bool => gather::<bool>(x, rows, width, &indices, &shape)?,
            other => bail!("ArrayFeatureExtractor: input of type {other:?}"),
        };
        Ok(tvec!(t.into_tvalue()))
    }
}

/// The columns `indices` of each of `rows` rows of `width` values.
fn gather<T: Datum + Copy>(
    x: &Tensor,
    rows: usize,
    width: usize,
    indices: &[usize],
    shape: &[usize],
) -> TractResult<Tensor> {
    let v = x.try_as_plain_ram()?.as_slice::<T>()?;
    let out: Vec<T> =
        (0..rows).flat_map(|r| indices.iter().map(move |&j| v[r * width + j])).collect();
    Tensor::from_shape(shape, &out)
}

/// `FeatureVectorizer`: its inputs side by side, each cut or padded with
/// zeros to its `inputdimensions`. Y `f32`.
pub(crate) fn feature_vectorizer(
    ctx: &ParsingContext,
    node: &NodeProto,
) -> TractResult<Arc<dyn Kernel>> {
    let a = Attrs::new(ctx, node);
    let dims = a
        .required_ints("inputdimensions")?
        .iter()
        .map(|&d| {
            usize::try_from(d).map_err(|_| format_err!("attribute `inputdimensions` has {d}"))
        })
        .collect::<TractResult<Vec<usize>>>()?;
    Ok(Arc::new(FeatureVectorizer { dims }))
}

#[derive(Debug)]
struct FeatureVectorizer {
    dims: Vec<usize>,
}

impl Kernel for FeatureVectorizer {
    fn name(&self) -> &'static str {
        "FeatureVectorizer"
    }

    fn output_facts(&self, inputs: &[&TypedFact]) -> TractResult<TVec<TypedFact>> {
        if inputs.len() != self.dims.len() {
            bail!("{} inputs but `inputdimensions` has {} values", inputs.len(), self.dims.len());
        }
        for i in inputs {
            expect_type(self.name(), i, NUMERIC)?;
        }
        Ok(tvec!(f32::fact(&[rows_of(inputs[0]), self.dims.iter().sum::<usize>().to_dim()])))
    }

    fn eval(&self, inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
        let rows =
            inputs[0].shape().first().copied().filter(|_| inputs[0].rank() >= 2).unwrap_or(1);
        let total: usize = self.dims.iter().sum();
        let mut out = vec![0.0; rows * total];
        let mut offset = 0;
        for (x, &d) in inputs.iter().zip(&self.dims) {
            let values = to_f64(x)?;
            let width = if x.rank() >= 2 { width_of(x) } else { values.len() / rows.max(1) };
            for r in 0..rows {
                for j in 0..d.min(width) {
                    out[r * total + offset + j] = values[r * width + j];
                }
            }
            offset += d;
        }
        Ok(tvec!(from_f64(DatumType::F32, &[rows, total], &out)?.into_tvalue()))
    }
}

/// `ZipMap`: in ONNX a sequence of maps from class to probability; here the
/// probability tensor itself, one column per class (the runner names the
/// columns after the classes).
pub(crate) fn zip_map(ctx: &ParsingContext, node: &NodeProto) -> TractResult<Arc<dyn Kernel>> {
    let a = Attrs::new(ctx, node);
    let classes = a.ints("classlabels_int64s").len().max(a.strings("classlabels_strings")?.len());
    if classes == 0 {
        bail!("neither `classlabels_int64s` nor `classlabels_strings` is set");
    }
    Ok(Arc::new(ZipMap { classes }))
}

#[derive(Debug)]
struct ZipMap {
    classes: usize,
}

impl Kernel for ZipMap {
    fn name(&self) -> &'static str {
        "ZipMap"
    }

    fn output_facts(&self, inputs: &[&TypedFact]) -> TractResult<TVec<TypedFact>> {
        expect_type(self.name(), inputs[0], &[DatumType::F32])?;
        if inputs[0].rank() != 2 || inputs[0].shape[1] != self.classes.to_dim() {
            bail!(
                "ZipMap: expected [rows, {}] probabilities, got {:?}",
                self.classes,
                inputs[0].shape
            );
        }
        Ok(tvec!(inputs[0].without_value()))
    }

    fn eval(&self, inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
        Ok(inputs)
    }
}
