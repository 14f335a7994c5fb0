//! The case search index: tantivy with Chinese word segmentation by jieba (search mode at
//! indexing, so a long word is also found by its parts), BM25 ranking tempered by recency,
//! filters on territory, unit, reporter, category, status, channel and period, and
//! highlighted snippets. The index knows nothing of the database: the caller feeds it
//! documents and keeps its own cursor in the commit payload.

use jieba_rs::{Jieba, TokenizeMode};
use std::ops::Bound;
use std::path::Path;
use std::sync::{LazyLock, Mutex};
use tantivy::collector::{Count, TopDocs};
use tantivy::query::{AllQuery, BooleanQuery, BoostQuery, Occur, PhraseQuery, Query, RangeQuery, TermQuery};
use tantivy::schema::{
    FAST, Field, INDEXED, IndexRecordOption, STRING, Schema, TantivyDocument, TextFieldIndexing, TextOptions,
};
use tantivy::tokenizer::{LowerCaser, TextAnalyzer, Token, TokenStream, Tokenizer};
use tantivy::{DocAddress, Index, IndexReader, IndexWriter, ReloadPolicy, Score, SegmentReader, Term};

/// The one dictionary (loading it takes a fraction of a second and tens of megabytes).
pub fn jieba() -> &'static Jieba {
    static J: LazyLock<Jieba> = LazyLock::new(Jieba::new);
    &J
}

/// Words of a text in jieba's default mode, lower-cased, without punctuation and spaces.
pub fn words(text: &str) -> Vec<String> {
    jieba()
        .cut(text, true)
        .into_iter()
        .map(|w| w.word.trim().to_lowercase())
        .filter(|w| w.chars().any(char::is_alphanumeric))
        .collect()
}

#[derive(Clone, Default)]
struct JiebaTokenizer;

struct JiebaStream {
    tokens: Vec<Token>,
    at: usize,
}

impl Tokenizer for JiebaTokenizer {
    type TokenStream<'a> = JiebaStream;
    fn token_stream<'a>(&'a mut self, text: &'a str) -> JiebaStream {
        let mut tokens = Vec::new();
        for (position, t) in jieba().tokenize(text, TokenizeMode::Search, true).into_iter().enumerate() {
            if !t.word.chars().any(char::is_alphanumeric) {
                continue;
            }
            tokens.push(Token {
                offset_from: t.byte_start,
                offset_to: t.byte_end,
                position,
                text: t.word.to_owned(),
                position_length: 1,
            });
        }
        JiebaStream { tokens, at: 0 }
    }
}

impl TokenStream for JiebaStream {
    fn advance(&mut self) -> bool {
        self.at += 1;
        self.at <= self.tokens.len()
    }
    fn token(&self) -> &Token {
        &self.tokens[self.at - 1]
    }
    fn token_mut(&mut self) -> &mut Token {
        &mut self.tokens[self.at - 1]
    }
}

/// Overlapping character bigrams inside runs of letters, digits and CJK, lower-cased, each
/// at its own position: any substring of two characters or more is a phrase of bigrams,
/// whatever jieba made of its context.
#[derive(Clone, Default)]
struct BigramTokenizer;

impl Tokenizer for BigramTokenizer {
    type TokenStream<'a> = JiebaStream;
    fn token_stream<'a>(&'a mut self, text: &'a str) -> JiebaStream {
        let mut tokens = Vec::new();
        let cs: Vec<(usize, char)> = text.char_indices().collect();
        let mut position = 0;
        for w in cs.windows(2) {
            let ((a, x), (_, y)) = (w[0], w[1]);
            if x.is_alphanumeric() && y.is_alphanumeric() {
                let text: String = x.to_lowercase().chain(y.to_lowercase()).collect();
                tokens.push(Token {
                    offset_from: a,
                    offset_to: a + x.len_utf8() + y.len_utf8(),
                    position,
                    text,
                    position_length: 1,
                });
            }
            position += 1;
        }
        JiebaStream { tokens, at: 0 }
    }
}

/// The bigrams of a term (its runs of letters, digits and CJK), lower-cased.
fn bigrams(term: &str) -> Vec<String> {
    let cs: Vec<char> = term.chars().flat_map(char::to_lowercase).collect();
    cs.windows(2).filter(|w| w[0].is_alphanumeric() && w[1].is_alphanumeric()).map(|w| w.iter().collect()).collect()
}

