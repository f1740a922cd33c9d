//! The subset of the rand 0.4 API that HumanEvalPack programs use, without dependencies.
//!
//! HumanEvalPack's Rust tests were written against rand 0.4: `rand::thread_rng()`,
//! `Rng::gen_range(low, high)` (two arguments, `high` exclusive), `Rng::gen::<T>()` and
//! `rand::random::<T>()`. Current rand releases changed all of these, so this crate offers the
//! old signatures on top of a small xoshiro256** generator seeded with splitmix64.
//!
//! Seeding: like rand 0.4, every thread's generator is seeded from fresh entropy, so programs
//! that use it are nondeterministic. When the environment variable `HUMANEVALPACK_RAND_SEED`
//! holds an unsigned integer, each thread's generator starts from that seed instead, which makes
//! the randomised tests reproducible (the metric's "corrected" mode sets it).
//!
//! The random streams differ from rand 0.4's; only the API and the distributions match.

use std::cell::RefCell;
use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::rc::Rc;

/// Environment variable that makes `thread_rng()` (and `random()`) deterministic.
pub const SEED_ENV: &str = "HUMANEVALPACK_RAND_SEED";

/// Values that can be drawn uniformly from an `Rng` (rand 0.4's `Rand`).
pub trait Rand: Sized {
    fn rand<R: Rng>(rng: &mut R) -> Self;
}

/// A random number generator with rand 0.4's method signatures.
pub trait Rng {
    fn next_u32(&mut self) -> u32 {
        (self.next_u64() >> 32) as u32
    }

    fn next_u64(&mut self) -> u64;

    /// Uniform in `[0, 1)`.
    fn next_f32(&mut self) -> f32 {
        (self.next_u32() >> 8) as f32 / (1u32 << 24) as f32
    }

    /// Uniform in `[0, 1)`.
    fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    fn fill_bytes(&mut self, dest: &mut [u8]) {
        for chunk in dest.chunks_mut(8) {
            let bytes = self.next_u64().to_le_bytes();
            chunk.copy_from_slice(&bytes[..chunk.len()]);
        }
    }

    fn gen<T: Rand>(&mut self) -> T
    where
        Self: Sized,
    {
        T::rand(self)
    }

    /// Uniform in `[low, high)`; panics when `low >= high`, as rand 0.4 did.
    fn gen_range<T: PartialOrd + distributions::range::SampleRange>(&mut self, low: T, high: T) -> T
    where
        Self: Sized,
    {
        assert!(low < high, "Rng.gen_range called with low >= high");
        T::sample_range(low, high, self)
    }

    /// `true` with probability `1 / n` (always `true` for `n <= 1`).
    fn gen_weighted_bool(&mut self, n: u32) -> bool
    where
        Self: Sized,
    {
        n <= 1 || self.gen_range(0, n) == 0
    }

    fn choose<'a, T>(&mut self, values: &'a [T]) -> Option<&'a T>
    where
        Self: Sized,
    {
        if values.is_empty() {
            None
        } else {
            Some(&values[self.gen_range(0, values.len())])
        }
    }

    fn choose_mut<'a, T>(&mut self, values: &'a mut [T]) -> Option<&'a mut T>
    where
        Self: Sized,
    {
        if values.is_empty() {
            None
        } else {
            let index = self.gen_range(0, values.len());
            Some(&mut values[index])
        }
    }

    /// Fisher-Yates shuffle.
    fn shuffle<T>(&mut self, values: &mut [T])
    where
        Self: Sized,
    {
        for i in (1..values.len()).rev() {
            let j = self.gen_range(0, i + 1);
            values.swap(i, j);
        }
    }
}

impl<'a, R: Rng + ?Sized> Rng for &'a mut R {
    fn next_u64(&mut self) -> u64 {
        (**self).next_u64()
    }
}

/// rand 0.4's `SeedableRng`, with a `u64` seed for every generator here.
pub trait SeedableRng<Seed>: Rng {
    fn reseed(&mut self, seed: Seed);
    fn from_seed(seed: Seed) -> Self;
}

/// xoshiro256**: the one generator behind every public type of this crate.
#[derive(Clone, Debug)]
pub struct XorShiftRng {
    s: [u64; 4],
}

impl XorShiftRng {
    fn seeded(seed: u64) -> Self {
        let mut state = seed;
        let mut next = || {
            // splitmix64 spreads one 64-bit seed over the 256-bit state
            state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = state;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^ (z >> 31)
        };
        XorShiftRng { s: [next(), next(), next(), next()] }
    }

    pub fn new_unseeded() -> Self {
        Self::seeded(0)
    }
}

