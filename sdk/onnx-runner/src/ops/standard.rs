//! Standard (`ai.onnx`) operators tract reads but not for every type the
//! converters use: skl2onnx's double-precision classifiers end in a
//! `Sigmoid` of `f64`, which tract computes for `f16` and `f32` only.

use std::sync::Arc;

use tract_onnx::model::ParsingContext;
use tract_onnx::pb::NodeProto;
use tract_onnx::tract_hir::internal::*;

use super::post::logistic;
use super::{Kernel, expect_type};

/// `Sigmoid`: 1 / (1 + e^-x), elementwise, for `f32` and `f64`.
pub(crate) fn sigmoid(_ctx: &ParsingContext, _node: &NodeProto) -> TractResult<Arc<dyn Kernel>> {
    Ok(Arc::new(Sigmoid))
}

#[derive(Debug)]
struct Sigmoid;

impl Kernel for Sigmoid {
    fn name(&self) -> &'static str {
        "Sigmoid"
    }

    fn output_facts(&self, inputs: &[&TypedFact]) -> TractResult<TVec<TypedFact>> {
        expect_type(self.name(), inputs[0], &[DatumType::F32, DatumType::F64])?;
        Ok(tvec!(inputs[0].datum_type.fact(inputs[0].shape.iter())))
    }

    fn eval(&self, inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
        let mut out = inputs[0].clone().into_tensor();
        match out.datum_type() {
            DatumType::F64 => {
                let mut view = out.try_as_plain_ram_mut()?;
                view.as_slice_mut::<f64>()?.iter_mut().for_each(|v| *v = logistic(*v));
            }
            _ => {
                let mut view = out.try_as_plain_ram_mut()?;
                view.as_slice_mut::<f32>()?
                    .iter_mut()
                    .for_each(|v| *v = logistic(f64::from(*v)) as f32);
            }
        }
        Ok(tvec!(out.into_tvalue()))
    }
}