/// What the index holds of one case.
#[derive(Debug, Clone, Default)]
pub struct Doc {
    pub id: i64,
    pub subject: String,
    /// The description, address, replies, results and comments.
    pub body: String,
    pub territory_code: String,
    pub category_code: Option<String>,
    pub status: String,
    pub channel: String,
    /// Units the case is or was with (owner, cooperating units).
    pub units: Vec<i64>,
    pub reporter_id: Option<i64>,
    pub created_at_ms: i64,
}

/// A search. Hits must match every word of `text`, one of the visibility grants (inside
/// one of `scopes`, with one of `units`, or reported by `reporter`) and every filter given.
#[derive(Debug, Clone, Default)]
pub struct SearchQuery {
    pub text: String,
    pub scopes: Vec<String>,
    pub units: Vec<i64>,
    pub reporter: Option<i64>,
    pub territory_prefix: Option<String>,
    pub category_prefix: Option<String>,
    pub status: Option<String>,
    pub channel: Option<String>,
    pub from_ms: Option<i64>,
    pub to_ms: Option<i64>,
    /// Newest first instead of by relevance.
    pub newest: bool,
    pub limit: usize,
    pub offset: usize,
    pub now_ms: i64,
}

#[derive(Debug, Clone)]
pub struct Hit {
    pub id: i64,
    pub score: f32,
}

#[derive(Debug, Clone)]
pub struct Found {
    pub total: usize,
    pub hits: Vec<Hit>,
    /// The words searched for (as the index segments them).
    pub words: Vec<String>,
    /// What to mark in the hits' texts (see [`highlight`]): the terms as typed and their words.
    pub needles: Vec<String>,
}

/// `text` as escaped HTML with every occurrence of the needles (case-insensitive) in
/// `<mark>`; with `max_chars`, only the passage of that length holding the most matches,
/// with "…" where text was cut.
pub fn highlight(text: &str, needles: &[String], max_chars: Option<usize>) -> String {
    let cs: Vec<char> = text.chars().collect();
    let lower: Vec<char> = cs.iter().map(|c| c.to_lowercase().next().unwrap_or(*c)).collect();
    let mut ranges: Vec<(usize, usize)> = Vec::new();
    for n in needles {
        let n: Vec<char> = n.chars().flat_map(char::to_lowercase).collect();
        if n.is_empty() || n.len() > lower.len() {
            continue;
        }
        for i in 0..=lower.len() - n.len() {
            if lower[i..i + n.len()] == n[..] {
                ranges.push((i, i + n.len()));
            }
        }
    }
    ranges.sort_unstable();
    let mut merged: Vec<(usize, usize)> = Vec::new();
    for (a, b) in ranges {
        match merged.last_mut() {
            Some(last) if a <= last.1 => last.1 = last.1.max(b),
            _ => merged.push((a, b)),
        }
    }
    let (from, to) = match max_chars {
        Some(max) if cs.len() > max => {
            // The window (starting a little before some match) holding the most matches.
            let mut best = (0usize, 0usize);
            for &(a, _) in &merged {
                let start = a.saturating_sub(max / 6).min(cs.len() - max);
                let n = merged.iter().filter(|(x, y)| *x >= start && *y <= start + max).count();
                if n > best.1 {
                    best = (start, n);
                }
            }
            (best.0, best.0 + max)
        }
        _ => (0, cs.len()),
    };
    let mut out = String::new();
    if from > 0 {
        out.push('…');
    }
    let mut at = from;
    for &(a, b) in merged.iter().filter(|(a, b)| *a >= from && *b <= to) {
        out.push_str(&escape(&cs[at..a].iter().collect::<String>()));
        out.push_str("<mark>");
        out.push_str(&escape(&cs[a..b].iter().collect::<String>()));
        out.push_str("</mark>");
        at = b;
    }
    out.push_str(&escape(&cs[at..to].iter().collect::<String>()));
    if to < cs.len() {
        out.push('…');
    }
    out
}

struct Fields {
    id: Field,
    subject: Field,
    body: Field,
    /// Subject and body again, as character bigrams (not stored).
    grams: Field,
    terr: Field,
    cat: Field,
    status: Field,
    channel: Field,
    unit: Field,
    reporter: Field,
    created: Field,
}

pub struct SearchIndex {
    index: Index,
    reader: IndexReader,
    writer: Mutex<IndexWriter>,
    f: Fields,
}

pub type Error = tantivy::TantivyError;

