//! `SVMRegressor` and `SVMClassifier` (libsvm's models: support vectors,
//! one-against-one voting, Platt-scaled probabilities).

use std::sync::Arc;

use tract_onnx::model::ParsingContext;
use tract_onnx::pb::NodeProto;
use tract_onnx::tract_hir::internal::*;

use super::post::{PostTransform, logistic};
use super::{Attrs, Kernel, Labels, NUMERIC, as_f64_rows, expect_type, from_f64, rows_of};

#[derive(Debug, Clone, Copy, PartialEq)]
enum KernelType {
    Linear,
    Poly { gamma: f64, coef0: f64, degree: f64 },
    Rbf { gamma: f64 },
    Sigmoid { gamma: f64, coef0: f64 },
}

impl KernelType {
    fn read(a: &Attrs<'_, '_>) -> TractResult<KernelType> {
        let p = a.floats("kernel_params");
        let param = |i: usize| p.get(i).map_or(0.0, |&v| f64::from(v));
        let (gamma, coef0, degree) = (param(0), param(1), param(2));
        let kind = a.string("kernel_type")?.unwrap_or_else(|| "LINEAR".into());
        Ok(match kind.as_str() {
            "LINEAR" => KernelType::Linear,
            "POLY" => KernelType::Poly { gamma, coef0, degree },
            "RBF" => KernelType::Rbf { gamma },
            "SIGMOID" => KernelType::Sigmoid { gamma, coef0 },
            other => {
                bail!("attribute `kernel_type` is `{other}`; expected LINEAR, POLY, RBF or SIGMOID")
            }
        })
    }

    fn eval(self, x: &[f64], sv: &[f64]) -> f64 {
        let dot = || x.iter().zip(sv).map(|(a, b)| a * b).sum::<f64>();
        match self {
            KernelType::Linear => dot(),
            KernelType::Poly { gamma, coef0, degree } => (gamma * dot() + coef0).powf(degree),
            KernelType::Rbf { gamma } => {
                let d2: f64 = x.iter().zip(sv).map(|(a, b)| (a - b) * (a - b)).sum();
                (-gamma * d2).exp()
            }
            KernelType::Sigmoid { gamma, coef0 } => (gamma * dot() + coef0).tanh(),
        }
    }
}

fn reals(a: &Attrs<'_, '_>, name: &str) -> Vec<f64> {
    a.floats(name).iter().map(|&v| f64::from(v)).collect()
}

fn check_width(op: &str, width: usize, features: usize) -> TractResult<()> {
    if width != features {
        bail!(
            "{op}: the input has {width} feature(s) per row; the model was trained on {features}"
        );
    }
    Ok(())
}

/// `SVMRegressor`: Y `f32` [rows, 1].
pub(crate) fn regressor(ctx: &ParsingContext, node: &NodeProto) -> TractResult<Arc<dyn Kernel>> {
    let a = Attrs::new(ctx, node);
    let coefficients = reals(&a, "coefficients");
    if coefficients.is_empty() {
        bail!("attribute `coefficients` is missing or empty");
    }
    let rho = reals(&a, "rho");
    let rho = *rho.first().context("attribute `rho` is missing")?;
    let supports = usize::try_from(a.int("n_supports").unwrap_or(0))
        .map_err(|_| format_err!("attribute `n_supports` is negative"))?;
    let support_vectors = reals(&a, "support_vectors");
    let (kernel, features) = if supports > 0 {
        if coefficients.len() != supports || support_vectors.len() % supports != 0 {
            bail!(
                "{supports} support vectors, but {} coefficients and {} support vector values",
                coefficients.len(),
                support_vectors.len()
            );
        }
        (KernelType::read(&a)?, support_vectors.len() / supports)
    } else {
        (KernelType::Linear, coefficients.len())
    };
    Ok(Arc::new(Regressor {
        kernel,
        support_vectors,
        coefficients,
        rho,
        features,
        one_class: a.int("one_class").unwrap_or(0) != 0,
    }))
}

