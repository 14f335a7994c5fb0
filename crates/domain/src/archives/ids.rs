//! The archives' identifiers, each parsed with its check rule so a value that exists is
//! valid: the resident identity number (居民身份证号码, GB 11643-1999), vehicle plates (GA 36,
//! with the new-energy plates), the unified social credit code (统一社会信用代码, GB
//! 32100-2015) and city component codes (部件编码, CJ/T 214-2007).

use crate::Invalid;
use std::fmt;

/// An 18-character resident identity number whose check character is right and whose birth
/// date is a real date: 6 digits of the region it was issued in, the birth date as
/// `YYYYMMDD`, a 3-digit sequence (odd for men, even for women) and the check character
/// (`0`–`9` or `X`), the ISO 7064 MOD 11-2 checksum of the first 17.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct IdNumber(String);

const ID_WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const ID_CHECK: [char; 11] = ['1', '0', 'X', '9', '8', '7', '6', '5', '4', '3', '2'];

/// The check character for the first 17 digits of an identity number.
pub fn id_check_char(first17: &[u8]) -> char {
    let sum: u32 = first17.iter().zip(ID_WEIGHTS).map(|(d, w)| u32::from(d - b'0') * w).sum();
    ID_CHECK[(sum % 11) as usize]
}

impl IdNumber {
    pub fn parse(field: &str, s: &str) -> Result<IdNumber, Invalid> {
        let t: String = s.trim().chars().map(|c| c.to_ascii_uppercase()).collect();
        let b = t.as_bytes();
        if b.len() != 18 {
            return Err(Invalid::new(field, "must be 18 characters (a resident identity number)"));
        }
        if !b[..17].iter().all(u8::is_ascii_digit) || !(b[17].is_ascii_digit() || b[17] == b'X') {
            return Err(Invalid::new(field, "must be 17 digits and a digit or X"));
        }
        if !(11..=82).contains(&((b[0] - b'0') * 10 + (b[1] - b'0'))) {
            return Err(Invalid::new(field, "does not start with a province code"));
        }
        let (y, m, d) = (digits(&b[6..10]), digits(&b[10..12]), digits(&b[12..14]));
        if !(1900..=2100).contains(&y) || !is_date(y, m, d) {
            return Err(Invalid::new(field, "does not hold a real birth date"));
        }
        if id_check_char(&b[..17]) != b[17] as char {
            return Err(Invalid::new(field, "has a wrong check digit"));
        }
        Ok(IdNumber(t))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The region code of issue (the first six digits).
    pub fn region(&self) -> &str {
        &self.0[..6]
    }

    /// (year, month, day) of birth.
    pub fn birth_date(&self) -> (u32, u32, u32) {
        let b = self.0.as_bytes();
        (digits(&b[6..10]), digits(&b[10..12]), digits(&b[12..14]))
    }

    /// `M` or `F`, from the parity of the sequence.
    pub fn sex(&self) -> Sex {
        if (self.0.as_bytes()[16] - b'0') % 2 == 1 { Sex::M } else { Sex::F }
    }
}

/// Never prints the number: only its masked form.
impl fmt::Debug for IdNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "IdNumber({})", crate::mask::id_number(&self.0))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum Sex {
    M,
    F,
}

impl Sex {
    pub fn as_str(self) -> &'static str {
        match self {
            Sex::M => "M",
            Sex::F => "F",
        }
    }
    pub fn parse(field: &str, s: &str) -> Result<Sex, Invalid> {
        match s.trim() {
            "M" | "m" | "男" => Ok(Sex::M),
            "F" | "f" | "女" => Ok(Sex::F),
            other => Err(Invalid::new(field, format!("`{other}` is not M/F (男/女)"))),
        }
    }
}

fn digits(b: &[u8]) -> u32 {
    b.iter().fold(0, |n, d| n * 10 + u32::from(d - b'0'))
}

/// Whether y-m-d is a date of the Gregorian calendar.
pub fn is_date(y: u32, m: u32, d: u32) -> bool {
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let days = match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    (1..=days).contains(&d)
}

/// The one-character abbreviations of the provinces that lead a plate.
const PROVINCES: &str = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼";

/// A vehicle plate (号牌), written without the dot or spaces: a province's character, the
/// issuing office's letter, then either five letters or digits (an ordinary plate; the last
/// may be 学, 挂 or 警) or six (a new-energy plate: a small car's starts with D or F, the
/// battery or hybrid mark, a large vehicle's ends with it). I and O are never used.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Plate {
    text: String,
    new_energy: bool,
}

