//! Automatic classification (智能分类派单). A model is trained on the cases whose category
//! people confirmed (closed cases, and cases a member of staff filed, so every correction
//! of a suggestion is training data), versioned in the database with its cross-validated
//! figures; every server uses the active version. At intake it suggests categories with
//! their confidence; when the confidence reaches the threshold an administrator set, the
//! outbox worker files and dispatches the case itself, recording the model and confidence.
//!
//! Labels are categories at the depth the data supports: a category with fewer than
//! `MIN_PER_LABEL` confirmed cases is learned as its parent. Filing needs a leaf, so a
//! confident prediction above the leaves files the case only under the reporter's own
//! choice when that lies inside it; otherwise it stays a suggestion for the dispatcher.

use crate::cases::Command;
use crate::{App, AppError, Result};
use serde::Serialize;
use serde_json::json;
use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use wuzhi_domain::Actor;
use wuzhi_domain::work::{Caller, System};
use wuzhi_store::cases::CategoryRow;
use wuzhi_text::{Example, Model, Options};

/// Fewest confirmed cases for a category to be learned on its own.
pub const MIN_PER_LABEL: usize = 10;
/// Most cases a training reads (the newest).
const MAX_TRAINING: i64 = 200_000;
const THRESHOLD: &str = "auto_dispatch_threshold";

#[derive(Default)]
pub struct Cache {
    model: RwLock<Option<(i64, Arc<Model>)>>,
}