#[derive(Debug)]
struct Regressor {
    kernel: KernelType,
    /// Empty for a linear model (then the coefficients are the weights).
    support_vectors: Vec<f64>,
    coefficients: Vec<f64>,
    rho: f64,
    features: usize,
    one_class: bool,
}

impl Kernel for Regressor {
    fn name(&self) -> &'static str {
        "SVMRegressor"
    }

    fn output_facts(&self, inputs: &[&TypedFact]) -> TractResult<TVec<TypedFact>> {
        expect_type(self.name(), inputs[0], NUMERIC)?;
        Ok(tvec!(f32::fact(&[rows_of(inputs[0]), 1.to_dim()])))
    }

    fn eval(&self, inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
        let (x, rows, width) = as_f64_rows(&inputs[0])?;
        check_width(self.name(), width, self.features)?;
        let mut out = Vec::with_capacity(rows);
        for row in x.chunks_exact(width.max(1)).take(rows) {
            let mut y = if self.support_vectors.is_empty() {
                KernelType::Linear.eval(row, &self.coefficients)
            } else {
                self.support_vectors
                    .chunks_exact(self.features)
                    .zip(&self.coefficients)
                    .map(|(sv, c)| c * self.kernel.eval(row, sv))
                    .sum::<f64>()
            } + self.rho;
            if self.one_class {
                y = if y > 0.0 { 1.0 } else { -1.0 };
            }
            out.push(y);
        }
        Ok(tvec!(from_f64(DatumType::F32, &[rows, 1], &out)?.into_tvalue()))
    }
}

/// `SVMClassifier`.
pub(crate) fn classifier(ctx: &ParsingContext, node: &NodeProto) -> TractResult<Arc<dyn Kernel>> {
    let a = Attrs::new(ctx, node);
    let labels = Labels::read(&a, "classlabels_ints", "classlabels_strings")?;
    let classes = labels.len();
    if classes < 2 {
        bail!("the classifier has {classes} class label(s); it needs at least two");
    }
    let coefficients = reals(&a, "coefficients");
    if coefficients.is_empty() {
        bail!("attribute `coefficients` is missing or empty");
    }
    let rho = reals(&a, "rho");
    let prob_a = reals(&a, "prob_a");
    let prob_b = reals(&a, "prob_b");
    if prob_a.len() != prob_b.len() {
        bail!("attributes `prob_a` and `prob_b` have {} and {} values", prob_a.len(), prob_b.len());
    }
    let per_class: Vec<usize> = a
        .ints("vectors_per_class")
        .iter()
        .map(|&v| {
            usize::try_from(v).map_err(|_| format_err!("attribute `vectors_per_class` has {v}"))
        })
        .collect::<TractResult<_>>()?;
    let vectors: usize = per_class.iter().sum();
    let support_vectors = reals(&a, "support_vectors");
    let pairs = classes * (classes - 1) / 2;
    let mode = if vectors > 0 {
        if per_class.len() != classes {
            bail!(
                "attribute `vectors_per_class` has {} values for {classes} classes",
                per_class.len()
            );
        }
        if support_vectors.len() % vectors != 0 || coefficients.len() != (classes - 1) * vectors {
            bail!(
                "{vectors} support vectors of {classes} classes need {} coefficients and a multiple of {vectors} support vector values; there are {} and {}",
                (classes - 1) * vectors,
                coefficients.len(),
                support_vectors.len()
            );
        }
        if rho.len() != pairs {
            bail!(
                "attribute `rho` has {} values; expected {pairs} (one per pair of classes)",
                rho.len()
            );
        }
        if !prob_a.is_empty() && prob_a.len() != pairs {
            bail!(
                "attribute `prob_a` has {} values; expected {pairs} (one per pair of classes)",
                prob_a.len()
            );
        }
        let mut start = Vec::with_capacity(classes);
        let mut at = 0;
        for &n in &per_class {
            start.push(at);
            at += n;
        }
        Mode::Svc {
            kernel: KernelType::read(&a)?,
            features: support_vectors.len() / vectors,
            start,
            per_class,
        }
    } else {
        if coefficients.len() % classes != 0 {
            bail!("{} coefficients is not a multiple of {classes} classes", coefficients.len());
        }
        if rho.is_empty() {
            bail!("attribute `rho` is missing");
        }
        Mode::Linear { features: coefficients.len() / classes }
    };
    Ok(Arc::new(Classifier {
        all_positive: coefficients.iter().all(|&c| c >= 0.0),
        labels,
        mode,
        support_vectors,
        coefficients,
        rho,
        prob_a,
        prob_b,
        post: PostTransform::read(&a)?,
    }))
}

