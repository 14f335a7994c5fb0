//! The field classification table (个人信息分级): every field of the archives has one class —
//! public, personal, sensitive or special — and the class decides, in this one place, whether
//! the field is encrypted at rest, how it is masked, who may read it in clear and for what,
//! and how long it is kept after the person has moved out. Every read of the archives goes
//! through [`access`], so no page or export decides this on its own.

pub use crate::classes::{Class, TAGS, tag};
use crate::{Action, Actor, Invalid, TerritoryCode};
use serde::Serialize;

/// How a field looks when it is not shown in clear.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Mask {
    /// Shown as it is (public fields).
    None,
    Name,
    Phone,
    IdNumber,
    /// `1985-**-**`: the year only.
    BirthDate,
    /// `津A1***5`
    Plate,
    /// Not shown at all.
    Hidden,
}

impl Mask {
    pub fn apply(self, s: &str) -> Option<String> {
        Some(match self {
            Mask::None => s.to_owned(),
            Mask::Name => crate::mask::name(s),
            Mask::Phone => crate::mask::phone(s),
            Mask::IdNumber => crate::mask::id_number(s),
            Mask::BirthDate => match s.split_once('-') {
                Some((y, _)) => format!("{y}-**-**"),
                None => "****".into(),
            },
            Mask::Plate => {
                let c: Vec<char> = s.chars().collect();
                if c.len() < 4 {
                    return Some("*".repeat(c.len()));
                }
                let mut out: String = c[..3].iter().collect();
                out.push_str(&"*".repeat(c.len() - 4));
                out.push(c[c.len() - 1]);
                out
            }
            Mask::Hidden => return None,
        })
    }
}

/// One field of one kind of record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Field {
    pub record: &'static str,
    pub name: &'static str,
    pub class: Class,
    /// Stored encrypted (AES-256-GCM with a key outside the database); found, where it must
    /// be, through a keyed hash.
    pub encrypted: bool,
    pub mask: Mask,
}

const fn f(record: &'static str, name: &'static str, class: Class, encrypted: bool, mask: Mask) -> Field {
    Field { record, name, class, encrypted, mask }
}

/// The table. A field missing here cannot be read through the archives (see [`field`]).
pub const FIELDS: &[Field] = &[
    f("building", "address", Class::Public, false, Mask::None),
    f("building", "kind", Class::Public, false, Mask::None),
    f("building", "floors", Class::Public, false, Mask::None),
    f("house", "number", Class::Public, false, Mask::None),
    f("house", "area_m2", Class::Public, false, Mask::None),
    f("house", "use", Class::Personal, false, Mask::None),
    f("house", "ownership", Class::Personal, false, Mask::None),
    f("person", "name", Class::Personal, false, Mask::Name),
    f("person", "sex", Class::Personal, false, Mask::None),
    f("person", "phone", Class::Personal, true, Mask::Phone),
    f("person", "residence", Class::Personal, false, Mask::None),
    f("person", "relation", Class::Personal, false, Mask::None),
    f("person", "birth_date", Class::Sensitive, true, Mask::BirthDate),
    f("person", "id_number", Class::Sensitive, true, Mask::IdNumber),
    f("person", "care_tags", Class::Sensitive, false, Mask::None),
    f("person", "special_tags", Class::Special, true, Mask::Hidden),
    f("vehicle", "plate", Class::Personal, false, Mask::Plate),
    f("vehicle", "parking", Class::Personal, false, Mask::None),
    f("component", "code", Class::Public, false, Mask::None),
    f("component", "name", Class::Public, false, Mask::None),
    f("component", "state", Class::Public, false, Mask::None),
    f("business", "name", Class::Public, false, Mask::None),
    f("business", "credit_code", Class::Public, false, Mask::None),
    f("business", "address", Class::Public, false, Mask::None),
    f("business", "contact_phone", Class::Personal, true, Mask::Phone),
];

/// The field `record.name` of the table.
pub fn field(record: &str, name: &str) -> Option<&'static Field> {
    FIELDS.iter().find(|f| f.record == record && f.name == name)
}

/// Why someone reads personal data in clear (使用目的). A purpose names a work item the reader
/// may open — a case, and the visits and tasks of the grid work — or gives a reason in words.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Purpose {
    /// A work item of some kind (`case`, …) by id; the reader must be able to open it.
    Item { item_kind: String, id: i64 },
    /// A reason in the reader's words, at least 4 characters.
    Reason { text: String },
}