/// The active model, loaded when its version changed.
pub async fn active(app: &App) -> Result<Option<(i64, Arc<Model>)>> {
    let mut conn = app.db.read().await?;
    let Some(id) = wuzhi_store::text::active_model_id(&mut conn).await? else {
        return Ok(None);
    };
    if let Some((v, m)) = app.classifier.model.read().unwrap_or_else(|e| e.into_inner()).as_ref() {
        if *v == id {
            return Ok(Some((id, m.clone())));
        }
    }
    let Some(text) = wuzhi_store::text::model_json(&mut conn, id).await? else {
        return Ok(None);
    };
    drop(conn);
    let m = tokio::task::spawn_blocking(move || Model::from_json(&text))
        .await
        .map_err(|e| AppError::Internal(e.to_string()))?
        .map_err(AppError::Internal)?;
    let m = Arc::new(m);
    *app.classifier.model.write().unwrap_or_else(|e| e.into_inner()) = Some((id, m.clone()));
    Ok(Some((id, m)))
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ClassFigures {
    pub code: String,
    pub name: String,
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
    pub support: usize,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ThresholdFigures {
    pub threshold: f32,
    /// Share of cases the model would file alone at this threshold.
    pub coverage: f64,
    /// Share of those it files under the right category.
    pub precision: f64,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ModelView {
    pub version: i64,
    pub created_at_ms: i64,
    pub created_by: Option<i64>,
    pub examples: i64,
    pub labels: i64,
    /// 5-fold cross-validated.
    pub accuracy: f64,
    pub macro_f1: f64,
    pub classes: Vec<ClassFigures>,
    pub thresholds: Vec<ThresholdFigures>,
    pub active: bool,
}

#[derive(Serialize, serde::Deserialize)]
struct StoredReport {
    classes: Vec<(String, f64, f64, f64, usize)>,
    thresholds: Vec<(f32, f64, f64)>,
}

fn model_view(r: wuzhi_store::text::ModelRow, names: &HashMap<String, CategoryRow>) -> ModelView {
    let rep: StoredReport =
        serde_json::from_str(&r.report).unwrap_or(StoredReport { classes: vec![], thresholds: vec![] });
    ModelView {
        version: r.id,
        created_at_ms: r.created_at_ms,
        created_by: r.created_by,
        examples: r.examples,
        labels: r.labels,
        accuracy: r.accuracy,
        macro_f1: r.macro_f1,
        classes: rep
            .classes
            .into_iter()
            .map(|(code, precision, recall, f1, support)| ClassFigures {
                name: names.get(&code).map(|c| c.name.clone()).unwrap_or_default(),
                code,
                precision,
                recall,
                f1,
                support,
            })
            .collect(),
        thresholds: rep
            .thresholds
            .into_iter()
            .map(|(threshold, coverage, precision)| ThresholdFigures { threshold, coverage, precision })
            .collect(),
        active: r.active,
    }
}

async fn categories(app: &App) -> Result<HashMap<String, CategoryRow>> {
    let mut conn = app.db.read().await?;
    Ok(wuzhi_store::cases::categories(&mut conn).await?.into_iter().map(|c| (c.code.clone(), c)).collect())
}

/// The label each confirmed category is learned as: itself when it has at least
/// `MIN_PER_LABEL` cases in its subtree, else its nearest ancestor that has.
fn labels_for(codes: &[String], cats: &HashMap<String, CategoryRow>) -> HashMap<String, String> {
    let chain = |c: &str| {
        let mut v = vec![c.to_owned()];
        let mut at = c.to_owned();
        while let Some(p) = cats.get(&at).and_then(|r| r.parent_code.clone()) {
            v.push(p.clone());
            at = p;
        }
        v
    };
    let mut subtree: HashMap<String, usize> = HashMap::new();
    for c in codes {
        for a in chain(c) {
            *subtree.entry(a).or_default() += 1;
        }
    }
    let mut out = HashMap::new();
    for c in codes {
        if out.contains_key(c) {
            continue;
        }
        if let Some(l) = chain(c).into_iter().find(|a| subtree.get(a).copied().unwrap_or(0) >= MIN_PER_LABEL) {
            out.insert(c.clone(), l);
        }
    }
    out
}

/// The examples of a training: the confirmed cases under the labels they count for.
struct Prepared {
    examples: Vec<Example>,
    labels: i64,
    cats: HashMap<String, CategoryRow>,
}

/// Reads the confirmed cases and checks there are enough to train on.
async fn prepare(app: &App) -> Result<Prepared> {
    let rows = {
        let mut conn = app.db.read().await?;
        wuzhi_store::text::training_cases(&mut conn, MAX_TRAINING).await?
    };
    let cats = categories(app).await?;
    let codes: Vec<String> = rows.iter().map(|r| r.2.clone()).collect();
    let label_of = labels_for(&codes, &cats);
    let examples: Vec<Example> = rows
        .iter()
        .filter_map(|(s, d, c)| label_of.get(c).map(|l| Example { text: format!("{s} {s} {d}"), label: l.clone() }))
        .collect();
    let mut distinct: Vec<&str> = examples.iter().map(|e| e.label.as_str()).collect();
    distinct.sort();
    distinct.dedup();
    if examples.len() < 2 * MIN_PER_LABEL || distinct.len() < 2 {
        return Err(AppError::invalid(
            "cases",
            format!(
                "training needs confirmed cases of at least two categories with {MIN_PER_LABEL} each; there are {} \
                 confirmed cases in {} such categories",
                examples.len(),
                distinct.len()
            ),
        ));
    }
    let labels = distinct.len() as i64;
    Ok(Prepared { examples, labels, cats })
}

/// The job kind of a training.
pub const TRAINING_JOB: &str = "text.train_classifier";

/// Queues a training of a new version on the confirmed cases (it takes tens of seconds, so it
/// runs as a background job; the answer is the job, whose result is the new version). Too few
/// confirmed cases are refused at once.
pub async fn queue_training(app: &App, actor: &Actor) -> Result<crate::jobs::JobView> {
    crate::require_city_admin(Caller::Person(actor), "train the classifier")?;
    prepare(app).await?;
    crate::jobs::enqueue(app, TRAINING_JOB, Some(actor.person_id), false, None).await
}

/// The runner of [`TRAINING_JOB`].
pub(crate) fn training_job<'a>(
    app: &'a std::sync::Arc<App>,
    requested_by: Option<i64>,
    _params: Option<serde_json::Value>,
    progress: crate::jobs::Progress,
) -> futures_util::future::BoxFuture<'a, Result<serde_json::Value>> {
    Box::pin(async move {
        progress.report("reading", 0.05).await?;
        let actor = match requested_by {
            Some(p) => Some(app.actor(p).await?),
            None => None,
        };
        let caller = actor.as_ref().map_or(Caller::System(System::CommandLine), Caller::Person);
        // Still an administrator when the job runs.
        crate::require_city_admin(caller, "train the classifier")?;
        let m = fit(app, caller, Some(&progress)).await?;
        Ok(serde_json::to_value(m).unwrap_or_default())
    })
}

/// Trains a new model version on the confirmed cases and makes it active, here and now (the
/// command line; the pages queue a job: [`queue_training`]).
pub async fn train(app: &App, caller: Caller<'_>) -> Result<ModelView> {
    crate::require_city_admin(caller, "train the classifier")?;
    fit(app, caller, None).await
}

async fn fit(app: &App, caller: Caller<'_>, progress: Option<&crate::jobs::Progress>) -> Result<ModelView> {
    let actor = caller.person();
    let started = std::time::Instant::now();
    let Prepared { examples, labels, cats } = prepare(app).await?;
    if let Some(p) = progress {
        p.report("training", 0.15).await?;
    }
    let (model, heldout) = tokio::task::spawn_blocking(move || {
        let h = wuzhi_text::cross_validate_heldout(&examples, 5, Options::default())?;
        let m = wuzhi_text::train(&examples, Options::default())?;
        Ok::<_, String>((m, h))
    })
    .await
    .map_err(|e| AppError::Internal(e.to_string()))?
    .map_err(AppError::Internal)?;
    let t: Vec<&str> = heldout.iter().map(|x| x.truth.as_str()).collect();
    let p: Vec<&str> = heldout.iter().map(|x| x.predicted.as_str()).collect();
    let rep = wuzhi_text::report(&t, &p);
    let stored = StoredReport { classes: rep.classes.clone(), thresholds: wuzhi_text::threshold_table(&heldout) };
    let now = app.now_ms();
    let row = wuzhi_store::text::ModelRow {
        id: 0,
        created_at_ms: now,
        created_by: actor.map(|a| a.person_id),
        examples: heldout.len() as i64,
        labels,
        accuracy: rep.accuracy,
        macro_f1: rep.macro_f1,
        report: serde_json::to_string(&stored).unwrap_or_default(),
        active: true,
    };
    if let Some(p) = progress {
        p.report("saving", 0.95).await?;
    }
    let mut tx = app.db.write().await?;
    let id = wuzhi_store::text::insert_model(&mut tx, &row, &model.to_json()).await?;
    crate::audit::record(
        &mut tx,
        now,
        actor,
        "train_classifier",
        "text_model",
        &id.to_string(),
        json!({"examples": row.examples, "labels": labels, "macro_f1": rep.macro_f1, "accuracy": rep.accuracy}),
    )
    .await?;
    wuzhi_store::commit(tx).await?;
    tracing::info!(
        version = id,
        examples = row.examples,
        macro_f1 = rep.macro_f1,
        seconds = started.elapsed().as_secs_f64(),
        "classifier trained"
    );
    Ok(model_view(wuzhi_store::text::ModelRow { id, ..row }, &cats))
}

pub async fn models(app: &App, actor: &Actor) -> Result<Vec<ModelView>> {
    crate::require_city_admin(Caller::Person(actor), "read the classifier's versions")?;
    let cats = categories(app).await?;
    let mut conn = app.db.read().await?;
    Ok(wuzhi_store::text::models(&mut conn).await?.into_iter().map(|r| model_view(r, &cats)).collect())
}

/// Makes an earlier (or later) version the active one.
pub async fn activate(app: &App, actor: &Actor, version: i64) -> Result<()> {
    crate::require_city_admin(Caller::Person(actor), "choose the classifier's version")?;
    let mut tx = app.db.write().await?;
    if !wuzhi_store::text::activate_model(&mut tx, version).await? {
        return Err(AppError::not_found(format!("classifier version {version}")));
    }
    crate::audit::record(
        &mut tx,
        app.now_ms(),
        Some(actor),
        "activate_classifier",
        "text_model",
        &version.to_string(),
        json!({}),
    )
    .await?;
    wuzhi_store::commit(tx).await?;
    Ok(())
}

#[derive(Debug, Clone, Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct ClassifierSettings {
    /// From 0.5 to 1: a case whose best category has at least this confidence is filed and
    /// dispatched without a dispatcher. None: never.
    pub auto_dispatch_threshold: Option<f64>,
}