#[derive(Debug)]
enum Mode {
    /// libsvm: support vectors per class, one classifier per pair.
    Svc { kernel: KernelType, features: usize, start: Vec<usize>, per_class: Vec<usize> },
    /// liblinear: one row of coefficients per class.
    Linear { features: usize },
}

#[derive(Debug)]
struct Classifier {
    labels: Labels,
    mode: Mode,
    support_vectors: Vec<f64>,
    coefficients: Vec<f64>,
    rho: Vec<f64>,
    prob_a: Vec<f64>,
    prob_b: Vec<f64>,
    post: PostTransform,
    all_positive: bool,
}

impl Classifier {
    fn classes(&self) -> usize {
        self.labels.len()
    }

    /// How many scores a row gets: a probability per class, a decision
    /// value per pair of classes (two columns for a binary model), or a
    /// score per class (linear).
    fn columns(&self) -> usize {
        let c = self.classes();
        match self.mode {
            Mode::Svc { .. } if self.prob_a.is_empty() => (c * (c - 1) / 2).max(2),
            _ => c,
        }
    }

    /// The class and the scores of one row.
    fn row(&self, x: &[f64], kernels: &mut Vec<f64>, out: &mut [f64]) -> usize {
        let c = self.classes();
        match &self.mode {
            Mode::Linear { features } => {
                for (k, o) in out.iter_mut().enumerate() {
                    let w = &self.coefficients[k * features..(k + 1) * features];
                    *o = KernelType::Linear.eval(x, w) + self.rho[0];
                }
                let mut best = 0;
                for k in 1..c {
                    if out[k] > out[best] {
                        best = k;
                    }
                }
                let max = out[best];
                self.post.apply(out);
                if c == 2 {
                    // onnxruntime's rule for two classes.
                    if (self.all_positive && max >= 0.5) || (!self.all_positive && max > 0.0) {
                        return 1;
                    }
                }
                best
            }
            Mode::Svc { kernel, features, start, per_class } => {
                let vectors: usize = per_class.iter().sum();
                kernels.clear();
                kernels.extend(
                    self.support_vectors.chunks_exact(*features).map(|sv| kernel.eval(x, sv)),
                );
                let mut votes = vec![0usize; c];
                let mut decisions = Vec::with_capacity(c * (c - 1) / 2);
                for i in 0..c {
                    for j in i + 1..c {
                        let ci = &self.coefficients[(j - 1) * vectors..j * vectors];
                        let cj = &self.coefficients[i * vectors..(i + 1) * vectors];
                        let si = start[i]..start[i] + per_class[i];
                        let sj = start[j]..start[j] + per_class[j];
                        let sum: f64 = ci[si.clone()]
                            .iter()
                            .zip(&kernels[si])
                            .map(|(a, k)| a * k)
                            .sum::<f64>()
                            + cj[sj.clone()]
                                .iter()
                                .zip(&kernels[sj])
                                .map(|(a, k)| a * k)
                                .sum::<f64>()
                            + self.rho[decisions.len()];
                        votes[if sum > 0.0 { i } else { j }] += 1;
                        decisions.push(sum);
                    }
                }
                let mut best = 0;
                for k in 1..c {
                    if votes[k] > votes[best] {
                        best = k;
                    }
                }
                if self.prob_a.is_empty() {
                    if c == 2 {
                        let s = decisions[0];
                        (out[0], out[1]) = match self.post {
                            PostTransform::None => (-s, s),
                            PostTransform::Logistic => (logistic(-s), logistic(s)),
                            _ => (1.0 - s, s),
                        };
                    } else {
                        out.copy_from_slice(&decisions);
                        self.post.apply(out);
                    }
                } else {
                    self.probabilities(&decisions, out);
                    self.post.apply(out);
                }
                best
            }
        }
    }

