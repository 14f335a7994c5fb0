//! What people type: the domain's text and identifier parsers, the masking of personal data
//! in free text, and the lexicon's matcher. Any text is accepted or refused with a reason,
//! never a panic.
#![no_main]
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;
use wuzhi_domain::archives::ids::{ComponentCode, CreditCode, IdNumber, Plate};
use wuzhi_domain::{TerritoryCode, text};

fn matcher() -> &'static wuzhi_text::lexicon::Matcher {
    static M: OnceLock<wuzhi_text::lexicon::Matcher> = OnceLock::new();
    M.get_or_init(|| wuzhi_text::lexicon::Matcher::new(&["燃气泄漏", "跳楼", "集体上访", "讨薪", "火灾"]))
}

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else { return };
    let _ = text::required("subject", s);
    let _ = text::name("name", s, 50);
    let _ = text::username(s);
    let _ = text::password("password", s, Some("admin"));
    let _ = text::phone(s);
    let _ = TerritoryCode::parse(s);
    let _ = TerritoryCode::parse_padded(s);
    if let Ok(id) = IdNumber::parse("id_number", s) {
        let _ = (id.region(), id.birth_date(), id.sex());
    }
    let _ = Plate::parse("plate", s).map(|p| p.is_new_energy());
    let _ = CreditCode::parse("credit_code", s);
    let _ = ComponentCode::parse("code", s);
    let _ = wuzhi_domain::calendar::TimeLimit::parse("time_limit", s);
    let masked = wuzhi_domain::mask::in_text(s);
    let _ = matcher().hits(&[s, &masked]);
});
