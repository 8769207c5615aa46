//! The `post_transform` of the classic-ML operators.

use tract_onnx::tract_hir::internal::*;

use super::Attrs;

/// What is applied to the scores before they are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PostTransform {
    None,
    Logistic,
    Softmax,
    SoftmaxZero,
    Probit,
}

impl PostTransform {
    /// The `post_transform` attribute (a string, opsets 1–3).
    pub fn read(attrs: &Attrs<'_, '_>) -> TractResult<PostTransform> {
        attrs.choice(
            "post_transform",
            PostTransform::None,
            &[
                ("NONE", PostTransform::None),
                ("LOGISTIC", PostTransform::Logistic),
                ("SOFTMAX", PostTransform::Softmax),
                ("SOFTMAX_ZERO", PostTransform::SoftmaxZero),
                ("PROBIT", PostTransform::Probit),
            ],
        )
    }

    /// The `post_transform` attribute as an integer (`TreeEnsemble`, opset 5).
    pub fn from_code(code: i64) -> TractResult<PostTransform> {
        Ok(match code {
            0 => PostTransform::None,
            1 => PostTransform::Softmax,
            2 => PostTransform::Logistic,
            3 => PostTransform::SoftmaxZero,
            4 => PostTransform::Probit,
            other => bail!("attribute `post_transform` is {other}; expected 0 to 4"),
        })
    }

    /// Applies the transform to one row of scores.
    pub fn apply(self, scores: &mut [f64]) {
        match self {
            PostTransform::None => {}
            PostTransform::Logistic => scores.iter_mut().for_each(|s| *s = logistic(*s)),
            PostTransform::Softmax => softmax(scores),
            PostTransform::SoftmaxZero => softmax_zero(scores),
            PostTransform::Probit => scores.iter_mut().for_each(|s| *s = probit(*s)),
        }
    }
}

/// 1 / (1 + e^-x), computed without overflow for either sign.
pub(crate) fn logistic(x: f64) -> f64 {
    let v = 1.0 / (1.0 + (-x.abs()).exp());
    if x < 0.0 { 1.0 - v } else { v }
}

pub(crate) fn softmax(scores: &mut [f64]) {
    let max = scores.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let mut sum = 0.0;
    for s in scores.iter_mut() {
        *s = (*s - max).exp();
        sum += *s;
    }
    scores.iter_mut().for_each(|s| *s /= sum);
}

/// Softmax that leaves (near-)zero scores at (near-)zero: a class no tree
/// voted for gets no probability. As onnxruntime defines it.
pub(crate) fn softmax_zero(scores: &mut [f64]) {
    let max = scores.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let exp_neg_max = (-max).exp();
    let mut sum = 0.0;
    for s in scores.iter_mut() {
        if s.abs() > 1e-7 {
            *s = (*s - max).exp();
            sum += *s;
        } else {
            *s *= exp_neg_max;
        }
    }
    if sum == 0.0 {
        scores.iter_mut().for_each(|s| *s = 0.5);
    } else {
        scores.iter_mut().for_each(|s| *s /= sum);
    }
}

/// The probit: √2 · erf⁻¹(2x − 1), with the approximation of erf⁻¹ that
/// onnxruntime and the ONNX reference implementation use (Winitzki's, with
/// a = 0.147), so that graphs give the same answers as there.
pub(crate) fn probit(x: f64) -> f64 {
    std::f64::consts::SQRT_2 * erf_inv(2.0 * x - 1.0)
}

fn erf_inv(x: f64) -> f64 {
    let sign = if x < 0.0 { -1.0 } else { 1.0 };
    let y = (1.0 - x) * (1.0 + x);
    if y == 0.0 {
        return 0.0;
    }
    let ln = y.ln();
    let a = 0.147;
    let v = 2.0 / (std::f64::consts::PI * a) + 0.5 * ln;
    let v2 = ln / a;
    sign * (-v + (v * v - v2).sqrt()).sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logistic_is_symmetric_and_exact_at_zero() {
        assert_eq!(logistic(0.0), 0.5);
        assert!((logistic(3.0) + logistic(-3.0) - 1.0).abs() < 1e-15);
        assert_eq!(logistic(-1000.0), 0.0);
        assert_eq!(logistic(1000.0), 1.0);
    }

    #[test]
    fn softmax_sums_to_one_and_keeps_order() {
        let mut s = [1.0, 2.0, 3.0];
        softmax(&mut s);
        assert!((s.iter().sum::<f64>() - 1.0).abs() < 1e-15);
        assert!(s[0] < s[1] && s[1] < s[2]);
    }

    #[test]
    fn softmax_zero_gives_nothing_to_zero_scores() {
        let mut s = [0.0, 2.0, 3.0];
        softmax_zero(&mut s);
        assert_eq!(s[0], 0.0);
        assert!((s[1] + s[2] - 1.0).abs() < 1e-15);
        let mut all_zero = [0.0, 0.0];
        softmax_zero(&mut all_zero);
        assert_eq!(all_zero, [0.5, 0.5]);
    }

    #[test]
    fn probit_approximates_the_normal_quantile() {
        // Φ⁻¹(0.975) = 1.959964…; the approximation is good to about 1e-3.
        assert!((probit(0.975) - 1.959964).abs() < 2e-3);
        assert_eq!(probit(0.5), 0.0);
    }
}
