//! Deterministic sampling: at rate r, exactly r of every run of requests is sampled, spread
//! evenly, with no random source (so a test or an operator can predict the counts).

pub struct Sampler {
    rate: f64,
    credit: f64,
}

impl Sampler {
    pub fn new(rate: f64) -> Sampler {
        Sampler { rate, credit: 0.0 }
    }

    pub fn sample(&mut self) -> bool {
        self.credit += self.rate;
        if self.credit >= 1.0 - 1e-9 {
            self.credit -= 1.0;
            true
        } else {
            false
        }
    }
}
