//! Text similarity for near-duplicate detection and hot topics. A message becomes a
//! keyword profile: jieba words weighted by TF-IDF (jieba's general-corpus IDF), with the
//! words every message to a government says ("您好", "反映", "问题" …) removed, L2-normalised.
//! Two profiles compare by cosine; topics are grown by leader clustering over an inverted
//! index of keywords, so only messages sharing a keyword are ever compared.

use jieba_rs::{KeywordExtract, TfIdf};
use std::collections::HashMap;
use std::sync::LazyLock;

/// Words of any message to a government office that say nothing about its matter.
const PETITION_WORDS: &[&str] = &[
    "您好",
    "你好",
    "领导",
    "尊敬",
    "问题",
    "反映",
    "希望",
    "请问",
    "市民",
    "居民",
    "谢谢",
    "感谢",
    "相关",
    "部门",
    "政府",
    "解决",
    "情况",
    "现在",
    "我们",
    "已经",
    "没有",
    "一直",
    "这个",
    "那个",
    "什么",
    "怎么",
    "为什么",
    "是否",
    "可以",
    "能否",
    "还是",
    "而且",
    "但是",
    "因为",
    "所以",
    "如果",
    "目前",
    "非常",
    "严重",
    "影响",
    "要求",
    "处理",
    "投诉",
    "举报",
    "咨询",
    "建议",
    "关于",
    "有关",
    "进行",
    "出现",
    "存在",
    "导致",
    "造成",
    "时间",
    "时候",
    "每天",
    "一下",
    "这样",
    "那么",
    "还有",
    "以及",
    "或者",
    "不是",
    "就是",
    "只是",
    "并且",
    "本人",
    "我家",
    "他们",
    "大家",
    "市长",
    "书记",
    "主任",
    "网友",
    "回复",
    "请求",
    "恳请",
    "尽快",
    "及时",
    "给予",
    "多次",
    "至今",
    "今年",
    "去年",
];

static TFIDF: LazyLock<TfIdf> = LazyLock::new(TfIdf::default);

/// A message's keyword profile: (word, weight), unit length, heaviest first.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Profile {
    pub terms: Vec<(String, f32)>,
}

impl Profile {
    /// The `n` heaviest words.
    pub fn keywords(&self, n: usize) -> Vec<&str> {
        self.terms.iter().take(n).map(|(w, _)| w.as_str()).collect()
    }
}

/// The profile of a message; the subject counts twice (it states the matter).
pub fn profile(subject: &str, detail: &str) -> Profile {
    let text = format!("{subject}。{subject}。{detail}");
    let kws = TFIDF.extract_keywords(crate::search::jieba(), &text, 40, vec![]);
    let mut terms: Vec<(String, f32)> = kws
        .into_iter()
        .filter(|k| !PETITION_WORDS.contains(&k.keyword.as_str()) && !k.keyword.chars().all(|c| c.is_ascii_digit()))
        .map(|k| (k.keyword.to_lowercase(), k.weight as f32))
        .take(30)
        .collect();
    normalise(&mut terms);
    Profile { terms }
}

fn normalise(terms: &mut Vec<(String, f32)>) {
    let norm = terms.iter().map(|(_, w)| w * w).sum::<f32>().sqrt();
    if norm > 0.0 {
        for t in terms.iter_mut() {
            t.1 /= norm;
        }
    }
    terms.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
}

/// Cosine similarity of two profiles, in [0, 1].
pub fn cosine(a: &Profile, b: &Profile) -> f32 {
    let (small, large) = if a.terms.len() <= b.terms.len() { (a, b) } else { (b, a) };
    let mut s = 0.0;
    for (w, x) in &small.terms {
        if let Some((_, y)) = large.terms.iter().find(|(v, _)| v == w) {
            s += x * y;
        }
    }
    s
}

/// Great-circle distance in metres.
pub fn distance_m(a: (f64, f64), b: (f64, f64)) -> f64 {
    let r = 6_371_008.8;
    let (la1, la2) = (a.1.to_radians(), b.1.to_radians());
    let dla = la2 - la1;
    let dlo = (b.0 - a.0).to_radians();
    let h = (dla / 2.0).sin().powi(2) + la1.cos() * la2.cos() * (dlo / 2.0).sin().powi(2);
    2.0 * r * h.sqrt().asin()
}