impl Plate {
    pub fn parse(field: &str, s: &str) -> Result<Plate, Invalid> {
        let t: String =
            s.chars().filter(|c| !c.is_whitespace() && !"·.•-".contains(*c)).map(|c| c.to_ascii_uppercase()).collect();
        let chars: Vec<char> = t.chars().collect();
        // The plate is personal data: the reason never quotes it.
        let bad = |why: &str| Err(Invalid::new(field, why));
        if chars.len() < 7 || chars.len() > 8 {
            return bad("is not a plate of 7 characters (8 for a new-energy vehicle)");
        }
        if !PROVINCES.contains(chars[0]) {
            return bad("does not start with a province's character");
        }
        if !chars[1].is_ascii_uppercase() || "IO".contains(chars[1]) {
            return bad("has no issuing office letter after the province");
        }
        let rest = &chars[2..];
        let alnum = |c: &char| (c.is_ascii_uppercase() && !"IO".contains(*c)) || c.is_ascii_digit();
        if rest.len() == 5 {
            let (body, last) = rest.split_at(4);
            if body.iter().all(alnum) && (alnum(&last[0]) || "学挂警".contains(last[0])) {
                return Ok(Plate { text: t, new_energy: false });
            }
            return bad("has characters a plate does not use");
        }
        let small = "DF".contains(rest[0]) && alnum(&rest[1]) && rest[2..].iter().all(char::is_ascii_digit);
        let large = rest[..5].iter().all(char::is_ascii_digit) && "DF".contains(rest[5]);
        if small || large {
            Ok(Plate { text: t, new_energy: true })
        } else {
            bad("is not a new-energy plate (D or F first for a small car, last for a large one)")
        }
    }
    pub fn as_str(&self) -> &str {
        &self.text
    }
    pub fn is_new_energy(&self) -> bool {
        self.new_energy
    }
}

/// The 31 characters of a credit code, in the order their values run (no I, O, Z, S, V).
const USCC_CHARS: &str = "0123456789ABCDEFGHJKLMNPQRTUWXY";
const USCC_WEIGHTS: [u32; 17] = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28];

/// The check character of a credit code's first 17 characters (which must be of its set).
pub fn credit_check_char(first17: &str) -> Option<char> {
    let mut sum = 0;
    for (c, w) in first17.chars().zip(USCC_WEIGHTS) {
        sum += USCC_CHARS.find(c)? as u32 * w;
    }
    let v = (31 - sum % 31) % 31;
    USCC_CHARS.chars().nth(v as usize)
}

/// A unified social credit code (统一社会信用代码): 18 characters, the registering authority
/// and kind of entity, the 6-digit region, the 9-character organisation code, and a check
/// character (GB 32100-2015, MOD 31).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CreditCode(String);

