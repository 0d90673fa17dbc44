//! Sampling of the scenario's distributions and weighted choices.

use crate::scenario::{Dist, WeightedChoice};
use rand::{Rng, RngExt};
use rand_distr::{Distribution, Exp, LogNormal};

/// z-score of the 90th percentile of the standard normal distribution.
const Z90: f64 = 1.281_551_565_545;

impl Dist {
    /// One draw. Parameters were validated when the scenario was compiled, so the
    /// constructors below cannot fail; a defensive fallback returns the median/mean.
    pub fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> f64 {
        match *self {
            Dist::Fixed { value } => value,
            Dist::Uniform { min, max } => {
                if max > min {
                    rng.random_range(min..max)
                } else {
                    min
                }
            }
            Dist::Exponential { mean } => Exp::new(1.0 / mean).map(|d| d.sample(rng)).unwrap_or(mean),
            Dist::LogNormal { median, p90 } => {
                let sigma = (p90 / median).ln() / Z90;
                if sigma <= 0.0 {
                    return median;
                }
                LogNormal::new(median.ln(), sigma).map(|d| d.sample(rng)).unwrap_or(median)
            }
        }
    }
    /// The chance a draw is at most `x`.
    pub fn cdf(&self, x: f64) -> f64 {
        match *self {
            Dist::Fixed { value } => (x >= value) as u8 as f64,
            Dist::Uniform { min, max } if max > min => ((x - min) / (max - min)).clamp(0.0, 1.0),
            Dist::Uniform { min, .. } => (x >= min) as u8 as f64,
            Dist::Exponential { mean } => {
                if x <= 0.0 {
                    0.0
                } else {
                    1.0 - (-x / mean).exp()
                }
            }
            Dist::LogNormal { median, p90 } => {
                let sigma = (p90 / median).ln() / Z90;
                if x <= 0.0 {
                    0.0
                } else if sigma <= 0.0 {
                    (x >= median) as u8 as f64
                } else {
                    0.5 * libm::erfc(-((x / median).ln() / sigma) / std::f64::consts::SQRT_2)
                }
            }
        }
    }

    /// The distribution's mean.
    pub fn mean(&self) -> f64 {
        match *self {
            Dist::Fixed { value } => value,
            Dist::Uniform { min, max } => (min + max) / 2.0,
            Dist::Exponential { mean } => mean,
            Dist::LogNormal { median, p90 } => {
                let sigma = (p90 / median).ln() / Z90;
                median * (sigma * sigma / 2.0).exp()
            }
        }
    }
}

/// Cumulative weights for repeated weighted choice.
#[derive(Clone, Debug)]
pub(crate) struct Cdf {
    cumulative: Vec<f64>,
}

impl Cdf {
    pub(crate) fn new(weights: impl IntoIterator<Item = f64>) -> Cdf {
        let mut acc = 0.0;
        let cumulative = weights
            .into_iter()
            .map(|w| {
                acc += w.max(0.0);
                acc
            })
            .collect();
        Cdf { cumulative }
    }
    pub(crate) fn from_choices(c: &[WeightedChoice]) -> Cdf {
        Cdf::new(c.iter().map(|x| x.weight))
    }
    pub(crate) fn total(&self) -> f64 {
        self.cumulative.last().copied().unwrap_or(0.0)
    }
    /// An index drawn with probability proportional to its weight (0 if all weights are 0).
    pub(crate) fn pick<R: Rng + ?Sized>(&self, rng: &mut R) -> usize {
        let u = self.draw(rng);
        self.index_of(u)
    }
    /// [`Cdf::pick`] in two steps: the draw it takes (none if all weights are 0), then
    /// [`Cdf::index_of`] the index it picks, for a caller that may not need the index.
    pub(crate) fn draw<R: Rng + ?Sized>(&self, rng: &mut R) -> Option<f64> {
        (self.total() > 0.0).then(|| rng.random::<f64>())
    }
    /// The index a [`Cdf::draw`] picks.
    pub(crate) fn index_of(&self, u: Option<f64>) -> usize {
        let Some(u) = u else { return 0 };
        let x = u * self.total();
        self.cumulative.partition_point(|&c| c <= x).min(self.cumulative.len() - 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn means_match_samples() {
        let mut rng = crate::rng::component(1, "test");
        for d in [Dist::Exponential { mean: 3.0 }, Dist::LogNormal { median: 2.0, p90: 6.0 }, Dist::Uniform { min: 1.0, max: 5.0 }] {
            let n = 200_000;
            let avg: f64 = (0..n).map(|_| d.sample(&mut rng)).sum::<f64>() / n as f64;
            assert!((avg / d.mean() - 1.0).abs() < 0.03, "{d:?}: sample mean {avg} vs {}", d.mean());
        }
    }

    #[test]
    fn log_normal_p90_holds() {
        let mut rng = crate::rng::component(2, "test");
        let d = Dist::LogNormal { median: 10.0, p90: 40.0 };
        let mut v: Vec<f64> = (0..100_000).map(|_| d.sample(&mut rng)).collect();
        v.sort_by(|a, b| a.total_cmp(b));
        assert!((v[50_000] / 10.0 - 1.0).abs() < 0.05);
        assert!((v[90_000] / 40.0 - 1.0).abs() < 0.05);
    }

    #[test]
    fn cdf_picks_in_proportion() {
        let mut rng = crate::rng::component(3, "test");
        let cdf = Cdf::new([1.0, 0.0, 3.0]);
        let mut counts = [0u32; 3];
        for _ in 0..40_000 {
            counts[cdf.pick(&mut rng)] += 1;
        }
        assert_eq!(counts[1], 0);
        assert!((counts[2] as f64 / counts[0] as f64 - 3.0).abs() < 0.2);
    }
}