impl Rng for XorShiftRng {
    fn next_u64(&mut self) -> u64 {
        let s = &mut self.s;
        let result = s[1].wrapping_mul(5).rotate_left(7).wrapping_mul(9);
        let t = s[1] << 17;
        s[2] ^= s[0];
        s[3] ^= s[1];
        s[1] ^= s[2];
        s[0] ^= s[3];
        s[2] ^= t;
        s[3] = s[3].rotate_left(45);
        result
    }
}

impl SeedableRng<u64> for XorShiftRng {
    fn reseed(&mut self, seed: u64) {
        *self = Self::seeded(seed);
    }
    fn from_seed(seed: u64) -> Self {
        Self::seeded(seed)
    }
}

/// 64 bits of entropy from the process' randomly keyed hasher, the clock and the thread.
fn entropy() -> u64 {
    let mut hasher = RandomState::new().build_hasher();
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    hasher.write_u128(nanos);
    hasher.write(format!("{:?}", std::thread::current().id()).as_bytes());
    hasher.finish()
}

fn configured_seed() -> Option<u64> {
    std::env::var(SEED_ENV).ok()?.trim().parse().ok()
}

/// rand 0.4's standard generator; `new()` seeds it from entropy.
#[derive(Clone, Debug)]
pub struct StdRng(XorShiftRng);

impl StdRng {
    pub fn new() -> std::io::Result<StdRng> {
        Ok(StdRng(XorShiftRng::seeded(entropy())))
    }
}

impl Rng for StdRng {
    fn next_u64(&mut self) -> u64 {
        self.0.next_u64()
    }
}

impl SeedableRng<u64> for StdRng {
    fn reseed(&mut self, seed: u64) {
        self.0.reseed(seed);
    }
    fn from_seed(seed: u64) -> Self {
        StdRng(XorShiftRng::seeded(seed))
    }
}

/// An entropy-seeded generator (rand 0.4's `OsRng` read the OS; this one does not need to).
#[derive(Clone, Debug)]
pub struct OsRng(XorShiftRng);

impl OsRng {
    pub fn new() -> std::io::Result<OsRng> {
        Ok(OsRng(XorShiftRng::seeded(entropy())))
    }
}

impl Rng for OsRng {
    fn next_u64(&mut self) -> u64 {
        self.0.next_u64()
    }
}

thread_local! {
    static THREAD_RNG: Rc<RefCell<XorShiftRng>> =
        Rc::new(RefCell::new(XorShiftRng::seeded(configured_seed().unwrap_or_else(entropy))));
}

/// A handle to this thread's generator (rand 0.4's `ThreadRng`); clones share the state.
#[derive(Clone, Debug)]
pub struct ThreadRng {
    rng: Rc<RefCell<XorShiftRng>>,
}

impl Rng for ThreadRng {
    fn next_u64(&mut self) -> u64 {
        self.rng.borrow_mut().next_u64()
    }
}

/// This thread's generator, seeded once per thread (see the crate docs for `HUMANEVALPACK_RAND_SEED`).
pub fn thread_rng() -> ThreadRng {
    ThreadRng { rng: THREAD_RNG.with(|rng| rng.clone()) }
}

/// A fresh, independently seeded generator.
pub fn weak_rng() -> XorShiftRng {
    XorShiftRng::seeded(thread_rng().next_u64())
}

/// One random value from this thread's generator.
pub fn random<T: Rand>() -> T {
    thread_rng().gen()
}

/// `amount` values sampled from `iterable` without replacement (reservoir sampling).
pub fn sample<T, I: IntoIterator<Item = T>, R: Rng>(rng: &mut R, iterable: I, amount: usize) -> Vec<T> {
    let mut iter = iterable.into_iter();
    let mut reservoir: Vec<T> = iter.by_ref().take(amount).collect();
    for (offset, item) in iter.enumerate() {
        let k = rng.gen_range(0, offset + amount + 1);
        if k < amount {
            reservoir[k] = item;
        }
    }
    reservoir
}

macro_rules! rand_int {
    ($($t:ty),*) => {$(
        impl Rand for $t {
            fn rand<R: Rng>(rng: &mut R) -> Self {
                let wide = ((rng.next_u64() as u128) << 64) | rng.next_u64() as u128;
                wide as $t
            }
        }
    )*};
}
rand_int!(u8, u16, u32, u64, u128, usize, i8, i16, i32, i64, i128, isize);

impl Rand for bool {
    fn rand<R: Rng>(rng: &mut R) -> Self {
        rng.next_u32() & 1 == 1
    }
}

impl Rand for f32 {
    fn rand<R: Rng>(rng: &mut R) -> Self {
        rng.next_f32()
    }
}

impl Rand for f64 {
    fn rand<R: Rng>(rng: &mut R) -> Self {
        rng.next_f64()
    }
}

