//! A graph loaded with its configuration: request columns in, tensors
//! through tract, response columns out.

use std::sync::Arc;

use mlops_sdk::{
    Column, ColumnData, DataType, Field, Frame, ModelError, Schema, Signature, Validity,
};
use tract_onnx::prelude::*;
use tract_onnx::tract_hir::infer::Factoid as _;

use crate::config::{CONFIG, Check, Config, ElementType, Missing};

type Plan = Arc<TypedSimplePlan>;

/// A graph ready to run, and how columns map to it.
pub struct OnnxRunner {
    plan: Plan,
    config: Config,
    /// For each configured input, its position among the graph's inputs.
    input_slots: Vec<usize>,
    /// For each configured output, its position among the graph's outputs.
    output_slots: Vec<usize>,
    /// Each configured output's element type.
    output_types: Vec<DatumType>,
    /// Whether each graph input is one-dimensional (`[rows]`).
    flat: Vec<bool>,
}

fn artifact(message: impl Into<String>) -> ModelError {
    ModelError::bad_artifact(message)
}

fn datum(ty: ElementType) -> DatumType {
    match ty {
        ElementType::F32 => DatumType::F32,
        ElementType::F64 => DatumType::F64,
        ElementType::I64 => DatumType::I64,
        ElementType::I32 => DatumType::I32,
        ElementType::String => DatumType::String,
        ElementType::Bool => DatumType::Bool,
    }
}

/// The column type a tensor element type reads from or becomes.
fn column_type(dt: DatumType) -> Option<DataType> {
    Some(match dt {
        DatumType::F32 | DatumType::F64 | DatumType::F16 => DataType::F64,
        // tract keeps some int64 results (shapes, casts) as symbolic
        // dimensions: concrete integers by the time they are read.
        DatumType::I64
        | DatumType::I32
        | DatumType::I16
        | DatumType::I8
        | DatumType::U8
        | DatumType::U16
        | DatumType::U32
        | DatumType::TDim => DataType::S64,
        DatumType::String => DataType::String,
        DatumType::Bool => DataType::Bool,
        _ => return None,
    })
}

fn type_name(ty: DataType) -> &'static str {
    match ty {
        DataType::F64 => "f64",
        DataType::S64 => "s64",
        DataType::String => "string",
        DataType::Bool => "bool",
    }
}

