//! The classes of personal data (个人信息分级) and the care and special groups a person may be
//! tagged with: shared vocabulary of every module that holds or plans around personal data
//! (the archives classify their fields by it, grid work plans visits by the care groups).

use crate::Invalid;
use serde::Serialize;

/// How protected a field is (PIPL; GB/T 45574-2025 for the sensitive and special ones).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Class {
    /// Shown to whoever may read the archives of the territory (a building's address).
    Public,
    /// Masked by default (a name, a phone, a plate); in clear with a purpose, audited.
    Personal,
    /// Identity documents, birth dates, care needs (health, income): masked or encrypted,
    /// in clear only with a purpose, audited.
    Sensitive,
    /// Special groups (社区矫正, 严重精神障碍, 重点人员): not even shown as masked unless the
    /// reader's post is for that work, and then only with a purpose, audited.
    Special,
}

impl Class {
    pub fn as_str(self) -> &'static str {
        match self {
            Class::Public => "public",
            Class::Personal => "personal",
            Class::Sensitive => "sensitive",
            Class::Special => "special",
        }
    }

    /// Years a person's fields of this class are kept after they moved out, before the
    /// retention sweep anonymises them (public fields are not about a person).
    pub fn retention_years(self) -> Option<u32> {
        match self {
            Class::Public => None,
            Class::Personal => Some(3),
            Class::Sensitive => Some(3),
            Class::Special => Some(1),
        }
    }
}

/// The groups a person may be tagged with (关爱对象 and 特殊人群), each with the class that
/// protects it.
pub const TAGS: &[(&str, &str, Class)] = &[
    ("living_alone", "独居老人", Class::Sensitive),
    ("empty_nest", "空巢老人", Class::Sensitive),
    ("very_old", "高龄老人", Class::Sensitive),
    ("disabled", "残疾人", Class::Sensitive),
    ("low_income", "低保/特困", Class::Sensitive),
    ("left_behind_child", "留守儿童", Class::Sensitive),
    ("entitled", "优抚对象", Class::Sensitive),
    ("community_correction", "社区矫正", Class::Special),
    ("severe_mental_illness", "严重精神障碍", Class::Special),
    ("key_person", "重点人员", Class::Special),
];

/// A tag of [`TAGS`] by its code or its Chinese name.
pub fn tag(field: &str, s: &str) -> Result<&'static (&'static str, &'static str, Class), Invalid> {
    let s = s.trim();
    TAGS.iter().find(|(code, zh, _)| *code == s || *zh == s).ok_or_else(|| {
        let names: Vec<&str> = TAGS.iter().map(|t| t.0).collect();
        Invalid::new(field, format!("`{s}` is not one of {}", names.join(", ")))
    })
}
