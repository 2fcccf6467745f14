//! Container names: Docker's validation rule and random `adjective_name` names.

use crate::{Error, Result};

const ADJECTIVES: &[&str] = &[
    "admiring",
    "adoring",
    "agitated",
    "amazing",
    "angry",
    "awesome",
    "blissful",
    "bold",
    "brave",
    "busy",
    "charming",
    "clever",
    "compassionate",
    "confident",
    "cool",
    "dazzling",
    "determined",
    "eager",
    "ecstatic",
    "elastic",
    "elegant",
    "epic",
    "exciting",
    "fervent",
    "festive",
    "focused",
    "friendly",
    "frosty",
    "gallant",
    "gifted",
    "goofy",
    "gracious",
    "happy",
    "hopeful",
    "hungry",
    "infallible",
    "inspiring",
    "jolly",
    "keen",
    "kind",
    "laughing",
    "loving",
    "lucid",
    "magical",
    "modest",
    "musing",
    "nervous",
    "nice",
    "nifty",
    "nostalgic",
    "optimistic",
    "peaceful",
    "pensive",
    "practical",
    "priceless",
    "quirky",
    "quizzical",
    "relaxed",
    "reverent",
    "romantic",
    "serene",
    "sharp",
    "silly",
    "sleepy",
    "stoic",
    "strange",
    "sweet",
    "tender",
    "thirsty",
    "trusting",
    "upbeat",
    "vibrant",
    "vigilant",
    "wizardly",
    "wonderful",
    "xenodochial",
    "youthful",
    "zealous",
];

const NAMES: &[&str] = &[
    "albattani",
    "allen",
    "archimedes",
    "babbage",
    "banach",
    "bardeen",
    "bell",
    "bhabha",
    "borg",
    "bose",
    "brahmagupta",
    "cannon",
    "carson",
    "cerf",
    "chandrasekhar",
    "curie",
    "darwin",
    "dijkstra",
    "einstein",
    "euclid",
    "euler",
    "faraday",
    "fermat",
    "fermi",
    "feynman",
    "galileo",
    "gauss",
    "goldberg",
    "goodall",
    "hamilton",
    "hawking",
    "heisenberg",
    "hopper",
    "hypatia",
    "jackson",
    "johnson",
    "kepler",
    "khorana",
    "knuth",
    "lamarr",
    "lamport",
    "leakey",
    "lovelace",
    "margulis",
    "mayer",
    "mccarthy",
    "meitner",
    "mendel",
    "mirzakhani",
    "morse",
    "napier",
    "newton",
    "noether",
    "pascal",
    "pasteur",
    "perlman",
    "planck",
    "poincare",
    "ptolemy",
    "ramanujan",
    "ritchie",
    "shannon",
    "shockley",
    "sinoussi",
    "snyder",
    "swartz",
    "tesla",
    "thompson",
    "torvalds",
    "turing",
    "volhard",
    "wescoff",
    "wiles",
    "williams",
    "wozniak",
    "wright",
    "yalow",
    "yonath",
];

/// Check a user-given name (a leading `/` allowed) and return it without the slash.
pub fn validate(name: &str) -> Result<String> {
    let bare = name.strip_prefix('/').unwrap_or(name);
    let mut chars = bare.chars();
    let ok = match chars.next() {
        Some(c) if c.is_ascii_alphanumeric() => {
            bare.len() >= 2
                && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
        }
        _ => false,
    };
    if ok {
        Ok(bare.to_string())
    } else {
        Err(Error::invalid(format!(
            "Invalid container name ({name}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed"
        )))
    }
}

/// A random `adjective_name`, with a number appended after `attempt` 0.
pub fn generate(random: u64, attempt: u32) -> String {
    let a = ADJECTIVES[(random % ADJECTIVES.len() as u64) as usize];
    let n = NAMES[((random >> 16) % NAMES.len() as u64) as usize];
    if attempt == 0 {
        format!("{a}_{n}")
    } else {
        format!("{a}_{n}{}", random % 10 + u64::from(attempt))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validates_like_docker() {
        assert_eq!(validate("/web").expect("ok"), "web");
        assert_eq!(validate("a.b_c-1").expect("ok"), "a.b_c-1");
        for bad in ["", "/", "a", "-web", "we b", "web/x", "_x"] {
            let e = validate(bad).expect_err(bad);
            assert_eq!(e.kind, crate::ErrorKind::InvalidArgument);
        }
    }

    #[test]
    fn generated_names_are_valid() {
        for r in [0u64, 1, 12345, u64::MAX] {
            let n = generate(r, 0);
            validate(&n).expect("valid");
            assert!(n.contains('_'));
            validate(&generate(r, 3)).expect("valid");
        }
    }
}