    /// Per-class probabilities from the pairwise decision values: Platt
    /// scaling of each pair, then libsvm's pairwise coupling (Wu, Lin and
    /// Weng 2004, method 2).
    fn probabilities(&self, decisions: &[f64], p: &mut [f64]) {
        let k = self.classes();
        let mut r = vec![0.0; k * k];
        let mut index = 0;
        for i in 0..k {
            for j in i + 1..k {
                let pij =
                    1.0 - logistic(decisions[index] * self.prob_a[index] + self.prob_b[index]);
                let pij = pij.clamp(1e-7, 1.0 - 1e-7);
                r[i * k + j] = pij;
                r[j * k + i] = 1.0 - pij;
                index += 1;
            }
        }
        let mut q = vec![0.0; k * k];
        for i in 0..k {
            p[i] = 1.0 / k as f64;
            for j in 0..k {
                if j < i {
                    q[i * k + i] += r[j * k + i] * r[j * k + i];
                    q[i * k + j] = q[j * k + i];
                } else if j > i {
                    q[i * k + i] += r[j * k + i] * r[j * k + i];
                    q[i * k + j] = -r[j * k + i] * r[i * k + j];
                }
            }
        }
        let eps = 0.005 / k as f64;
        let mut qp = vec![0.0; k];
        for _ in 0..100.max(k) {
            let mut pqp = 0.0;
            for i in 0..k {
                qp[i] = (0..k).map(|j| q[i * k + j] * p[j]).sum();
                pqp += p[i] * qp[i];
            }
            if qp.iter().all(|&v| (v - pqp).abs() < eps) {
                break;
            }
            for i in 0..k {
                let diff = (-qp[i] + pqp) / q[i * k + i];
                p[i] += diff;
                pqp = (pqp + diff * (diff * q[i * k + i] + 2.0 * qp[i]))
                    / (1.0 + diff)
                    / (1.0 + diff);
                for j in 0..k {
                    qp[j] = (qp[j] + diff * q[i * k + j]) / (1.0 + diff);
                    p[j] /= 1.0 + diff;
                }
            }
        }
    }
}

impl Kernel for Classifier {
    fn name(&self) -> &'static str {
        "SVMClassifier"
    }

    fn outputs(&self) -> usize {
        2
    }

    fn output_facts(&self, inputs: &[&TypedFact]) -> TractResult<TVec<TypedFact>> {
        self.labels.facts(self.name(), inputs[0], self.columns())
    }

    fn eval(&self, inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
        let (x, rows, width) = as_f64_rows(&inputs[0])?;
        let features = match self.mode {
            Mode::Svc { features, .. } | Mode::Linear { features } => features,
        };
        check_width(self.name(), width, features)?;
        let cols = self.columns();
        let mut out = vec![0.0; rows * cols];
        let mut classes = Vec::with_capacity(rows);
        let mut kernels = Vec::new();
        for (r, row) in out.chunks_exact_mut(cols).enumerate() {
            classes.push(self.row(&x[r * width..(r + 1) * width], &mut kernels, row));
        }
        self.labels.outputs(&classes, &out, cols)
    }
}