/// The rule for "the same matter reported again".
#[derive(Debug, Clone, Copy)]
pub struct DuplicateRule {
    /// Lowest cosine of the texts.
    pub min_similarity: f32,
    /// Furthest apart, when both have a point.
    pub max_distance_m: f64,
    /// Furthest apart in time.
    pub window_ms: i64,
}

impl Default for DuplicateRule {
    fn default() -> Self {
        // 0.35 favours recall: a warning a person confirms may show a few more candidates.
        // On the labelled pairs (`wuzhi bench duplicates`, BENCHMARKS.md) it gives precision
        // 0.84 and recall 0.96; 0.40 has the best F1 (0.90), by 0.007.
        DuplicateRule { min_similarity: 0.35, max_distance_m: 500.0, window_ms: 30 * 86_400_000 }
    }
}

/// One message as duplicate detection sees it.
#[derive(Debug, Clone)]
pub struct Sighting<'a> {
    pub profile: &'a Profile,
    pub point: Option<(f64, f64)>,
    pub at_ms: i64,
}

/// A pair the rule takes for the same matter.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Match {
    /// The text similarity, lowered a little with distance and age, so that of two equally
    /// worded reports the nearer and fresher ranks first.
    pub score: f32,
    /// The cosine of the two texts' keywords.
    pub similarity: f32,
    /// Metres apart, when both have a point.
    pub distance_m: Option<f64>,
}

/// The match of a pair under the rule, or None when it is not a candidate.
pub fn duplicate_score(rule: &DuplicateRule, a: &Sighting<'_>, b: &Sighting<'_>) -> Option<Match> {
    if (a.at_ms - b.at_ms).abs() > rule.window_ms {
        return None;
    }
    let d = match (a.point, b.point) {
        (Some(p), Some(q)) => Some(distance_m(p, q)),
        _ => None,
    };
    if d.is_some_and(|d| d > rule.max_distance_m) {
        return None;
    }
    let sim = cosine(a.profile, b.profile);
    if sim < rule.min_similarity {
        return None;
    }
    let near = d.map(|d| 1.0 - 0.2 * (d / rule.max_distance_m) as f32).unwrap_or(0.9);
    let fresh = 1.0 - 0.1 * ((a.at_ms - b.at_ms).abs() as f32 / rule.window_ms as f32);
    Some(Match { score: sim * near * fresh, similarity: sim, distance_m: d })
}

/// A topic: the messages it gathers and the words that name it.
#[derive(Debug, Clone)]
pub struct Topic {
    pub members: Vec<usize>,
    pub keywords: Vec<String>,
}