pub async fn settings(app: &App) -> Result<ClassifierSettings> {
    let mut conn = app.db.read().await?;
    let t = wuzhi_store::text::setting(&mut conn, THRESHOLD).await?.and_then(|v| v.parse::<f64>().ok());
    Ok(ClassifierSettings { auto_dispatch_threshold: t })
}

pub async fn set_settings(app: &App, caller: Caller<'_>, s: &ClassifierSettings) -> Result<ClassifierSettings> {
    let actor = caller.person();
    crate::require_city_admin(caller, "set the automatic dispatch threshold")?;
    if let Some(t) = s.auto_dispatch_threshold {
        if !(0.5..=1.0).contains(&t) {
            return Err(AppError::invalid("auto_dispatch_threshold", "must be from 0.5 to 1, or null to turn it off"));
        }
    }
    let mut tx = app.db.write().await?;
    let v = s.auto_dispatch_threshold.map(|t| t.to_string());
    wuzhi_store::text::set_setting(&mut tx, THRESHOLD, v.as_deref()).await?;
    crate::audit::record(&mut tx, app.now_ms(), actor, "set_auto_dispatch", "text_settings", THRESHOLD, json!(s))
        .await?;
    wuzhi_store::commit(tx).await?;
    Ok(s.clone())
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Suggestion {
    pub code: String,
    pub name: String,
    /// The names from the top of the tree down to this category.
    pub path: Vec<String>,
    pub confidence: f32,
    /// A leaf can be filed under as it is; above the leaves it narrows the choice.
    pub leaf: bool,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Suggestions {
    /// The model version that made them; none when no model was trained yet.
    pub model_version: Option<i64>,
    pub auto_dispatch_threshold: Option<f64>,
    pub suggestions: Vec<Suggestion>,
}

fn path_of(code: &str, cats: &HashMap<String, CategoryRow>) -> Vec<String> {
    let mut v = Vec::new();
    let mut at = Some(code.to_owned());
    while let Some(c) = at {
        let Some(r) = cats.get(&c) else { break };
        v.push(r.name.clone());
        at = r.parent_code.clone();
    }
    v.reverse();
    v
}

/// The most likely categories of a text (best first, at most three, each at least 5 %).
pub async fn suggest(app: &App, subject: &str, detail: &str) -> Result<Suggestions> {
    let subject = subject.trim();
    let detail = detail.trim();
    if subject.is_empty() && detail.is_empty() {
        return Err(AppError::invalid("subject", "give a subject or a detail to classify"));
    }
    if subject.chars().count() > 200 || detail.chars().count() > 5000 {
        return Err(AppError::invalid("detail", "is too long (subject 200, detail 5,000 characters)"));
    }
    let threshold = settings(app).await?.auto_dispatch_threshold;
    let Some((version, model)) = active(app).await? else {
        return Ok(Suggestions { model_version: None, auto_dispatch_threshold: threshold, suggestions: vec![] });
    };
    let text = format!("{subject} {subject} {detail}");
    let scores = model.scores(&text);
    let cats = categories(app).await?;
    let suggestions = scores
        .into_iter()
        .take(3)
        .filter(|(_, p)| *p >= 0.05)
        .map(|(code, confidence)| Suggestion {
            name: cats.get(&code).map(|c| c.name.clone()).unwrap_or_default(),
            path: path_of(&code, &cats),
            leaf: cats.get(&code).is_some_and(|c| c.accept_limit.is_some()),
            code,
            confidence,
        })
        .collect();
    Ok(Suggestions { model_version: Some(version), auto_dispatch_threshold: threshold, suggestions })
}

/// Files and dispatches newly reported cases whose best category reaches the threshold.
/// Called by the outbox worker after it committed; a case someone already took up, or one
/// the rules cannot route, is left to the dispatchers. Returns how many were dispatched.
pub(crate) async fn auto_dispatch(app: &App, case_ids: &[i64]) -> Result<usize> {
    if case_ids.is_empty() {
        return Ok(0);
    }
    let Some(threshold) = settings(app).await?.auto_dispatch_threshold else {
        return Ok(0);
    };
    let Some((version, model)) = active(app).await? else {
        return Ok(0);
    };
    let rows = {
        let mut conn = app.db.read().await?;
        wuzhi_store::cases::by_ids(&mut conn, case_ids).await?
    };
    let cats = categories(app).await?;
    let mut done = 0;
    for r in rows {
        if r.status != "reported" {
            continue;
        }
        let text = format!("{s} {s} {d}", s = r.subject, d = r.description);
        let Some((label, confidence)) = model.scores(&text).into_iter().next() else { continue };
        if (confidence as f64) < threshold {
            continue;
        }
        let is_leaf = |c: &str| cats.get(c).is_some_and(|c| c.accept_limit.is_some());
        let category = if is_leaf(&label) {
            label.clone()
        } else {
            match &r.category_code {
                Some(mine) if is_leaf(mine) && mine.starts_with(&label) => mine.clone(),
                _ => continue,
            }
        };
        let note = json!({"by": "model", "model_version": version, "confidence": confidence, "predicted": label});
        let filed = crate::cases::take(
            app,
            Caller::System(System::Classifier),
            r.id,
            Command::File { category: Some(category), priority: None },
            Some(note.clone()),
        )
        .await;
        if let Err(e) = filed {
            tracing::info!(case = r.id, error = %e, "automatic filing left to the dispatchers");
            continue;
        }
        match crate::cases::take(
            app,
            Caller::System(System::Classifier),
            r.id,
            Command::Dispatch { org_id: None, assign: false },
            Some(note),
        )
        .await
        {
            Ok(()) => done += 1,
            Err(e) => tracing::info!(case = r.id, error = %e, "automatic dispatch left to the dispatchers"),
        }
    }
    Ok(done)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cat(code: &str, parent: Option<&str>) -> (String, CategoryRow) {
        (
            code.to_owned(),
            CategoryRow {
                code: code.into(),
                name: code.into(),
                parent_code: parent.map(Into::into),
                ..Default::default()
            },
        )
    }

    #[test]
    fn rare_categories_are_learned_as_their_parent() {
        let cats: HashMap<String, CategoryRow> =
            [cat("H", None), cat("H01", Some("H")), cat("H0101", Some("H01")), cat("H0102", Some("H01"))].into();
        let mut codes = vec!["H0101".to_owned(); 12];
        codes.extend(vec!["H0102".to_owned(); 3]);
        let l = labels_for(&codes, &cats);
        assert_eq!(l["H0101"], "H0101");
        assert_eq!(l["H0102"], "H01");
    }
}
