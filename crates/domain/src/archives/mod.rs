//! The base archives of houses, vehicles, people and things (房车人物): their identifiers, the
//! field classification that protects them, and the workflow of a person's requests about
//! their own data. Each record is attached to a grid, and so to every level above it.

pub mod fields;
pub mod ids;
pub mod request;

use crate::Invalid;

use crate::text::one_of;

/// 房屋用途
pub const HOUSE_USES: &[(&str, &str)] =
    &[("own", "自住"), ("rented", "出租"), ("vacant", "空置"), ("business", "经营")];
/// 人口类型: registered here (户籍), living here without registration for over six months
/// (常住), or floating (流动).
pub const RESIDENCES: &[(&str, &str)] = &[("registered", "户籍"), ("resident", "常住"), ("floating", "流动")];
/// 楼栋类型
pub const BUILDING_KINDS: &[(&str, &str)] = &[
    ("residential", "住宅"),
    ("bungalow", "平房"),
    ("commercial", "商业"),
    ("office", "办公"),
    ("mixed", "商住"),
    ("public", "公共建筑"),
    ("industrial", "厂房"),
];
/// 与户主关系
pub const RELATIONS: &[(&str, &str)] = &[
    ("head", "户主"),
    ("spouse", "配偶"),
    ("child", "子女"),
    ("parent", "父母"),
    ("grandchild", "孙辈"),
    ("sibling", "兄弟姐妹"),
    ("other", "其他"),
];
/// 部件状态
pub const COMPONENT_STATES: &[(&str, &str)] =
    &[("normal", "完好"), ("damaged", "破损"), ("missing", "丢失"), ("removed", "已拆除")];

pub fn house_use(s: &str) -> Result<&'static str, Invalid> {
    one_of("use", s, HOUSE_USES)
}
pub fn residence(s: &str) -> Result<&'static str, Invalid> {
    one_of("residence", s, RESIDENCES)
}
pub fn building_kind(s: &str) -> Result<&'static str, Invalid> {
    one_of("kind", s, BUILDING_KINDS)
}
pub fn relation(s: &str) -> Result<&'static str, Invalid> {
    one_of("relation", s, RELATIONS)
}
pub fn component_state(s: &str) -> Result<&'static str, Invalid> {
    one_of("state", s, COMPONENT_STATES)
}

#[cfg(test)]
mod tests {
    #[test]
    fn closed_sets_take_codes_or_chinese() {
        assert_eq!(super::house_use("出租").unwrap(), "rented");
        assert_eq!(super::house_use("rented").unwrap(), "rented");
        let e = super::residence("tourist").unwrap_err();
        assert_eq!(
            (e.field.as_str(), e.reason.as_str()),
            ("residence", "`tourist` is not one of registered, resident, floating")
        );
    }
}