/// Relevance is multiplied by this at age zero and falls towards 0.6 with a half-life of
/// about three months: a fresh report of the same words ranks above an old one.
fn recency(now_ms: i64, created_ms: i64) -> f32 {
    let days = ((now_ms - created_ms).max(0) as f32) / 86_400_000.0;
    0.6 + 0.4 * (-days / 130.0).exp()
}

impl SearchIndex {
    /// Opens (or creates) the index in `dir`, or in memory when `dir` is None.
    pub fn open(dir: Option<&Path>) -> Result<SearchIndex, Error> {
        let mut sb = Schema::builder();
        // Nothing is stored but the id: passages come from the database, always current.
        let text = TextOptions::default().set_indexing_options(
            TextFieldIndexing::default().set_tokenizer("zh").set_index_option(IndexRecordOption::WithFreqsAndPositions),
        );
        let f = Fields {
            id: sb.add_i64_field("id", INDEXED | FAST),
            subject: sb.add_text_field("subject", text.clone()),
            body: sb.add_text_field("body", text),
            grams: sb.add_text_field(
                "grams",
                TextOptions::default().set_indexing_options(
                    TextFieldIndexing::default()
                        .set_tokenizer("bigram")
                        .set_index_option(IndexRecordOption::WithFreqsAndPositions),
                ),
            ),
            terr: sb.add_text_field("terr", STRING),
            cat: sb.add_text_field("cat", STRING),
            status: sb.add_text_field("status", STRING),
            channel: sb.add_text_field("channel", STRING),
            unit: sb.add_i64_field("unit", INDEXED),
            reporter: sb.add_i64_field("reporter", INDEXED),
            created: sb.add_i64_field("created", INDEXED | FAST),
        };
        let schema = sb.build();
        let index = match dir {
            Some(d) => {
                std::fs::create_dir_all(d)?;
                match Index::open_or_create(tantivy::directory::MmapDirectory::open(d)?, schema.clone()) {
                    Ok(i) => i,
                    // An index of another schema (an older wuzhi) is a cache: start afresh;
                    // the caller rebuilds it from the database.
                    Err(tantivy::TantivyError::SchemaError(_)) => {
                        for e in std::fs::read_dir(d)?.flatten() {
                            let _ = std::fs::remove_file(e.path());
                        }
                        Index::create_in_dir(d, schema)?
                    }
                    Err(e) => return Err(e),
                }
            }
            None => Index::create_in_ram(schema),
        };
        index.tokenizers().register("zh", TextAnalyzer::builder(JiebaTokenizer).filter(LowerCaser).build());
        index.tokenizers().register("bigram", TextAnalyzer::builder(BigramTokenizer).build());
        let reader = index.reader_builder().reload_policy(ReloadPolicy::Manual).try_into()?;
        // Segmentation is the indexing work: one thread per core (up to four) for rebuilds.
        let threads = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1).clamp(1, 4);
        let writer = index.writer_with_num_threads(threads, threads * 40_000_000)?;
        Ok(SearchIndex { index, reader, writer: Mutex::new(writer), f })
    }

    /// The caller's cursor stored with the last commit.
    pub fn cursor(&self) -> Option<String> {
        self.index.load_metas().ok().and_then(|m| m.payload)
    }

    pub fn len(&self) -> u64 {
        self.reader.searcher().num_docs()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn doc_of(&self, d: &Doc) -> TantivyDocument {
        let f = &self.f;
        let mut doc = TantivyDocument::default();
        doc.add_i64(f.id, d.id);
        doc.add_text(f.subject, &d.subject);
        doc.add_text(f.body, &d.body);
        doc.add_text(f.grams, format!("{}\n{}", d.subject, d.body));
        // Every prefix of the code, so "inside territory P" and "category under C" are terms.
        for n in 1..=d.territory_code.len() {
            doc.add_text(f.terr, &d.territory_code[..n]);
        }
        if let Some(c) = &d.category_code {
            for n in 1..=c.len() {
                doc.add_text(f.cat, &c[..n]);
            }
        }
        doc.add_text(f.status, &d.status);
        doc.add_text(f.channel, &d.channel);
        for u in &d.units {
            doc.add_i64(f.unit, *u);
        }
        if let Some(r) = d.reporter_id {
            doc.add_i64(f.reporter, r);
        }
        doc.add_i64(f.created, d.created_at_ms);
        doc
    }

    /// Replaces these documents (by id) and commits with `cursor` as the payload; searches
    /// see the change when this returns.
    pub fn upsert(&self, docs: &[Doc], cursor: &str) -> Result<(), Error> {
        self.add_uncommitted(docs)?;
        self.finish(cursor)
    }

    /// Replaces documents without committing (a rebuild commits once at the end with `finish`).
    pub fn add_uncommitted(&self, docs: &[Doc]) -> Result<(), Error> {
        let w = self.writer.lock().unwrap_or_else(|e| e.into_inner());
        for d in docs {
            w.delete_term(Term::from_field_i64(self.f.id, d.id));
            w.add_document(self.doc_of(d))?;
        }
        Ok(())
    }

    /// Commits what was added, with the cursor.
    pub fn finish(&self, cursor: &str) -> Result<(), Error> {
        let mut w = self.writer.lock().unwrap_or_else(|e| e.into_inner());
        let mut c = w.prepare_commit()?;
        c.set_payload(cursor);
        c.commit()?;
        drop(w);
        self.reader.reload()
    }

    /// Empties the index (uncommitted until the next commit).
    pub fn clear(&self) -> Result<(), Error> {
        let w = self.writer.lock().unwrap_or_else(|e| e.into_inner());
        w.delete_all_documents()?;
        Ok(())
    }

    fn term_text(&self, field: Field, s: &str) -> Box<dyn Query> {
        Box::new(TermQuery::new(Term::from_field_text(field, s), IndexRecordOption::Basic))
    }

    fn word_query(&self, word: &str) -> Box<dyn Query> {
        let f = &self.f;
        let one = |w: &str| -> Vec<(Occur, Box<dyn Query>)> {
            vec![
                (
                    Occur::Should,
                    Box::new(BoostQuery::new(
                        Box::new(TermQuery::new(
                            Term::from_field_text(f.subject, w),
                            IndexRecordOption::WithFreqsAndPositions,
                        )),
                        2.0,
                    )),
                ),
                (
                    Occur::Should,
                    Box::new(TermQuery::new(
                        Term::from_field_text(f.body, w),
                        IndexRecordOption::WithFreqsAndPositions,
                    )),
                ),
            ]
        };
        let mut should = one(word);
        // A long word may be segmented differently inside a document: its parts, all of
        // them, also match.
        if word.chars().count() >= 3 {
            let parts: Vec<String> = jieba()
                .cut_for_search(word, true)
                .into_iter()
                .map(|t| t.word.to_lowercase())
                .filter(|t| t != word && t.chars().count() >= 2)
                .collect();
            if !parts.is_empty() {
                let all: Vec<(Occur, Box<dyn Query>)> = parts
                    .iter()
                    .map(|p| (Occur::Must, Box::new(BooleanQuery::new(one(p))) as Box<dyn Query>))
                    .collect();
                should.push((Occur::Should, Box::new(BooleanQuery::new(all))));
            }
        }
        Box::new(BooleanQuery::new(should))
    }

    /// Runs a search.
    pub fn search(&self, q: &SearchQuery) -> Result<Found, Error> {
        let f = &self.f;
        // Each term the person typed (split at spaces and punctuation) must match: by its
        // words, wherever they stand, or as it is written (a phrase of its bigrams), which
        // finds it even where jieba segmented the document's context otherwise.
        let mut words: Vec<String> = Vec::new();
        let mut needles: Vec<String> = Vec::new();
        let mut text_clauses = Vec::new();
        for term in q.text.split(|c: char| !c.is_alphanumeric()).filter(|t| !t.is_empty()).take(16) {
            let ws = self::words(term);
            let mut any: Vec<(Occur, Box<dyn Query>)> = Vec::new();
            if !ws.is_empty() {
                let all: Vec<(Occur, Box<dyn Query>)> = ws.iter().map(|w| (Occur::Must, self.word_query(w))).collect();
                any.push((Occur::Should, Box::new(BooleanQuery::new(all))));
            }
            let grams = bigrams(term);
            match grams.len() {
                0 => {}
                1 => any.push((
                    Occur::Should,
                    Box::new(TermQuery::new(Term::from_field_text(f.grams, &grams[0]), IndexRecordOption::WithFreqs)),
                )),
                _ => any.push((
                    Occur::Should,
                    Box::new(PhraseQuery::new(grams.iter().map(|g| Term::from_field_text(f.grams, g)).collect())),
                )),
            }
            needles.push(term.to_lowercase());
            needles.extend(ws.iter().filter(|w| w.chars().count() > 1).cloned());
            words.extend(ws);
            if !any.is_empty() {
                text_clauses.push((Occur::Must, Box::new(BooleanQuery::new(any)) as Box<dyn Query>));
            }
        }
        words.dedup();
        let mut must: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        let text_clauses_empty = text_clauses.is_empty();
        let text_query: Box<dyn Query> =
            if text_clauses_empty { Box::new(AllQuery) } else { Box::new(BooleanQuery::new(text_clauses)) };
        must.push((Occur::Must, text_query.box_clone()));
        // Visibility: any one grant.
        let mut vis: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        for s in &q.scopes {
            vis.push((Occur::Should, self.term_text(f.terr, s)));
        }
        for u in &q.units {
            vis.push((
                Occur::Should,
                Box::new(TermQuery::new(Term::from_field_i64(f.unit, *u), IndexRecordOption::Basic)),
            ));
        }
        if let Some(r) = q.reporter {
            vis.push((
                Occur::Should,
                Box::new(TermQuery::new(Term::from_field_i64(f.reporter, r), IndexRecordOption::Basic)),
            ));
        }
        if vis.is_empty() {
            return Ok(Found { total: 0, hits: vec![], words, needles });
        }
        must.push((Occur::Must, Box::new(BooleanQuery::new(vis))));
        if let Some(t) = &q.territory_prefix {
            must.push((Occur::Must, self.term_text(f.terr, t)));
        }
        if let Some(c) = &q.category_prefix {
            must.push((Occur::Must, self.term_text(f.cat, c)));
        }
        if let Some(s) = &q.status {
            must.push((Occur::Must, self.term_text(f.status, s)));
        }
        if let Some(c) = &q.channel {
            must.push((Occur::Must, self.term_text(f.channel, c)));
        }
        if q.from_ms.is_some() || q.to_ms.is_some() {
            let b = |v: Option<i64>, incl: bool| match v {
                Some(v) if incl => Bound::Included(Term::from_field_i64(f.created, v)),
                Some(v) => Bound::Excluded(Term::from_field_i64(f.created, v)),
                None => Bound::Unbounded,
            };
            must.push((Occur::Must, Box::new(RangeQuery::new(b(q.from_ms, true), b(q.to_ms, false)))));
        }
        let query = BooleanQuery::new(must);
        let searcher = self.reader.searcher();
        let limit = q.limit.clamp(1, 200);
        let now = q.now_ms;
        let (top, total): (Vec<(Score, DocAddress)>, usize) = if q.newest || text_clauses_empty {
            let c = TopDocs::with_limit(limit).and_offset(q.offset).tweak_score(move |seg: &SegmentReader| {
                let created = seg.fast_fields().i64("created").ok();
                move |doc, _score: Score| created.as_ref().and_then(|c| c.first(doc)).unwrap_or(0) as f64
            });
            let (top, total) = searcher.search(&query, &(c, Count))?;
            (top.into_iter().map(|(s, d)| (s as f32, d)).collect(), total)
        } else {
            let c = TopDocs::with_limit(limit).and_offset(q.offset).tweak_score(move |seg: &SegmentReader| {
                let created = seg.fast_fields().i64("created").ok();
                move |doc, score: Score| {
                    let at = created.as_ref().and_then(|c| c.first(doc)).unwrap_or(0);
                    score * recency(now, at)
                }
            });
            searcher.search(&query, &(c, Count))?
        };
        let mut hits = Vec::with_capacity(top.len());
        for (score, addr) in top {
            let seg = searcher.segment_reader(addr.segment_ord);
            let id = seg.fast_fields().i64("id")?.first(addr.doc_id).unwrap_or(0);
            hits.push(Hit { id, score });
        }
        needles.sort_by_key(|n| std::cmp::Reverse(n.chars().count()));
        needles.dedup();
        Ok(Found { total, hits, words, needles })
    }
}