impl OnnxRunner {
    /// Loads the graph `config` names from its bytes, checking that the two
    /// agree: every graph input fed, element types and widths as declared,
    /// every configured output in the graph, every operator supported.
    pub fn load(config: Config, onnx: &[u8]) -> Result<OnnxRunner, ModelError> {
        let file = config.model.clone();
        let framework = {
            let mut f = tract_onnx::onnx().with_ignore_value_info(true);
            crate::ops::register(&mut f.op_register);
            f
        };
        let proto = framework
            .proto_model_for_read(&mut &onnx[..])
            .map_err(|e| artifact(format!("{file}: not an ONNX model: {e}")))?;
        if let Some(message) = crate::check::unsupported(&proto, &file) {
            return Err(artifact(message));
        }
        let mut model = framework
            .model_for_proto_model(&proto)
            .map_err(|e| artifact(format!("{file}: cannot read the graph: {e:#}")))?;
        let graph_inputs: Vec<String> = model
            .input_outlets()
            .map_err(|e| artifact(e.to_string()))?
            .iter()
            .map(|o| model.node(o.node).name.clone())
            .collect();
        let mut input_slots = Vec::new();
        for spec in &config.inputs {
            match graph_inputs.iter().position(|n| *n == spec.tensor) {
                Some(i) => input_slots.push(i),
                None => {
                    return Err(artifact(format!(
                        "{CONFIG}: input `{}` is not an input of {file} (its inputs are {})",
                        spec.tensor,
                        list(&graph_inputs)
                    )));
                }
            }
        }
        if let Some(unfed) =
            graph_inputs.iter().find(|n| !config.inputs.iter().any(|i| i.tensor == **n))
        {
            return Err(artifact(format!(
                "{CONFIG}: nothing feeds input `{unfed}` of {file}; add it to `inputs` (its inputs are {})",
                list(&graph_inputs)
            )));
        }
        // One row dimension shared by every input.
        let rows = model.symbols.sym("rows").to_dim();
        let mut flat = vec![false; graph_inputs.len()];
        for (spec, &slot) in config.inputs.iter().zip(&input_slots) {
            let declared = model.input_fact(slot).map_err(|e| artifact(e.to_string()))?.clone();
            let dt = datum(spec.ty);
            if let Some(declared_dt) = declared.datum_type.concretize()
                && declared_dt != dt
            {
                return Err(artifact(format!(
                    "{CONFIG}: input `{}` is `{}`, but {file} declares it {declared_dt:?}",
                    spec.tensor,
                    spec.ty.name()
                )));
            }
            let width = spec.columns.len();
            let rank = declared.shape.rank().concretize().map(|r| r as usize);
            let shape = match rank {
                Some(1) if width == 1 => {
                    flat[slot] = true;
                    tvec![rows.clone()]
                }
                Some(1) => {
                    return Err(artifact(format!(
                        "{CONFIG}: input `{}` of {file} is one-dimensional, so it takes one column, not {width}",
                        spec.tensor
                    )));
                }
                Some(2) | None => {
                    if let Some(declared_width) = declared
                        .shape
                        .dim(1)
                        .and_then(|d| d.concretize())
                        .and_then(|d| d.to_i64().ok())
                        && declared_width != width as i64
                    {
                        return Err(artifact(format!(
                            "{CONFIG}: input `{}` of {file} has {declared_width} column(s), but {CONFIG} lists {width}",
                            spec.tensor
                        )));
                    }
                    tvec![rows.clone(), width.to_dim()]
                }
                Some(r) => {
                    return Err(artifact(format!(
                        "{file}: input `{}` has {r} dimensions; the runner feeds [rows] or [rows, columns]",
                        spec.tensor
                    )));
                }
            };
            model
                .set_input_fact(slot, InferenceFact::dt_shape(dt, shape))
                .map_err(|e| artifact(e.to_string()))?;
        }
        let names: Vec<String> = model
            .output_outlets()
            .map_err(|e| artifact(e.to_string()))?
            .iter()
            .map(|o| model.outlet_label(*o).unwrap_or(&model.node(o.node).name).to_string())
            .collect();
        let mut output_slots = Vec::new();
        for out in &config.outputs {
            match names.iter().position(|n| *n == out.tensor) {
                Some(i) => output_slots.push(i),
                None => {
                    return Err(artifact(format!(
                        "{CONFIG}: output `{}` is not an output of {file} (its outputs are {})",
                        out.tensor,
                        list(&names)
                    )));
                }
            }
        }
        let typed = model.into_typed().map_err(|e| {
            artifact(format!("{file}: cannot type the graph with these inputs: {e:#}"))
        })?;
        let mut output_types = Vec::new();
        for (out, &slot) in config.outputs.iter().zip(&output_slots) {
            let outlet = typed.output_outlets().map_err(|e| artifact(e.to_string()))?[slot];
            let fact = typed.outlet_fact(outlet).map_err(|e| artifact(e.to_string()))?;
            if column_type(fact.datum_type).is_none() {
                return Err(artifact(format!(
                    "{file}: output `{}` holds {:?} values, which cannot be a column",
                    out.tensor, fact.datum_type
                )));
            }
            // [rows] is one column; [rows, d1, d2, …] is d1·d2·… columns,
            // in row-major order.
            let k = match fact.rank() {
                0 => {
                    return Err(artifact(format!(
                        "{file}: output `{}` is a scalar; the runner reads one value per row",
                        out.tensor
                    )));
                }
                _ => fact
                    .shape
                    .iter()
                    .skip(1)
                    .try_fold(1i64, |acc, d| d.to_i64().ok().map(|d| acc * d)),
            };
            if let Some(k) = k
                && k != out.columns.len() as i64
            {
                return Err(artifact(format!(
                    "{CONFIG}: output `{}` has {k} column(s) per row, but {CONFIG} names {}",
                    out.tensor,
                    out.columns.len()
                )));
            }
            output_types.push(fact.datum_type);
        }
        let plan = typed
            .into_optimized()
            .and_then(|m| m.into_runnable())
            .map_err(|e| artifact(format!("{file}: cannot prepare the graph: {e:#}")))?;
        Ok(OnnxRunner { plan, config, input_slots, output_slots, output_types, flat })
    }

