//! Chinese text classification, pure: a message becomes a sparse vector of character
//! 1–2-grams (Chinese needs no word segmentation for this: bigrams carry most words),
//! weighted by sublinear TF × IDF and L2-normalised; a one-vs-rest linear SVM (L2-loss,
//! trained by dual coordinate descent as LIBLINEAR does) scores the classes. Models
//! serialise to JSON; n-grams are kept as 64-bit hashes, so the vocabulary is compact and
//! featurising allocates nothing per n-gram.

pub mod lexicon;
pub mod search;
pub mod similar;

use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// A labelled text.
#[derive(Debug, Clone)]
pub struct Example {
    pub text: String,
    pub label: String,
}

/// Training options.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    /// Longest n-gram.
    pub max_n: usize,
    /// An n-gram must occur in this many training texts to be a feature.
    pub min_df: u32,
    /// The SVM's C.
    pub c: f32,
    pub epochs: usize,
}

impl Default for Options {
    fn default() -> Self {
        // Chosen by 5-fold cross-validation on messages_train.csv (see BENCHMARKS.md).
        Options { max_n: 2, min_df: 2, c: 2.0, epochs: 25 }
    }
}

/// A trained classifier.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Model {
    pub version: u32,
    pub max_n: usize,
    pub labels: Vec<String>,
    /// n-gram hash → feature index.
    vocab: HashMap<u64, u32>,
    idf: Vec<f32>,
    /// One weight row per label (the last weight of each is its bias).
    weights: Vec<Vec<f32>>,
}

/// FNV-1a over the n-gram's characters.
fn hash_chars(cs: &[char]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for c in cs {
        for b in (*c as u32).to_le_bytes() {
            h ^= b as u64;
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    }
    h
}

/// The characters that carry meaning: letters, digits and CJK, lower-cased; the rest
/// (punctuation, spaces) separate runs.
fn normalise(text: &str) -> Vec<char> {
    let mut out = Vec::with_capacity(text.len() / 2);
    for c in text.chars() {
        if c.is_alphanumeric() {
            out.extend(c.to_lowercase());
        } else if out.last() != Some(&' ') {
            out.push(' ');
        }
    }
    out
}

/// The hashed n-grams of a text with their counts (n-grams do not cross separators).
fn ngrams(text: &str, max_n: usize) -> HashMap<u64, u32> {
    let cs = normalise(text);
    let mut out: HashMap<u64, u32> = HashMap::with_capacity(cs.len() * max_n);
    for i in 0..cs.len() {
        if cs[i] == ' ' {
            continue;
        }
        for n in 1..=max_n {
            let Some(gram) = cs.get(i..i + n) else { break };
            if gram.contains(&' ') {
                break;
            }
            *out.entry(hash_chars(gram)).or_default() += 1;
        }
    }
    out
}

type Sparse = Vec<(u32, f32)>;

fn dot(w: &[f32], x: &Sparse) -> f32 {
    x.iter().map(|(i, v)| w[*i as usize] * v).sum::<f32>() + w[w.len() - 1]
}

impl Model {
    /// The TF-IDF vector of a text over this model's features.
    fn featurise(&self, text: &str) -> Sparse {
        let mut x: Sparse = ngrams(text, self.max_n)
            .into_iter()
            .filter_map(|(h, tf)| self.vocab.get(&h).map(|&i| (i, (1.0 + (tf as f32).ln()) * self.idf[i as usize])))
            .collect();
        let norm = x.iter().map(|(_, v)| v * v).sum::<f32>().sqrt();
        if norm > 0.0 {
            for (_, v) in &mut x {
                *v /= norm;
            }
        }
        x.sort_unstable_by_key(|(i, _)| *i);
        x
    }

    /// Every label with its score, best first. Scores are softmax-normalised margins: a
    /// confidence in [0, 1] that sums to one.
    pub fn scores(&self, text: &str) -> Vec<(String, f32)> {
        let x = self.featurise(text);
        let raw: Vec<f32> = self.weights.iter().map(|w| dot(w, &x)).collect();
        let max = raw.iter().cloned().fold(f32::MIN, f32::max);
        // Margins are about ±1; a temperature of 0.25 spreads them into useful confidences.
        let exp: Vec<f32> = raw.iter().map(|s| ((s - max) / 0.25).exp()).collect();
        let sum: f32 = exp.iter().sum();
        let mut out: Vec<(String, f32)> = self.labels.iter().cloned().zip(exp.iter().map(|e| e / sum)).collect();
        out.sort_by(|a, b| b.1.total_cmp(&a.1));
        out
    }

    pub fn predict(&self, text: &str) -> &str {
        let x = self.featurise(text);
        let best = self
            .weights
            .iter()
            .map(|w| dot(w, &x))
            .enumerate()
            .max_by(|a, b| a.1.total_cmp(&b.1))
            .map(|(i, _)| i)
            .unwrap_or(0);
        &self.labels[best]
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("a model serialises")
    }

    pub fn from_json(text: &str) -> Result<Model, String> {
        let m: Model = serde_json::from_str(text).map_err(|e| format!("not a wuzhi text model: {e}"))?;
        if m.version != 1 || m.weights.len() != m.labels.len() {
            return Err("not a wuzhi text model of version 1".into());
        }
        Ok(m)
    }

    pub fn features(&self) -> usize {
        self.idf.len()
    }
}

/// Trains a model on `examples`.
pub fn train(examples: &[Example], opt: Options) -> Result<Model, String> {
    if examples.is_empty() {
        return Err("no examples to train on".into());
    }
    let mut labels: Vec<String> = examples.iter().map(|e| e.label.clone()).collect();
    labels.sort();
    labels.dedup();
    if labels.len() < 2 {
        return Err("training needs at least two labels".into());
    }
    // Vocabulary by document frequency.
    let grams: Vec<HashMap<u64, u32>> = examples.iter().map(|e| ngrams(&e.text, opt.max_n)).collect();
    let mut df: HashMap<u64, u32> = HashMap::new();
    for g in &grams {
        for h in g.keys() {
            *df.entry(*h).or_default() += 1;
        }
    }
    let n = examples.len() as f32;
    let mut vocab = HashMap::new();
    let mut idf = Vec::new();
    let mut kept: Vec<(u64, u32)> = df.into_iter().filter(|(_, d)| *d >= opt.min_df).collect();
    kept.sort_unstable();
    for (h, d) in kept {
        vocab.insert(h, idf.len() as u32);
        idf.push(((1.0 + n) / (1.0 + d as f32)).ln() + 1.0);
    }
    let mut model = Model { version: 1, max_n: opt.max_n, labels, vocab, idf, weights: vec![] };
    let xs: Vec<Sparse> = examples.iter().map(|e| model.featurise(&e.text)).collect();
    let dims = model.idf.len() + 1;
    // One-vs-rest L2-loss SVM, dual coordinate descent with a fixed visiting order per
    // epoch (a deterministic shuffle), bias as a constant feature of value 1.
    let qii: Vec<f32> = xs.iter().map(|x| x.iter().map(|(_, v)| v * v).sum::<f32>() + 1.0).collect();
    let diag = 0.5 / opt.c;
    let mut order: Vec<usize> = (0..xs.len()).collect();
    for label in model.labels.clone() {
        let y: Vec<f32> = examples.iter().map(|e| if e.label == label { 1.0 } else { -1.0 }).collect();
        let mut w = vec![0f32; dims];
        let mut alpha = vec![0f32; xs.len()];
        let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
        for _ in 0..opt.epochs {
            for i in (1..order.len()).rev() {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                order.swap(i, (seed % (i as u64 + 1)) as usize);
            }
            let mut max_pg = 0f32;
            for &i in &order {
                let g = y[i] * dot(&w, &xs[i]) - 1.0 + diag * alpha[i];
                let pg = if alpha[i] == 0.0 { g.min(0.0) } else { g };
                max_pg = max_pg.max(pg.abs());
                if pg.abs() > 1e-6 {
                    let old = alpha[i];
                    alpha[i] = (alpha[i] - g / (qii[i] + diag)).max(0.0);
                    let d = (alpha[i] - old) * y[i];
                    for (j, v) in &xs[i] {
                        w[*j as usize] += d * v;
                    }
                    w[dims - 1] += d;
                }
            }
            if max_pg < 1e-3 {
                break;
            }
        }
        model.weights.push(w);
    }
    Ok(model)
}

/// Per-class and overall figures of predictions against the truth.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub accuracy: f64,
    pub macro_f1: f64,
    /// (label, precision, recall, f1, support)
    pub classes: Vec<(String, f64, f64, f64, usize)>,
}

