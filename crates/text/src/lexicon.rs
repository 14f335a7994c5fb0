//! Finding a lexicon's phrases in a text at once (Aho–Corasick over all phrases), for the
//! sensitive-word warnings and the intake's fast track. A phrase right after a negation
//! (`没有`, `无`, `未`, `不是`) does not count: "没有火灾" names no fire.

use aho_corasick::{AhoCorasick, MatchKind};

/// What comes right before a phrase to deny it.
const NEGATIONS: &[&str] = &["没有", "没", "无", "未", "不是", "并非"];

#[derive(Debug, Clone)]
pub struct Matcher {
    ac: Option<AhoCorasick>,
    phrases: usize,
}

impl Matcher {
    /// A matcher for these phrases; a hit is the phrase's index in `phrases`.
    pub fn new<S: AsRef<str>>(phrases: &[S]) -> Matcher {
        let ac = AhoCorasick::builder()
            .match_kind(MatchKind::Standard)
            .build(phrases.iter().map(|p| p.as_ref()))
            .ok()
            .filter(|_| !phrases.is_empty());
        Matcher { ac, phrases: phrases.len() }
    }

    pub fn len(&self) -> usize {
        self.phrases
    }

    pub fn is_empty(&self) -> bool {
        self.phrases == 0
    }

    /// The phrases the texts hold (indices, ascending, each once), negated ones left out.
    pub fn hits(&self, texts: &[&str]) -> Vec<u32> {
        let Some(ac) = &self.ac else { return Vec::new() };
        let mut out: Vec<u32> = Vec::new();
        for text in texts {
            for m in ac.find_overlapping_iter(*text) {
                let before = &text[..m.start()];
                if NEGATIONS.iter().any(|n| before.ends_with(n)) {
                    continue;
                }
                out.push(m.pattern().as_u32());
            }
        }
        out.sort_unstable();
        out.dedup();
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_every_phrase_once_and_skips_negated_ones() {
        let m = Matcher::new(&["燃气泄漏", "泄漏", "跳楼", "火灾"]);
        assert_eq!(m.hits(&["楼道里燃气泄漏，有人说要跳楼", "又是燃气泄漏"]), vec![0, 1, 2]);
        assert_eq!(m.hits(&["检查后没有火灾隐患"]), Vec::<u32>::new());
        assert_eq!(m.hits(&["昨晚发生火灾"]), vec![3]);
        assert!(Matcher::new::<&str>(&[]).hits(&["火灾"]).is_empty());
    }
}
