//! A deterministic synthetic well log: what the example model is trained on.
//!
//! Depth runs down from 1,500 m in 0.5 m steps. Each sample is made as
//! follows (`N(0, s)` is Gaussian noise from a seeded SplitMix64 generator
//! through the Box–Muller transform, so the same seed gives the same log on
//! every machine):
//!
//! - shale volume `vsh` follows two overlapping sine waves of depth plus
//!   noise, clipped to `[0, 1]`;
//! - porosity falls with depth (compaction) and with shale:
//!   `φ = 0.32 − 0.00005·(z − 1500) − 0.12·vsh + N(0, 0.01)`, clipped to
//!   `[0.03, 0.36]`;
//! - bulk density mixes matrix (2.65 g/cm³ sand, 2.72 shale) and brine
//!   (1.03): `ρ = φ·1.03 + (1 − φ)·(2.65 + 0.07·vsh)`;
//! - P-wave velocity follows **Gardner's relation** `ρ = 0.31·Vp^0.25`
//!   (Vp in m/s, ρ in g/cm³), i.e. `Vp = (ρ / 0.31)^4`; in the hydrocarbon
//!   intervals (three fixed depth ranges) Vp drops 6 % (fluid effect);
//! - sonic slowness `AC = 304800 / Vp` µs/ft; shear slowness
//!   `ACS = AC · (1.65 + 0.35·vsh + N(0, 0.02))` (the Vp/Vs ratio);
//! - deep resistivity by **Archie's law** `Rt = Rw / (φ^2 · Sw^2)` with
//!   `Rw = 0.06` ohm·m, `Sw = 1` in brine and `0.25` in hydrocarbons, plus
//!   shale conduction;
//! - measurement noise: `AC + N(0, 1.2)`, `ACS + N(0, 2.5)`,
//!   `DEN + N(0, 0.012)`, `RDEP · exp(N(0, 0.05))`.

/// One synthetic log, column by column.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct WellLog {
    pub depth: Vec<f64>,
    pub acs: Vec<f64>,
    pub rdep: Vec<f64>,
    pub den: Vec<f64>,
    pub ac: Vec<f64>,
}

/// Depth ranges (m) that hold hydrocarbons.
const PAY_ZONES: [(f64, f64); 3] = [(1620.0, 1655.0), (1790.0, 1810.0), (1930.0, 1975.0)];

/// Makes `rows` samples from `seed`.
pub fn generate(seed: u64, rows: usize) -> WellLog {
    let mut rng = Rng::new(seed);
    let mut log = WellLog::default();
    for i in 0..rows {
        let z = 1500.0 + 0.5 * i as f64;
        let vsh = (0.45 + 0.3 * libm::sin(z / 23.0) + 0.15 * libm::sin(z / 7.1) + rng.normal(0.05))
            .clamp(0.0, 1.0);
        let phi = (0.32 - 0.00005 * (z - 1500.0) - 0.12 * vsh + rng.normal(0.01)).clamp(0.03, 0.36);
        let den = phi * 1.03 + (1.0 - phi) * (2.65 + 0.07 * vsh);
        let pay = PAY_ZONES.iter().any(|&(top, base)| (top..base).contains(&z));
        let vp = libm::pow(den / 0.31, 4.0) * if pay { 0.94 } else { 1.0 };
        let ac = 304_800.0 / vp;
        let acs = ac * (1.65 + 0.35 * vsh + rng.normal(0.02));
        let sw: f64 = if pay { 0.25 } else { 1.0 };
        let archie = 0.06 / (phi * phi * sw * sw);
        let rt = 1.0 / (1.0 / archie + vsh / 4.0);
        log.depth.push(z);
        log.ac.push(ac + rng.normal(1.2));
        log.acs.push(acs + rng.normal(2.5));
        log.den.push(den + rng.normal(0.012));
        log.rdep.push(rt * libm::exp(rng.normal(0.05)));
    }
    log
}

/// SplitMix64: tiny, fast and the same everywhere.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        Rng(seed)
    }

    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in (0, 1].
    fn uniform(&mut self) -> f64 {
        ((self.next_u64() >> 11) + 1) as f64 / (1u64 << 53) as f64
    }

    /// Gaussian with mean 0 and standard deviation `sd` (Box–Muller).
    fn normal(&mut self, sd: f64) -> f64 {
        let (u1, u2) = (self.uniform(), self.uniform());
        sd * libm::sqrt(-2.0 * libm::log(u1)) * libm::cos(2.0 * std::f64::consts::PI * u2)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_log_and_values_are_plausible() {
        let a = generate(7, 500);
        assert_eq!(a, generate(7, 500));
        assert_ne!(a, generate(8, 500));
        let within = |v: &[f64], lo: f64, hi: f64| v.iter().all(|x| (lo..hi).contains(x));
        assert!(within(&a.den, 1.9, 2.8), "density in g/cm³");
        assert!(within(&a.ac, 50.0, 160.0), "sonic slowness in µs/ft");
        assert!(within(&a.acs, 80.0, 350.0), "shear slowness in µs/ft");
        assert!(within(&a.rdep, 0.1, 200.0), "resistivity in ohm·m");
    }
}