pub fn report(truth: &[&str], predicted: &[&str]) -> Report {
    let mut labels: Vec<&str> = truth.iter().chain(predicted.iter()).copied().collect();
    labels.sort();
    labels.dedup();
    let correct = truth.iter().zip(predicted).filter(|(a, b)| a == b).count();
    let mut classes = Vec::new();
    for l in &labels {
        let tp = truth.iter().zip(predicted).filter(|(t, p)| *t == l && *p == l).count() as f64;
        let fp = truth.iter().zip(predicted).filter(|(t, p)| *t != l && *p == l).count() as f64;
        let support = truth.iter().filter(|t| *t == l).count();
        let precision = if tp + fp > 0.0 { tp / (tp + fp) } else { 0.0 };
        let recall = if support > 0 { tp / support as f64 } else { 0.0 };
        let f1 = if precision + recall > 0.0 { 2.0 * precision * recall / (precision + recall) } else { 0.0 };
        if support > 0 {
            classes.push((l.to_string(), precision, recall, f1, support));
        }
    }
    let macro_f1 = classes.iter().map(|c| c.3).sum::<f64>() / classes.len().max(1) as f64;
    Report { accuracy: correct as f64 / truth.len().max(1) as f64, macro_f1, classes }
}

/// One held-out prediction of a cross-validation: the truth, the predicted label and the
/// model's confidence in it.
#[derive(Debug, Clone, Serialize)]
pub struct Heldout {
    pub truth: String,
    pub predicted: String,
    pub confidence: f32,
}