fn escape(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '&' => o.push_str("&amp;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            c => o.push(c),
        }
    }
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(id: i64, subject: &str, body: &str, terr: &str, at: i64) -> Doc {
        Doc {
            id,
            subject: subject.into(),
            body: body.into(),
            territory_code: terr.into(),
            category_code: Some("H010101".into()),
            status: "filed".into(),
            channel: "app".into(),
            units: vec![7],
            reporter_id: Some(id * 10),
            created_at_ms: at,
        }
    }

    fn q(text: &str, scopes: &[&str]) -> SearchQuery {
        SearchQuery {
            text: text.into(),
            scopes: scopes.iter().map(|s| s.to_string()).collect(),
            limit: 10,
            now_ms: 100 * 86_400_000,
            ..Default::default()
        }
    }

    #[test]
    fn passages_hold_the_most_matches() {
        let n = vec!["噪音".to_owned(), "ab".to_owned()];
        let text = format!("{}噪音扰民，AB路{}", "前".repeat(50), "后".repeat(50));
        let h = highlight(&text, &n, Some(20));
        assert!(h.starts_with('…') && h.ends_with('…'), "{h}");
        assert!(h.contains("<mark>噪音</mark>扰民，<mark>AB</mark>路"), "{h}");
        assert_eq!(h.replace("<mark>", "").replace("</mark>", "").chars().count(), 22);
        // Overlapping needles merge; no match keeps the beginning.
        assert_eq!(highlight("养老保险", &["养老保险".into(), "保险".into()], None), "<mark>养老保险</mark>");
        assert_eq!(highlight("路灯", &["噪音".into()], Some(1)), "路…");
    }

    #[test]
    fn words_are_found_inside_territory_with_highlights() {
        let ix = SearchIndex::open(None).unwrap();
        let day = 86_400_000;
        ix.upsert(
            &[
                doc(
                    1,
                    "丽发新城小区附近搅拌站噪音扰民",
                    "搅拌站夜间施工，噪音很大，<影响>休息。",
                    "120101001001",
                    99 * day,
                ),
                doc(2, "西湖路路灯不亮", "路灯坏了一个月", "120101001001", 99 * day),
                doc(3, "搅拌站噪音", "另一个区的搅拌站噪音", "120102001001", 99 * day),
                doc(4, "搅拌站噪音扰民（旧）", "去年的搅拌站噪音问题", "120101002001", 10 * day),
            ],
            "c1",
        )
        .unwrap();
        assert_eq!(ix.cursor().as_deref(), Some("c1"));
        let r = ix.search(&q("搅拌站 噪音", &["120101"])).unwrap();
        assert_eq!(r.hits.iter().map(|h| h.id).collect::<Vec<_>>(), vec![1, 4], "{r:?}");
        assert_eq!(r.total, 2);
        assert!(r.needles.contains(&"搅拌站".to_owned()), "{:?}", r.needles);
        let html = highlight("搅拌站夜间施工，噪音很大，<影响>休息。", &r.needles, None);
        assert_eq!(html, "<mark>搅拌站</mark>夜间施工，<mark>噪音</mark>很大，&lt;影响&gt;休息。");
        // What jieba segments otherwise in context (局已) is still found as written.
        ix.upsert(&[doc(5, "检测", "生态环境局已到场检测", "120101001001", 99 * day)], "c3").unwrap();
        assert_eq!(
            ix.search(&q("生态环境局", &["12"])).unwrap().hits.iter().map(|h| h.id).collect::<Vec<_>>(),
            vec![5]
        );
        assert_eq!(ix.search(&q("环境局已到", &["12"])).unwrap().total, 1);
        assert_eq!(ix.search(&q("环境局未到", &["12"])).unwrap().total, 0);
        // A word inside a longer one: 新城 is part of 丽发新城.
        assert_eq!(ix.search(&q("新城", &["12"])).unwrap().hits.len(), 1);
        // Nobody sees anything without a grant; a unit or the reporter sees its own.
        assert_eq!(ix.search(&q("噪音", &[])).unwrap().total, 0);
        let mut by_unit = q("噪音", &[]);
        by_unit.units = vec![7];
        assert_eq!(ix.search(&by_unit).unwrap().total, 3);
        let mut mine = q("噪音", &[]);
        mine.reporter = Some(30);
        assert_eq!(ix.search(&mine).unwrap().hits[0].id, 3);
        // Period filter and newest-first.
        let mut recent = q("噪音", &["12"]);
        recent.from_ms = Some(50 * day);
        assert_eq!(ix.search(&recent).unwrap().total, 2);
        let mut newest = q("", &["12"]);
        newest.newest = true;
        assert_eq!(ix.search(&newest).unwrap().total, 5);
        // Replacing a document by id.
        ix.upsert(&[doc(2, "西湖路路灯已修好", "已修复", "120101001001", 99 * day)], "c2").unwrap();
        assert_eq!(ix.len(), 5);
        assert_eq!(ix.search(&q("修好", &["12"])).unwrap().hits[0].id, 2);
        assert_eq!(ix.search(&q("不亮", &["12"])).unwrap().total, 0);
    }
}
