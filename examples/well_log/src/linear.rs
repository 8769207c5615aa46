//! The model itself: sonic slowness `AC` as a linear function of shear
//! slowness `ACS`, the logarithm of deep resistivity `RDEP` and bulk density
//! `DEN`, fitted by ordinary least squares.

use serde::{Deserialize, Serialize};

/// The artifact format this code reads and writes.
pub const FORMAT: &str = "well-log-linear/1";

/// The artifact file name inside the artifact folder.
pub const ARTIFACT: &str = "model.json";

/// The parameters of a fitted model: the content of `model.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {
    /// Always [`FORMAT`].
    pub format: String,
    /// The terms the coefficients multiply, in order.
    pub terms: [String; 4],
    /// `AC ≈ c0 + c1·ACS + c2·ln(RDEP) + c3·DEN`.
    pub coefficients: [f64; 4],
    /// How the fit went.
    pub training: Fit,
}

/// Goodness of fit on the training data.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fit {
    /// Rows used.
    pub rows: usize,
    /// Root mean square error, µs/ft.
    pub rmse: f64,
    /// Coefficient of determination.
    pub r2: f64,
}

impl Params {
    /// Checks what a hand-edited or corrupted artifact could get wrong.
    pub fn check(&self) -> Result<(), String> {
        if self.format != FORMAT {
            return Err(format!(
                "artifact format is `{}`, this model reads `{FORMAT}`",
                self.format
            ));
        }
        if let Some(bad) = self.coefficients.iter().find(|c| !c.is_finite()) {
            return Err(format!("coefficient {bad} is not a finite number"));
        }
        Ok(())
    }

    /// Predicts `AC` for one row. `rdep` must be positive.
    #[inline]
    pub fn predict(&self, acs: f64, rdep: f64, den: f64) -> f64 {
        let [c0, c1, c2, c3] = self.coefficients;
        c0 + c1 * acs + c2 * libm::log(rdep) + c3 * den
    }
}

/// Why a row cannot be predicted, or `None` when it can.
pub fn invalid_row(acs: f64, rdep: f64, den: f64) -> Option<&'static str> {
    if !(acs.is_finite() && rdep.is_finite() && den.is_finite()) {
        Some("ACS, RDEP and DEN must be finite numbers")
    } else if rdep <= 0.0 {
        Some("RDEP (deep resistivity, ohm·m) must be greater than 0")
    } else {
        None
    }
}

/// Fits the parameters to training rows by ordinary least squares.
pub fn fit(acs: &[f64], rdep: &[f64], den: &[f64], ac: &[f64]) -> Result<Params, String> {
    let rows = ac.len();
    if acs.len() != rows || rdep.len() != rows || den.len() != rows {
        return Err("ACS, RDEP, DEN and AC must have the same length".to_string());
    }
    if rows < 8 {
        return Err(format!("need at least 8 rows to fit, got {rows}"));
    }
    // Normal equations: (XᵀX) c = Xᵀy.
    let mut xtx = [[0.0f64; 4]; 4];
    let mut xty = [0.0f64; 4];
    for i in 0..rows {
        if let Some(why) = invalid_row(acs[i], rdep[i], den[i]) {
            return Err(format!("row {i}: {why}"));
        }
        let x = [1.0, acs[i], libm::log(rdep[i]), den[i]];
        for a in 0..4 {
            xty[a] += x[a] * ac[i];
            for b in 0..4 {
                xtx[a][b] += x[a] * x[b];
            }
        }
    }
    let coefficients = solve(xtx, xty).ok_or("the training data do not determine the fit")?;
    let mut params = Params {
        format: FORMAT.to_string(),
        terms: ["1", "ACS", "ln(RDEP)", "DEN"].map(String::from),
        coefficients,
        training: Fit { rows, rmse: 0.0, r2: 0.0 },
    };
    let mean = ac.iter().sum::<f64>() / rows as f64;
    let (mut sse, mut sst) = (0.0, 0.0);
    for i in 0..rows {
        let residual = ac[i] - params.predict(acs[i], rdep[i], den[i]);
        sse += residual * residual;
        sst += (ac[i] - mean) * (ac[i] - mean);
    }
    params.training.rmse = (sse / rows as f64).sqrt();
    params.training.r2 = 1.0 - sse / sst;
    Ok(params)
}

/// Solves a 4×4 system by Gaussian elimination with partial pivoting.
fn solve(mut a: [[f64; 4]; 4], mut b: [f64; 4]) -> Option<[f64; 4]> {
    for col in 0..4 {
        let pivot = (col..4).max_by(|&i, &j| a[i][col].abs().total_cmp(&a[j][col].abs()))?;
        if a[pivot][col].abs() < 1e-12 {
            return None;
        }
        a.swap(col, pivot);
        b.swap(col, pivot);
        let pivot_row = a[col];
        for row in col + 1..4 {
            let factor = a[row][col] / pivot_row[col];
            for (cell, p) in a[row].iter_mut().zip(pivot_row).skip(col) {
                *cell -= factor * p;
            }
            b[row] -= factor * b[col];
        }
    }
    let mut x = [0.0; 4];
    for row in (0..4).rev() {
        let tail: f64 = (row + 1..4).map(|k| a[row][k] * x[k]).sum();
        x[row] = (b[row] - tail) / a[row][row];
    }
    Some(x)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fit_recovers_exact_coefficients() {
        let truth = [12.0, 0.4, -1.5, 20.0];
        let n = 50;
        let acs: Vec<f64> = (0..n).map(|i| 150.0 + (i as f64 * 7.3) % 40.0).collect();
        let rdep: Vec<f64> = (0..n).map(|i| 0.5 + (i as f64 * 3.1) % 20.0).collect();
        let den: Vec<f64> = (0..n).map(|i| 2.1 + (i as f64 * 0.037) % 0.5).collect();
        let ac: Vec<f64> = (0..n)
            .map(|i| {
                truth[0] + truth[1] * acs[i] + truth[2] * libm::log(rdep[i]) + truth[3] * den[i]
            })
            .collect();
        let params = fit(&acs, &rdep, &den, &ac).expect("a well-posed fit");
        for (got, want) in params.coefficients.iter().zip(truth) {
            assert!((got - want).abs() < 1e-8, "{got} vs {want}");
        }
        assert!(params.training.rmse < 1e-8);
    }

    #[test]
    fn fit_refuses_degenerate_data() {
        let same = vec![1.0; 20];
        assert!(fit(&same, &same, &same, &same).is_err());
        assert!(fit(&[1.0], &[1.0], &[1.0], &[1.0]).is_err());
    }

    #[test]
    fn rows_that_cannot_be_predicted_are_named() {
        assert!(invalid_row(100.0, 0.0, 2.3).is_some());
        assert!(invalid_row(f64::NAN, 1.0, 2.3).is_some());
        assert!(invalid_row(100.0, 1.0, 2.3).is_none());
    }
}