impl Rand for char {
    /// Uniform over all Unicode scalar values.
    fn rand<R: Rng>(rng: &mut R) -> Self {
        loop {
            if let Some(c) = char::from_u32(rng.next_u32() & 0x1F_FFFF) {
                return c;
            }
        }
    }
}

impl<T: Rand> Rand for Option<T> {
    fn rand<R: Rng>(rng: &mut R) -> Self {
        if rng.gen() {
            Some(rng.gen())
        } else {
            None
        }
    }
}

macro_rules! rand_tuple {
    ($($name:ident),*) => {
        impl<$($name: Rand),*> Rand for ($($name,)*) {
            fn rand<R: Rng>(_rng: &mut R) -> Self {
                ($(_rng.gen::<$name>(),)*)
            }
        }
    };
}
rand_tuple!();
rand_tuple!(A);
rand_tuple!(A, B);
rand_tuple!(A, B, C);
rand_tuple!(A, B, C, D);

pub mod distributions {
    //! rand 0.4's `Range` distribution and the traits to sample it.
    use super::Rng;

    pub trait Sample<Support> {
        fn sample<R: Rng>(&mut self, rng: &mut R) -> Support;
    }

    pub trait IndependentSample<Support>: Sample<Support> {
        fn ind_sample<R: Rng>(&self, rng: &mut R) -> Support;
    }

    /// Uniform over `[low, high)`.
    #[derive(Clone, Copy, Debug)]
    pub struct Range<X> {
        low: X,
        high: X,
    }

    impl<X: range::SampleRange + PartialOrd + Copy> Range<X> {
        pub fn new(low: X, high: X) -> Range<X> {
            assert!(low < high, "Range::new called with `low >= high`");
            Range { low, high }
        }
    }

    impl<X: range::SampleRange + Copy> Sample<X> for Range<X> {
        fn sample<R: Rng>(&mut self, rng: &mut R) -> X {
            X::sample_range(self.low, self.high, rng)
        }
    }

    impl<X: range::SampleRange + Copy> IndependentSample<X> for Range<X> {
        fn ind_sample<R: Rng>(&self, rng: &mut R) -> X {
            X::sample_range(self.low, self.high, rng)
        }
    }

    pub mod range {
        //! Types `gen_range` accepts.
        use crate::Rng;

        pub trait SampleRange: Sized {
            /// Uniform in `[low, high)`; callers guarantee `low < high`.
            fn sample_range<R: Rng>(low: Self, high: Self, rng: &mut R) -> Self;
        }

        macro_rules! sample_int {
            ($($t:ty => $unsigned:ty),*) => {$(
                impl SampleRange for $t {
                    fn sample_range<R: Rng>(low: Self, high: Self, rng: &mut R) -> Self {
                        let span = high.wrapping_sub(low) as $unsigned as u128;
                        // reject the top of the 128-bit range so every residue is equally likely
                        let limit = u128::MAX - u128::MAX % span;
                        loop {
                            let draw = ((rng.next_u64() as u128) << 64) | rng.next_u64() as u128;
                            if draw < limit {
                                return low.wrapping_add((draw % span) as $unsigned as $t);
                            }
                        }
                    }
                }
            )*};
        }
        sample_int!(u8 => u8, u16 => u16, u32 => u32, u64 => u64, usize => usize,
                    i8 => u8, i16 => u16, i32 => u32, i64 => u64, isize => usize);

        macro_rules! sample_float {
            ($($t:ty => $next:ident),*) => {$(
                impl SampleRange for $t {
                    fn sample_range<R: Rng>(low: Self, high: Self, rng: &mut R) -> Self {
                        low + (high - low) * rng.$next()
                    }
                }
            )*};
        }
        sample_float!(f32 => next_f32, f64 => next_f64);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gen_range_stays_in_bounds() {
        let mut rng = thread_rng();
        for _ in 0..10_000 {
            let x = rng.gen_range(-10, 11);
            assert!((-10..11).contains(&x));
            let b = rng.gen_range(b'a', b'z' + 1);
            assert!(b.is_ascii_lowercase());
            let f = rng.gen_range(0.5f64, 2.0);
            assert!((0.5..2.0).contains(&f));
        }
    }

    #[test]
    fn seeded_generators_repeat() {
        let a: Vec<u32> = (0..5).map({ let mut r = StdRng::from_seed(7); move |_| r.gen() }).collect();
        let b: Vec<u32> = (0..5).map({ let mut r = StdRng::from_seed(7); move |_| r.gen() }).collect();
        assert_eq!(a, b);
    }

    #[test]
    fn random_and_shuffle() {
        let _: (u8, bool, f64, char) = random();
        let mut v: Vec<i32> = (0..20).collect();
        thread_rng().shuffle(&mut v);
        v.sort();
        assert_eq!(v, (0..20).collect::<Vec<_>>());
    }
}
