//! `wuzhi classify train|eval` and `wuzhi bench classify`: the text classifier on any
//! labelled CSV with columns `subject,detail,label`.

use std::time::Instant;
use wuzhi_text::{Example, Model, Options, Report};

pub fn read(path: &std::path::Path) -> Result<Vec<Example>, String> {
    let mut rdr = csv::Reader::from_path(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let headers = rdr.headers().map_err(|e| format!("{}: {e}", path.display()))?.clone();
    let col = |n: &str| {
        headers.iter().position(|h| h == n).ok_or_else(|| format!("{}: line 1: no `{n}` column", path.display()))
    };
    let (s, d, l) = (col("subject")?, col("detail")?, col("label")?);
    let mut rows = Vec::new();
    for rec in rdr.records() {
        let rec = rec.map_err(|e| format!("{}: {e}", path.display()))?;
        let get = |i: usize| rec.get(i).unwrap_or("").to_owned();
        rows.push((get(s), get(d), get(l)));
    }
    let examples = wuzhi_text::examples_from_csv(&rows);
    if examples.is_empty() {
        return Err(format!("{}: no labelled rows", path.display()));
    }
    Ok(examples)
}

fn print_classes(r: &Report) {
    println!("{:<16} {:>9} {:>9} {:>9} {:>8}", "class", "precision", "recall", "f1", "support");
    for (label, p, rc, f1, n) in &r.classes {
        println!("{label:<16} {p:>9.4} {rc:>9.4} {f1:>9.4} {n:>8}");
    }
}

/// Trains on the whole file and writes the model; first reports 5-fold cross-validated
/// per-class precision, recall and F1.
pub fn train(input: &std::path::Path, model: &std::path::Path) -> Result<(), String> {
    let examples = read(input)?;
    let t0 = Instant::now();
    let cv = wuzhi_text::cross_validate(&examples, 5, Options::default())?;
    let cv_s = t0.elapsed().as_secs_f64();
    print_classes(&cv);
    println!("cv_accuracy: {:.4}", cv.accuracy);
    println!("cv_macro_f1: {:.4}", cv.macro_f1);
    let t0 = Instant::now();
    let m = wuzhi_text::train(&examples, Options::default())?;
    let train_s = t0.elapsed().as_secs_f64();
    std::fs::write(model, m.to_json()).map_err(|e| format!("{}: {e}", model.display()))?;
    println!(
        "training_seconds: {train_s:.2} s ({} texts, {} features; 5-fold cross-validation {cv_s:.1} s)",
        examples.len(),
        m.features()
    );
    Ok(())
}

/// Scores a saved model on a labelled file.
pub fn eval(input: &std::path::Path, model: &std::path::Path) -> Result<(), String> {
    let m = Model::from_json(&std::fs::read_to_string(model).map_err(|e| format!("{}: {e}", model.display()))?)?;
    let examples = read(input)?;
    let predicted: Vec<&str> = examples.iter().map(|e| m.predict(&e.text)).collect();
    let truth: Vec<&str> = examples.iter().map(|e| e.label.as_str()).collect();
    let r = wuzhi_text::report(&truth, &predicted);
    print_classes(&r);
    println!("accuracy: {:.4}", r.accuracy);
    println!("macro_f1: {:.4}", r.macro_f1);
    Ok(())
}

/// 5-fold cross-validated macro-F1, training time, and texts classified per second on
/// one core.
pub fn bench(input: &std::path::Path, opt: Options) -> Result<(), String> {
    let examples = read(input)?;
    let t0 = Instant::now();
    let cv = wuzhi_text::cross_validate(&examples, 5, opt)?;
    println!("classify_options: C={} max_n={} min_df={} epochs={}", opt.c, opt.max_n, opt.min_df, opt.epochs);
    println!("classify_cv_accuracy: {:.4}", cv.accuracy);
    println!("classify_cv_macro_f1: {:.4}", cv.macro_f1);
    println!("classify_cv_seconds: {:.1} s", t0.elapsed().as_secs_f64());
    let t0 = Instant::now();
    let m = wuzhi_text::train(&examples, opt)?;
    println!("classify_training_seconds: {:.2} s ({} texts)", t0.elapsed().as_secs_f64(), examples.len());
    let t0 = Instant::now();
    let mut n = 0usize;
    while t0.elapsed().as_secs_f64() < 3.0 {
        for e in &examples {
            std::hint::black_box(m.predict(&e.text));
            n += 1;
        }
    }
    let mean_chars = examples.iter().map(|e| e.text.chars().count()).sum::<usize>() / examples.len();
    println!(
        "classify_texts_per_second: {:.0} texts/s (one core, {mean_chars} characters a text on average)",
        n as f64 / t0.elapsed().as_secs_f64()
    );
    Ok(())
}