impl Purpose {
    /// From the API's pair: `kind` is a work kind or `reason`; `value` its id or the text.
    pub fn parse(kind: &str, value: &str) -> Result<Purpose, Invalid> {
        let kind = kind.trim();
        if kind == "reason" {
            let text = crate::text::required("purpose", value)?;
            if text.chars().count() < 4 {
                return Err(Invalid::new("purpose", "must say in at least 4 characters why the data is needed"));
            }
            return Ok(Purpose::Reason { text });
        }
        if kind.is_empty() || !kind.bytes().all(|b| b.is_ascii_lowercase() || b == b'_' || b == b'.') {
            return Err(Invalid::new("purpose_kind", "must be `reason` or a kind of work item such as `case`"));
        }
        let id = value
            .trim()
            .parse::<i64>()
            .ok()
            .filter(|n| *n > 0)
            .ok_or_else(|| Invalid::new("purpose", format!("must be the id of the {kind}")))?;
        Ok(Purpose::Item { item_kind: kind.to_owned(), id })
    }
}

/// What a reader gets of a field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Access {
    Clear,
    Masked,
    /// Not shown, not even masked.
    Hidden,
}

/// The rule every read goes through: what `actor` gets of a field of `class` of a record in
/// `territory`, with or without a (checked) purpose. `own` is true for the person's own record.
pub fn access(actor: &Actor, class: Class, territory: &TerritoryCode, purpose: bool, own: bool) -> Access {
    let t = crate::Target::territory(territory);
    if own && class != Class::Special {
        return Access::Clear;
    }
    if actor.can(Action::ReadArchives, &t).is_err() {
        return Access::Hidden;
    }
    match class {
        Class::Public => Access::Clear,
        Class::Personal | Class::Sensitive => {
            if purpose && actor.can(Action::ReadPersonalData, &t).is_ok() {
                Access::Clear
            } else {
                Access::Masked
            }
        }
        Class::Special => {
            if purpose && actor.can(Action::ReadSpecialGroups, &t).is_ok() {
                Access::Clear
            } else {
                Access::Hidden
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Grant, Role};

    fn actor(role: Role, scope: &str) -> Actor {
        Actor { person_id: 1, grants: vec![Grant { role, scope: TerritoryCode::parse(scope).unwrap(), org: None }] }
    }

    #[test]
    fn every_field_is_classified_once_and_encrypted_where_it_must_be() {
        for (i, a) in FIELDS.iter().enumerate() {
            assert!(FIELDS[i + 1..].iter().all(|b| (a.record, a.name) != (b.record, b.name)), "{a:?} twice");
            if a.class == Class::Special {
                assert!(a.encrypted && a.mask == Mask::Hidden, "{a:?}");
            }
            if a.class == Class::Public {
                assert_eq!(a.mask, Mask::None, "{a:?}");
            }
        }
        assert!(field("person", "id_number").unwrap().encrypted);
        assert!(field("person", "nothing").is_none());
    }

    #[test]
    fn the_rule_by_role_purpose_and_territory() {
        let grid = TerritoryCode::parse("120101001001001").unwrap();
        let gw = actor(Role::GridWorker, "120101001001001");
        let staff = actor(Role::CommunityStaff, "120101001001");
        let other = actor(Role::CommunityStaff, "120101001002");
        let steward = actor(Role::Steward, "120101001001001");
        let leader = actor(Role::CityLeader, "120000");
        assert_eq!(access(&gw, Class::Public, &grid, false, false), Access::Clear);
        assert_eq!(access(&gw, Class::Sensitive, &grid, false, false), Access::Masked);
        assert_eq!(access(&gw, Class::Sensitive, &grid, true, false), Access::Clear);
        assert_eq!(access(&gw, Class::Special, &grid, true, false), Access::Hidden);
        assert_eq!(access(&staff, Class::Special, &grid, false, false), Access::Hidden);
        assert_eq!(access(&staff, Class::Special, &grid, true, false), Access::Clear);
        assert_eq!(access(&other, Class::Public, &grid, true, false), Access::Hidden);
        assert_eq!(access(&steward, Class::Public, &grid, true, false), Access::Hidden);
        // A leader sees figures and masked records, never clear personal data.
        assert_eq!(access(&leader, Class::Personal, &grid, true, false), Access::Masked);
        // One's own record, in clear, except the special groups.
        let resident = actor(Role::Resident, "120101001001");
        assert_eq!(access(&resident, Class::Sensitive, &grid, false, true), Access::Clear);
        assert_eq!(access(&resident, Class::Special, &grid, false, true), Access::Hidden);
    }

    #[test]
    fn masks_and_purposes() {
        assert_eq!(Mask::Plate.apply("津A12345").unwrap(), "津A1***5");
        assert_eq!(Mask::BirthDate.apply("1985-03-04").unwrap(), "1985-**-**");
        assert_eq!(Mask::Hidden.apply("x"), None);
        assert_eq!(Purpose::parse("case", "12").unwrap(), Purpose::Item { item_kind: "case".into(), id: 12 });
        assert_eq!(Purpose::parse("case", "x").unwrap_err().field, "purpose");
        assert_eq!(Purpose::parse("reason", "看").unwrap_err().field, "purpose");
        assert!(Purpose::parse("reason", "入户走访核实独居情况").is_ok());
        assert_eq!(tag("tag", "独居老人").unwrap().0, "living_alone");
        assert!(tag("tag", "vip").is_err());
    }
}
