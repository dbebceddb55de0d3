//! Zipf-distributed choice of a card: a few hot cards take a large share.

use rand::Rng;

pub struct Zipf {
    cdf: Vec<f64>,
}

impl Zipf {
    /// Ranks 0..n, weight 1/(rank+1)^s.
    pub fn new(n: usize, s: f64) -> Self {
        let mut cdf = Vec::with_capacity(n);
        let mut total = 0.0;
        for k in 0..n.max(1) {
            total += 1.0 / ((k + 1) as f64).powf(s);
            cdf.push(total);
        }
        for c in &mut cdf {
            *c /= total;
        }
        Self { cdf }
    }

    pub fn sample(&self, rng: &mut impl Rng) -> usize {
        let u: f64 = rng.random();
        self.cdf.partition_point(|&c| c < u).min(self.cdf.len() - 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_head_is_hot() {
        let z = Zipf::new(1000, 1.0);
        let mut rng = rand::rng();
        let hits = (0..100_000).filter(|_| z.sample(&mut rng) < 10).count();
        // The top 1% of 1000 cards take ~39% of the traffic with s = 1.
        assert!((30_000..50_000).contains(&hits), "{hits}");
    }
}