/// k-fold cross-validation (stratified: each class dealt round-robin over the folds):
/// every example predicted by the model trained on the other folds.
pub fn cross_validate_heldout(examples: &[Example], k: usize, opt: Options) -> Result<Vec<Heldout>, String> {
    let mut fold = vec![0usize; examples.len()];
    let mut seen: HashMap<&str, usize> = HashMap::new();
    for (i, e) in examples.iter().enumerate() {
        let n = seen.entry(e.label.as_str()).or_default();
        fold[i] = *n % k;
        *n += 1;
    }
    let mut out = Vec::with_capacity(examples.len());
    for f in 0..k {
        let train_set: Vec<Example> =
            examples.iter().zip(&fold).filter(|(_, g)| **g != f).map(|(e, _)| e.clone()).collect();
        let model = train(&train_set, opt)?;
        for (e, _) in examples.iter().zip(&fold).filter(|(_, g)| **g == f) {
            let top = model.scores(&e.text).into_iter().next().unwrap_or_default();
            out.push(Heldout { truth: e.label.clone(), predicted: top.0, confidence: top.1 });
        }
    }
    Ok(out)
}

/// k-fold cross-validation; the report over all held-out predictions.
pub fn cross_validate(examples: &[Example], k: usize, opt: Options) -> Result<Report, String> {
    let h = cross_validate_heldout(examples, k, opt)?;
    let t: Vec<&str> = h.iter().map(|x| x.truth.as_str()).collect();
    let p: Vec<&str> = h.iter().map(|x| x.predicted.as_str()).collect();
    Ok(report(&t, &p))
}

/// For automatic filing: at each confidence threshold, the share of held-out texts the
/// model would decide alone (coverage) and how many of those it gets right (precision).
pub fn threshold_table(h: &[Heldout]) -> Vec<(f32, f64, f64)> {
    [0.5f32, 0.6, 0.7, 0.8, 0.85, 0.9, 0.95]
        .iter()
        .map(|&t| {
            let over: Vec<&Heldout> = h.iter().filter(|x| x.confidence >= t).collect();
            let right = over.iter().filter(|x| x.truth == x.predicted).count();
            let coverage = over.len() as f64 / h.len().max(1) as f64;
            let precision = if over.is_empty() { 1.0 } else { right as f64 / over.len() as f64 };
            (t, coverage, precision)
        })
        .collect()
}

/// Labelled examples from `(subject, detail, label)` rows; the subject counts twice (it
/// states the matter in a few words), rows without a label are skipped.
pub fn examples_from_csv(rows: &[(String, String, String)]) -> Vec<Example> {
    rows.iter()
        .map(|(s, d, l)| Example { text: format!("{s} {s} {d}"), label: l.trim().to_owned() })
        .filter(|e| !e.label.is_empty())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Vec<Example> {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../data/complaints/messages_sample.csv");
        let mut rdr = csv::Reader::from_path(path).unwrap();
        let rows: Vec<(String, String, String)> = rdr
            .deserialize::<HashMap<String, String>>()
            .map(|r| {
                let r = r.unwrap();
                (r["subject"].clone(), r["detail"].clone(), r["label"].clone())
            })
            .collect();
        examples_from_csv(&rows)
    }

    #[test]
    fn ngrams_stay_inside_runs_of_characters() {
        let g = ngrams("垃圾，A1", 3);
        // 垃, 圾, 垃圾 | a, 1, a1 (and no trigram crosses the comma)
        assert_eq!(g.len(), 6);
        assert_eq!(g[&hash_chars(&['垃', '圾'])], 1);
        assert!(!g.contains_key(&hash_chars(&['圾', ' '])));
    }

    #[test]
    fn real_messages_are_classified_well_above_chance() {
        let all = sample();
        assert_eq!(all.len(), 300);
        let r = cross_validate(&all, 5, Options::default()).unwrap();
        // Seven classes: chance is about 0.22 for the largest; 300 messages are few.
        assert!(r.accuracy > 0.6, "{r:?}");
        assert!(r.macro_f1 > 0.5, "{r:?}");
        assert_eq!(r.classes.iter().map(|c| c.4).sum::<usize>(), 300);
    }

    #[test]
    fn a_model_survives_serialisation() {
        let all = sample();
        let m = train(&all[..200], Options::default()).unwrap();
        let back = Model::from_json(&m.to_json()).unwrap();
        for e in &all[200..] {
            assert_eq!(m.predict(&e.text), back.predict(&e.text));
        }
        let s = back.scores(&all[250].text);
        assert!((s.iter().map(|x| x.1).sum::<f32>() - 1.0).abs() < 1e-4);
        assert_eq!(s[0].0, back.predict(&all[250].text));
        assert!(Model::from_json("{}").is_err());
    }

    #[test]
    fn the_report_counts_by_hand() {
        let r = report(&["a", "a", "b", "b"], &["a", "b", "b", "b"]);
        assert_eq!(r.accuracy, 0.75);
        // a: p 1, r .5, f1 .667; b: p .667, r 1, f1 .8
        assert!((r.macro_f1 - (2.0 / 3.0 + 0.8) / 2.0).abs() < 1e-9);
    }
}