impl CreditCode {
    pub fn parse(field: &str, s: &str) -> Result<CreditCode, Invalid> {
        let t: String = s.trim().to_ascii_uppercase();
        if t.chars().count() != 18 || !t.chars().all(|c| USCC_CHARS.contains(c)) {
            return Err(Invalid::new(field, "must be 18 digits and capital letters (no I, O, S, V, Z)"));
        }
        if !t[2..8].bytes().all(|b| b.is_ascii_digit()) {
            return Err(Invalid::new(field, "has no 6-digit region code in places 3 to 8"));
        }
        if credit_check_char(&t[..17]) != t[17..].chars().next() {
            return Err(Invalid::new(field, "has a wrong check character"));
        }
        Ok(CreditCode(t))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The major classes of city components in CJ/T 214-2007.
pub const COMPONENT_CLASSES: [(&str, &str); 6] = [
    ("01", "公用设施"),
    ("02", "道路交通"),
    ("03", "市容环境"),
    ("04", "园林绿化"),
    ("05", "房屋土地"),
    ("06", "其他设施"),
];

/// A city component code (部件编码, CJ/T 214-2007): 16 digits — the county-level region
/// (6), the major class (2), the minor class (2) and a serial number (6).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ComponentCode(String);

impl ComponentCode {
    pub fn parse(field: &str, s: &str) -> Result<ComponentCode, Invalid> {
        let t = s.trim();
        if t.len() != 16 || !t.bytes().all(|b| b.is_ascii_digit()) {
            return Err(Invalid::new(field, "must be 16 digits (a CJ/T 214 component code)"));
        }
        if !COMPONENT_CLASSES.iter().any(|(c, _)| *c == &t[6..8]) {
            return Err(Invalid::new(field, format!("has major class `{}`, not one of 01–06", &t[6..8])));
        }
        if &t[8..10] == "00" {
            return Err(Invalid::new(field, "has minor class 00"));
        }
        Ok(ComponentCode(t.to_owned()))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
    /// The county-level region the component is registered in.
    pub fn region(&self) -> &str {
        &self.0[..6]
    }
    pub fn major_class(&self) -> &str {
        &self.0[6..8]
    }
    pub fn minor_class(&self) -> &str {
        &self.0[8..10]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn identity_numbers_are_checked() {
        // The standard's own example.
        let id = IdNumber::parse("id", "11010519491231002X").unwrap();
        assert_eq!(id.region(), "110105");
        assert_eq!(id.birth_date(), (1949, 12, 31));
        assert_eq!(id.sex(), Sex::F);
        assert_eq!(format!("{id:?}"), "IdNumber(110***********002X)");
        assert_eq!(IdNumber::parse("id", "11010519491231002x").unwrap().as_str(), "11010519491231002X");
        let why = |s| IdNumber::parse("id", s).unwrap_err().reason;
        assert_eq!(why("110105194912310021"), "has a wrong check digit");
        assert_eq!(why("11010519490231002X"), "does not hold a real birth date");
        assert_eq!(why("1101051949123100"), "must be 18 characters (a resident identity number)");
        assert_eq!(why("00010519491231002X"), "does not start with a province code");
        assert_eq!(why("1101051949123100A2"), "must be 17 digits and a digit or X");
    }

    proptest! {
        /// Any 17 digits with a province and a real date, given their check character, parse;
        /// any other last character does not.
        #[test]
        fn the_check_character_decides(seq in 0u32..1000, day in 1u32..=28, month in 1u32..=12, year in 1900u32..2030, wrong in 0usize..11) {
            let first = format!("120101{year:04}{month:02}{day:02}{seq:03}");
            let right = id_check_char(first.as_bytes());
            let good = format!("{first}{right}");
            prop_assert!(IdNumber::parse("id", &good).is_ok());
            let other = ID_CHECK[wrong];
            if other != right {
                let bad = format!("{first}{other}");
                prop_assert!(IdNumber::parse("id", &bad).is_err());
            }
        }
    }

    #[test]
    fn plates_ordinary_and_new_energy() {
        let p = Plate::parse("plate", "津A·12345").unwrap();
        assert_eq!(p.as_str(), "津A12345");
        assert!(!p.is_new_energy());
        assert!(Plate::parse("plate", "津AD12345").unwrap().is_new_energy());
        assert!(Plate::parse("plate", "津A12345F").unwrap().is_new_energy());
        assert!(Plate::parse("plate", "津A1234学").is_ok());
        for bad in ["A12345", "津A1234", "津AI2345", "津A12O45", "津AX12345", "X津12345", "津a1234567"] {
            assert!(Plate::parse("plate", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn credit_codes_are_checked() {
        let body = "91120101MA05T0EA4";
        let check = credit_check_char(body).unwrap();
        let code = format!("{body}{check}");
        assert_eq!(CreditCode::parse("credit_code", &code).unwrap().as_str(), code);
        let other = if check == '0' { '1' } else { '0' };
        assert_eq!(
            CreditCode::parse("credit_code", &format!("{body}{other}")).unwrap_err().reason,
            "has a wrong check character"
        );
        assert!(CreditCode::parse("credit_code", "91120101MA05T0EAI0").is_err());
        // Worked by hand from the standard's weights: 9·1+1·3+1·9+2·27+0·19+1·26+0·16+1·17
        // +M(21)·20+A(10)·29+0·25+5·13+T(26)·8+0·24+E(14)·10+A(10)·30+4·28 = 1,653;
        // 1,653 mod 31 = 10, 31 − 10 = 21 → M.
        assert_eq!(check, 'M');
    }

    #[test]
    fn component_codes() {
        let c = ComponentCode::parse("code", "1201010101000001").unwrap();
        assert_eq!((c.region(), c.major_class(), c.minor_class()), ("120101", "01", "01"));
        assert!(ComponentCode::parse("code", "1201010901000001").is_err());
        assert!(ComponentCode::parse("code", "1201010100000001").is_err());
        assert!(ComponentCode::parse("code", "120101010100001").is_err());
    }
}