/// Groups messages into topics by leader clustering: each message (in the given order)
/// joins the topic whose centroid it is most similar to, at least `threshold`, or starts
/// a new one (so a message alike to none is a topic of its own).
pub fn topics<P: std::borrow::Borrow<Profile>>(profiles: &[P], threshold: f32) -> Vec<Topic> {
    struct T {
        members: Vec<usize>,
        centroid: HashMap<String, f32>,
    }
    let mut ts: Vec<T> = Vec::new();
    // Keyword → topics whose centroid holds it among its heaviest words.
    let mut by_word: HashMap<String, Vec<usize>> = HashMap::new();
    for (i, p) in profiles.iter().enumerate() {
        let p: &Profile = p.borrow();
        let mut cands: Vec<usize> = p.keywords(8).iter().filter_map(|w| by_word.get(*w)).flatten().copied().collect();
        cands.sort_unstable();
        cands.dedup();
        let mut best: Option<(usize, f32)> = None;
        for c in cands {
            let cen = &ts[c].centroid;
            let norm = cen.values().map(|v| v * v).sum::<f32>().sqrt();
            let s: f32 = p.terms.iter().filter_map(|(w, x)| cen.get(w).map(|y| x * y)).sum::<f32>() / norm.max(1e-9);
            if s >= threshold && best.is_none_or(|b| s > b.1) {
                best = Some((c, s));
            }
        }
        let t = match best {
            Some((c, _)) => c,
            None => {
                ts.push(T { members: vec![], centroid: HashMap::new() });
                ts.len() - 1
            }
        };
        ts[t].members.push(i);
        for (w, x) in &p.terms {
            *ts[t].centroid.entry(w.clone()).or_default() += x;
        }
        // Index the centroid's heaviest words.
        let mut top: Vec<(&String, &f32)> = ts[t].centroid.iter().collect();
        top.sort_by(|a, b| b.1.total_cmp(a.1).then_with(|| a.0.cmp(b.0)));
        for (w, _) in top.into_iter().take(8) {
            let e = by_word.entry(w.clone()).or_default();
            if !e.contains(&t) {
                e.push(t);
            }
        }
    }
    ts.into_iter()
        .map(|t| {
            let mut top: Vec<(String, f32)> = t.centroid.into_iter().collect();
            top.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
            Topic { members: t.members, keywords: top.into_iter().take(4).map(|(w, _)| w).collect() }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_matter_in_other_words_is_similar_and_another_is_not() {
        let a =
            profile("丽发新城小区旁搅拌站噪音扰民", "小区旁边的搅拌站每天晚上施工，噪音大，粉尘多，严重影响居民休息。");
        let b = profile("投诉丽发新城附近的搅拌站", "丽发新城小区附近搅拌站夜间作业，噪声扰民，灰尘也很大。");
        let c = profile("西湖路路灯不亮", "西湖路一段路灯坏了一个月没人修，晚上出行不安全。");
        assert!(cosine(&a, &b) > 0.35, "{} {a:?} {b:?}", cosine(&a, &b));
        assert!(cosine(&a, &c) < 0.1, "{}", cosine(&a, &c));
        assert!((cosine(&a, &a) - 1.0).abs() < 1e-4);
        assert!(!a.keywords(5).contains(&"您好"));
    }

    #[test]
    fn the_rule_weighs_distance_and_time() {
        let a = profile("搅拌站噪音扰民", "丽发新城小区旁搅拌站夜间施工噪音大");
        let b = profile("搅拌站噪音", "丽发新城搅拌站晚上施工噪音扰民");
        let rule = DuplicateRule::default();
        let s = |p: Option<(f64, f64)>, at: i64| Sighting { profile: &b, point: p, at_ms: at };
        let here = Sighting { profile: &a, point: Some((117.2, 39.1)), at_ms: 0 };
        let near = duplicate_score(&rule, &here, &s(Some((117.201, 39.1)), 3_600_000)).unwrap();
        let d = near.distance_m.unwrap();
        assert!(d > 80.0 && d < 90.0, "{near:?}");
        assert!((near.similarity - cosine(&a, &b)).abs() < 1e-6 && near.score < near.similarity, "{near:?}");
        // 0.01° of longitude at 39° N is about 865 m: too far.
        assert!(duplicate_score(&rule, &here, &s(Some((117.21, 39.1)), 0)).is_none());
        assert!(duplicate_score(&rule, &here, &s(Some((117.2, 39.1)), 31 * 86_400_000)).is_none());
        let nowhere = duplicate_score(&rule, &here, &s(None, 0)).unwrap();
        assert!(nowhere.score < duplicate_score(&rule, &here, &s(Some((117.2, 39.1)), 0)).unwrap().score);
    }

    #[test]
    fn topics_gather_the_same_matter() {
        let ps = vec![
            profile("搅拌站噪音扰民", "丽发新城搅拌站夜间施工噪音"),
            profile("西湖路路灯不亮", "路灯坏了"),
            profile("丽发新城搅拌站噪音", "搅拌站晚上施工，噪音太大"),
            profile("投诉搅拌站", "丽发新城附近搅拌站噪音扰民"),
            profile("公交车站设置不合理", "站台离小区太远"),
        ];
        let t: Vec<Topic> = topics(&ps, 0.3).into_iter().filter(|t| t.members.len() > 1).collect();
        assert_eq!(t.len(), 1, "{t:?}");
        assert_eq!(t[0].members, vec![0, 2, 3]);
        assert!(t[0].keywords.iter().any(|k| k == "搅拌站"), "{:?}", t[0].keywords);
    }
}
