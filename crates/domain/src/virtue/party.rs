//! 双报到: party members register with the community where they live (在职党员到居住地社区
//! 报到), choose the service posts they will take (设岗定责), and serve its residents; their
//! service is counted like every volunteer's — hours confirmed by an activity's organiser —
//! so the community's party organisation sees who registered and what they did.

use crate::Invalid;

/// The service posts a registered party member chooses from.
pub const SERVICE_POSTS: &[(&str, &str)] = &[
    ("policy", "政策宣传"),
    ("environment", "环境整治"),
    ("civility", "文明劝导"),
    ("care", "关爱帮扶"),
    ("safety", "平安巡逻"),
    ("mediation", "矛盾调解"),
    ("culture", "文体服务"),
    ("expertise", "专业服务"),
];

/// The posts chosen: one to three, each one of [`SERVICE_POSTS`], in the list's order.
pub fn posts(field: &str, chosen: &[String]) -> Result<Vec<&'static str>, Invalid> {
    let mut out: Vec<&'static str> = Vec::new();
    for c in chosen {
        let code = SERVICE_POSTS.iter().find(|(k, _)| k == c).map(|(k, _)| *k).ok_or_else(|| {
            let names: Vec<_> = SERVICE_POSTS.iter().map(|(k, _)| *k).collect();
            Invalid::new(field, format!("`{c}` is not one of {}", names.join(", ")))
        })?;
        if !out.contains(&code) {
            out.push(code);
        }
    }
    if out.is_empty() || out.len() > 3 {
        return Err(Invalid::new(field, format!("{} posts; choose one to three", out.len())));
    }
    out.sort_by_key(|p| SERVICE_POSTS.iter().position(|(k, _)| k == p));
    Ok(out)
}

/// The community (12 digits) a home lies in; none above a community.
pub fn community_of(home: &str) -> Option<&str> {
    (home.len() >= 12).then(|| &home[..12])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| (*x).to_owned()).collect()
    }

    #[test]
    fn one_to_three_known_posts_in_the_lists_order() {
        assert_eq!(posts("posts", &s(&["care", "policy", "care"])).unwrap(), ["policy", "care"]);
        assert_eq!(posts("posts", &[]).unwrap_err().field, "posts");
        assert!(posts("posts", &s(&["policy", "care", "safety", "culture"])).is_err());
        assert!(posts("posts", &s(&["dancing"])).unwrap_err().reason.contains("dancing"));
    }

    #[test]
    fn a_home_lies_in_a_community_only_at_or_below_one() {
        assert_eq!(community_of("120101001001001"), Some("120101001001"));
        assert_eq!(community_of("120101001001"), Some("120101001001"));
        assert_eq!(community_of("120101001"), None);
    }
}
