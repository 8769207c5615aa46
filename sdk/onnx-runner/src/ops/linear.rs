//! `LinearRegressor` and `LinearClassifier`.

use std::sync::Arc;

use tract_onnx::model::ParsingContext;
use tract_onnx::pb::NodeProto;
use tract_onnx::tract_hir::internal::*;

use super::post::{PostTransform, logistic, probit};
use super::{Attrs, Kernel, Labels, NUMERIC, as_f64_rows, expect_type, from_f64, rows_of};

/// Rows of `coefficients` ([outputs × features]) times `x`, plus intercepts.
#[derive(Debug)]
struct Affine {
    coefficients: Vec<f64>,
    intercepts: Vec<f64>,
    outputs: usize,
}

impl Affine {
    fn features(&self) -> usize {
        self.coefficients.len() / self.outputs
    }

    fn check(&self, op: &str, width: usize) -> TractResult<()> {
        if width != self.features() {
            bail!(
                "{op}: the input has {width} feature(s) per row; the coefficients are for {}",
                self.features()
            );
        }
        Ok(())
    }

    fn apply(&self, x: &[f64], out: &mut [f64]) {
        let f = self.features();
        for (k, o) in out.iter_mut().enumerate() {
            let row = &self.coefficients[k * f..(k + 1) * f];
            let dot: f64 = row.iter().zip(x).map(|(c, v)| c * v).sum();
            *o = dot + self.intercepts.get(k).copied().unwrap_or(0.0);
        }
    }
}

fn affine(a: &Attrs<'_, '_>, outputs: usize) -> TractResult<Affine> {
    let coefficients: Vec<f64> = a.floats("coefficients").iter().map(|&v| f64::from(v)).collect();
    if coefficients.is_empty() || outputs == 0 || coefficients.len() % outputs != 0 {
        bail!(
            "attribute `coefficients` has {} values, not a multiple of {outputs} output(s)",
            coefficients.len()
        );
    }
    let intercepts: Vec<f64> = a.floats("intercepts").iter().map(|&v| f64::from(v)).collect();
    if !intercepts.is_empty() && intercepts.len() != outputs {
        bail!("attribute `intercepts` has {} values; expected {outputs}", intercepts.len());
    }
    Ok(Affine { coefficients, intercepts, outputs })
}

/// `LinearRegressor`: Y `f32` [rows, targets]. With one target only PROBIT
/// applies, as in onnxruntime.
pub(crate) fn regressor(ctx: &ParsingContext, node: &NodeProto) -> TractResult<Arc<dyn Kernel>> {
    let a = Attrs::new(ctx, node);
    let targets = a.int("targets").unwrap_or(1);
    let targets = usize::try_from(targets)
        .ok()
        .filter(|&t| t > 0)
        .ok_or_else(|| format_err!("attribute `targets` is {targets}"))?;
    Ok(Arc::new(Regressor { affine: affine(&a, targets)?, post: PostTransform::read(&a)? }))
}

#[derive(Debug)]
struct Regressor {
    affine: Affine,
    post: PostTransform,
}

impl Kernel for Regressor {
    fn name(&self) -> &'static str {
        "LinearRegressor"
    }

    fn output_facts(&self, inputs: &[&TypedFact]) -> TractResult<TVec<TypedFact>> {
        expect_type(self.name(), inputs[0], NUMERIC)?;
        Ok(tvec!(f32::fact(&[rows_of(inputs[0]), self.affine.outputs.to_dim()])))
    }

    fn eval(&self, inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
        let (x, rows, width) = as_f64_rows(&inputs[0])?;
        self.affine.check(self.name(), width)?;
        let k = self.affine.outputs;
        let mut out = vec![0.0; rows * k];
        for (r, row) in out.chunks_exact_mut(k).enumerate() {
            self.affine.apply(&x[r * width..(r + 1) * width], row);
            if k > 1 {
                self.post.apply(row);
            } else if self.post == PostTransform::Probit {
                row[0] = probit(row[0]);
            }
        }
        Ok(tvec!(from_f64(DatumType::F32, &[rows, k], &out)?.into_tvalue()))
    }
}

/// `LinearClassifier`: Y labels [rows], Z `f32` scores.
///
/// With one row of coefficients and two labels it is binary: the label is
/// the second when the raw score is positive, and the scores are
/// [1 − t, t] with t the score after LOGISTIC or PROBIT (the raw score
/// otherwise), as onnxruntime writes them. With several rows the label
/// is the row with the highest raw score.
pub(crate) fn classifier(ctx: &ParsingContext, node: &NodeProto) -> TractResult<Arc<dyn Kernel>> {
    let a = Attrs::new(ctx, node);
    let labels = Labels::read(&a, "classlabels_ints", "classlabels_strings")?;
    let outputs = a.floats("intercepts").len();
    if outputs == 0 {
        bail!("attribute `intercepts` is missing: it gives the number of classes scored");
    }
    if outputs == 1 && labels.len() != 2 {
        bail!(
            "one row of coefficients is a binary classifier, which needs exactly two class labels (it has {})",
            labels.len()
        );
    }
    if outputs > 1 && labels.len() != outputs {
        bail!("{outputs} rows of coefficients but {} class labels", labels.len());
    }
    Ok(Arc::new(Classifier {
        affine: affine(&a, outputs)?,
        labels,
        post: PostTransform::read(&a)?,
    }))
}

#[derive(Debug)]
struct Classifier {
    affine: Affine,
    labels: Labels,
    post: PostTransform,
}

impl Classifier {
    fn columns(&self) -> usize {
        self.affine.outputs.max(2)
    }
}

impl Kernel for Classifier {
    fn name(&self) -> &'static str {
        "LinearClassifier"
    }

    fn outputs(&self) -> usize {
        2
    }

    fn output_facts(&self, inputs: &[&TypedFact]) -> TractResult<TVec<TypedFact>> {
        self.labels.facts(self.name(), inputs[0], self.columns())
    }

    fn eval(&self, inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
        let (x, rows, width) = as_f64_rows(&inputs[0])?;
        self.affine.check(self.name(), width)?;
        let k = self.affine.outputs;
        let c = self.columns();
        let mut raw = vec![0.0; k];
        let mut out = vec![0.0; rows * c];
        let mut classes = Vec::with_capacity(rows);
        for (r, row) in out.chunks_exact_mut(c).enumerate() {
            self.affine.apply(&x[r * width..(r + 1) * width], &mut raw);
            if k == 1 {
                let s = raw[0];
                classes.push(usize::from(s > 0.0));
                let t = match self.post {
                    PostTransform::Logistic => logistic(s),
                    PostTransform::Probit => probit(s),
                    _ => s,
                };
                (row[0], row[1]) = (1.0 - t, t);
            } else {
                let mut best = 0;
                for j in 1..k {
                    if raw[j] > raw[best] {
                        best = j;
                    }
                }
                classes.push(best);
                row.copy_from_slice(&raw);
                self.post.apply(row);
            }
        }
        self.labels.outputs(&classes, &out, c)
    }
}
