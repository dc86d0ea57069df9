//! Generated run names: `<predicate>-<noun>-<0..1000>`, like `mlflow/utils/name_utils.py`.

use rand::{Rng, SeedableRng};

const PREDICATES: &[&str] = &[
    "able", "bold", "brave", "bright", "calm", "clean", "clever", "cool", "crisp", "eager", "fair",
    "fast", "fine", "gentle", "glad", "grand", "happy", "keen", "kind", "lucky", "merry", "neat",
    "nice", "noble", "proud", "quick", "quiet", "rare", "shy", "smart", "swift", "tidy", "warm",
    "wise", "zesty",
];
const NOUNS: &[&str] = &[
    "ant", "bass", "bat", "bear", "bee", "carp", "cat", "crab", "crow", "deer", "doe", "dove",
    "duck", "eel", "elk", "finch", "fox", "frog", "goat", "gull", "hare", "hawk", "hen", "jay",
    "koi", "lark", "lynx", "mole", "moth", "newt", "owl", "ox", "pig", "ram", "seal", "slug",
    "snail", "swan", "toad", "wasp", "wolf", "wren", "yak",
];

pub fn random_run_name() -> String {
    let mut rng = rand::rngs::StdRng::from_os_rng();
    let p = PREDICATES[rng.random_range(0..PREDICATES.len())];
    let n = NOUNS[rng.random_range(0..NOUNS.len())];
    format!("{p}-{n}-{}", rng.random_range(0..1000))
}

#[cfg(test)]
mod tests {
    #[test]
    fn names_are_short_and_three_part() {
        for _ in 0..100 {
            let n = super::random_run_name();
            assert!(n.len() <= 20, "{n}");
            assert_eq!(n.split('-').count(), 3);
        }
    }
}
