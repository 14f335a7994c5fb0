//! The division-code CSV import: any bytes parse to a batch or a list of problems, and a
//! batch validates, without a panic.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(mut batch) = wuzhi_geo::territory::parse_divisions_csv(text) {
        let _ = wuzhi_geo::territory::validate(&mut batch, &|_| None);
    }
});