    /// What the model reads and writes.
    pub fn signature(&self) -> Signature {
        let inputs = self
            .config
            .input_columns()
            .map(|(spec, c)| {
                let ty = column_type(datum(spec.ty)).unwrap_or(DataType::F64);
                Field::required(c, ty, &format!("input `{}` ({})", spec.tensor, spec.ty.name()))
            })
            .collect();
        let outputs = self
            .config
            .outputs
            .iter()
            .zip(&self.output_types)
            .flat_map(|(spec, &dt)| {
                let ty = column_type(dt).unwrap_or(DataType::F64);
                spec.columns
                    .iter()
                    .map(move |c| Field::required(c, ty, &format!("output `{}`", spec.tensor)))
            })
            .collect();
        Signature { inputs: Schema::Frame(inputs), outputs: Schema::Frame(outputs) }
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Runs the graph on a frame's configured columns.
    pub fn predict_frame(&self, frame: &Frame) -> Result<Frame, ModelError> {
        let rows = match self.config.input_columns().next() {
            Some((_, first)) => frame.column(first)?.len(),
            None => 0,
        };
        // Rows with a missing value in a `skip` input do not run.
        let mut present = vec![true; rows];
        for (spec, name) in self.config.input_columns() {
            let column = frame.column(name)?;
            if column.len() != rows {
                return Err(ModelError::bad_input(format!(
                    "column `{name}` has {} rows, others have {rows}",
                    column.len()
                )));
            }
            if spec.missing == Missing::Skip && column.validity.is_some() {
                for (r, p) in present.iter_mut().enumerate() {
                    *p &= column.is_valid(r);
                }
            }
        }
        let kept: Vec<usize> = (0..rows).filter(|&r| present[r]).collect();
        let mut inputs: TVec<TValue> = tvec![Tensor::default().into(); self.input_slots.len()];
        for (spec, &slot) in self.config.inputs.iter().zip(&self.input_slots) {
            let shape: Vec<usize> = if self.flat[slot] {
                vec![kept.len()]
            } else {
                vec![kept.len(), spec.columns.len()]
            };
            let t = self.tensor(spec, frame, &kept, &shape)?;
            inputs[slot] = t.into();
        }
        let outputs = if kept.is_empty() {
            None
        } else {
            Some(
                self.plan
                    .run(inputs)
                    .map_err(|e| ModelError::internal(format!("running the graph: {e:#}")))?,
            )
        };
        let validity = (kept.len() < rows).then(|| Validity::from_fn(rows, |r| present[r]));
        let mut out = Frame::new();
        for ((spec, &slot), &dt) in
            self.config.outputs.iter().zip(&self.output_slots).zip(&self.output_types)
        {
            let k = spec.columns.len();
            let tensor = outputs.as_ref().map(|o| &o[slot]);
            if let Some(t) = tensor
                && t.len() != kept.len() * k
            {
                return Err(ModelError::internal(format!(
                    "output `{}` has {} values for {} rows and {k} columns",
                    spec.tensor,
                    t.len(),
                    kept.len()
                )));
            }
            for (j, name) in spec.columns.iter().enumerate() {
                let data = column_data(tensor.map(|t| &**t), dt, j, k, &kept, rows)?;
                let column = Column { name: name.clone(), data, validity: None };
                out = out.with(match &validity {
                    Some(v) => column.with_validity(v.clone()),
                    None => column,
                });
            }
        }
        Ok(out)
    }

    /// The tensor for one input: its columns side by side, kept rows only.
    fn tensor(
        &self,
        spec: &crate::config::InputSpec,
        frame: &Frame,
        kept: &[usize],
        shape: &[usize],
    ) -> Result<Tensor, ModelError> {
        let width = spec.columns.len();
        let wrong = |name: &str, got: DataType| {
            ModelError::bad_input(format!(
                "column `{name}` holds {} values; input `{}` takes {}",
                type_name(got),
                spec.tensor,
                spec.ty.name()
            ))
        };
        let make = |r: Result<Tensor, TractError>| {
            r.map_err(|e| ModelError::internal(format!("input `{}`: {e}", spec.tensor)))
        };
        match spec.ty {
            ElementType::F32 | ElementType::F64 => {
                let mut flat = vec![0.0f64; kept.len() * width];
                for (j, name) in spec.columns.iter().enumerate() {
                    let column = frame.column(name)?;
                    let check: Option<&Check> = self.config.checks.get(name);
                    let value = |r: usize| -> Result<f64, ModelError> {
                        if !column.is_valid(r) {
                            return Ok(f64::NAN);
                        }
                        let v = match &column.data {
                            ColumnData::F64(v) => v[r],
                            ColumnData::S64(v) => v[r] as f64,
                            other => return Err(wrong(name, other.data_type())),
                        };
                        if !v.is_finite() {
                            return Err(ModelError::bad_input(format!(
                                "row {r}: {name} must be a finite number"
                            )));
                        }
                        if let Some(why) = check.and_then(|c| c.violation(name, v)) {
                            return Err(ModelError::bad_input(format!("row {r}: {why}")));
                        }
                        Ok(v)
                    };
                    for (i, &r) in kept.iter().enumerate() {
                        flat[i * width + j] = value(r)?;
                    }
                }
                if spec.ty == ElementType::F64 {
                    make(Tensor::from_shape(shape, &flat))
                } else {
                    let f: Vec<f32> = flat.iter().map(|&v| v as f32).collect();
                    make(Tensor::from_shape(shape, &f))
                }
            }
            ElementType::I64 | ElementType::I32 => {
                let mut flat = vec![0i64; kept.len() * width];
                for (j, name) in spec.columns.iter().enumerate() {
                    let column = frame.column(name)?;
                    let ColumnData::S64(values) = &column.data else {
                        return Err(wrong(name, column.data.data_type()));
                    };
                    let check = self.config.checks.get(name);
                    for (i, &r) in kept.iter().enumerate() {
                        if let Some(why) = check.and_then(|c| c.violation(name, values[r] as f64)) {
                            return Err(ModelError::bad_input(format!("row {r}: {why}")));
                        }
                        flat[i * width + j] = values[r];
                    }
                }
                if spec.ty == ElementType::I64 {
                    make(Tensor::from_shape(shape, &flat))
                } else {
                    let narrow = flat
                        .iter()
                        .map(|&v| i32::try_from(v))
                        .collect::<Result<Vec<i32>, _>>()
                        .map_err(|_| {
                            ModelError::bad_input(format!(
                                "input `{}` takes 32-bit integers; a value is out of range",
                                spec.tensor
                            ))
                        })?;
                    make(Tensor::from_shape(shape, &narrow))
                }
            }
            ElementType::String => {
                let mut flat = vec![String::new(); kept.len() * width];
                for (j, name) in spec.columns.iter().enumerate() {
                    let column = frame.column(name)?;
                    let ColumnData::String(values) = &column.data else {
                        return Err(wrong(name, column.data.data_type()));
                    };
                    for (i, &r) in kept.iter().enumerate() {
                        flat[i * width + j].clone_from(&values[r]);
                    }
                }
                make(
                    tract_ndarray::ArrayD::from_shape_vec(shape, flat)
                        .map(Tensor::from)
                        .map_err(TractError::from),
                )
            }
            ElementType::Bool => {
                let mut flat = vec![false; kept.len() * width];
                for (j, name) in spec.columns.iter().enumerate() {
                    let column = frame.column(name)?;
                    let ColumnData::Bool(values) = &column.data else {
                        return Err(wrong(name, column.data.data_type()));
                    };
                    for (i, &r) in kept.iter().enumerate() {
                        flat[i * width + j] = values[r];
                    }
                }
                make(Tensor::from_shape(shape, &flat))
            }
        }
    }
}

/// Column `j` of `k` of an output tensor, spread back over all `rows`
/// (rows not kept get a placeholder; their validity bit is 0).
fn column_data(
    t: Option<&Tensor>,
    dt: DatumType,
    j: usize,
    k: usize,
    kept: &[usize],
    rows: usize,
) -> Result<ColumnData, ModelError> {
    let internal = |e: TractError| ModelError::internal(format!("reading an output: {e}"));
    Ok(match column_type(dt) {
        Some(DataType::F64) => {
            let mut out = vec![0.0f64; rows];
            if let Some(t) = t {
                let view = t.try_as_plain_ram().map_err(internal)?;
                if dt == DatumType::F32 {
                    let v = view.as_slice::<f32>().map_err(internal)?;
                    for (i, &r) in kept.iter().enumerate() {
                        out[r] = shortest(v[i * k + j]);
                    }
                } else {
                    let v = t.cast_to::<f64>().map_err(internal)?;
                    let v = v.try_as_plain_ram().map_err(internal)?;
                    let v = v.as_slice::<f64>().map_err(internal)?;
                    for (i, &r) in kept.iter().enumerate() {
                        out[r] = v[i * k + j];
                    }
                }
            }
            ColumnData::F64(out)
        }
        Some(DataType::S64) => {
            let mut out = vec![0i64; rows];
            if let Some(t) = t {
                let v = t.cast_to::<i64>().map_err(internal)?;
                let v = v.try_as_plain_ram().map_err(internal)?;
                let v = v.as_slice::<i64>().map_err(internal)?;
                for (i, &r) in kept.iter().enumerate() {
                    out[r] = v[i * k + j];
                }
            }
            ColumnData::S64(out)
        }
        Some(DataType::String) => {
            let mut out = vec![String::new(); rows];
            if let Some(t) = t {
                let v = t.try_as_plain_ram().map_err(internal)?;
                let v = v.as_slice::<String>().map_err(internal)?;
                for (i, &r) in kept.iter().enumerate() {
                    out[r].clone_from(&v[i * k + j]);
                }
            }
            ColumnData::String(out)
        }
        Some(DataType::Bool) => {
            let mut out = vec![false; rows];
            if let Some(t) = t {
                let v = t.try_as_plain_ram().map_err(internal)?;
                let v = v.as_slice::<bool>().map_err(internal)?;
                for (i, &r) in kept.iter().enumerate() {
                    out[r] = v[i * k + j];
                }
            }
            ColumnData::Bool(out)
        }
        None => return Err(ModelError::internal(format!("an output of type {dt:?}"))),
    })
}

/// An `f32` result as the `f64` of its shortest decimal form: `0.1f32`
/// answers `0.1`, not `0.10000000149011612` (both name the same `f32`).
fn shortest(v: f32) -> f64 {
    if !v.is_finite() {
        return f64::from(v);
    }
    let mut buf = [0u8; 32];
    let text = {
        use std::io::Write as _;
        let mut cursor = std::io::Cursor::new(&mut buf[..]);
        let _ = write!(cursor, "{v:e}");
        let n = cursor.position() as usize;
        std::str::from_utf8(&buf[..n]).unwrap_or("")
    };
    text.parse().unwrap_or(f64::from(v))
}

fn list(names: &[String]) -> String {
    names.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ")
}

#[cfg(test)]
mod tests {
    use super::shortest;

    #[test]
    fn f32_results_keep_their_shortest_form() {
        assert_eq!(shortest(0.1), 0.1);
        assert_eq!(shortest(152.13348), 152.13348);
        assert_eq!(shortest(-3.4028235e38), -3.4028235e38);
        assert_eq!(shortest(1e-45), 1e-45);
        assert_eq!(shortest(0.0), 0.0);
        assert!(shortest(f32::NAN).is_nan());
    }
}
