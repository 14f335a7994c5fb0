//! Masking of personal data for display (PIPL): a role that does not need a phone number or
//! an ID number sees it masked, and a name shows only its family name.

/// `13812345678` → `138****5678`. Short or odd input keeps only its last two characters.
pub fn phone(s: &str) -> String {
    let chars: Vec<char> = s.chars().collect();
    if chars.len() >= 7 {
        let keep_tail = 4;
        let head: String = chars[..3].iter().collect();
        let tail: String = chars[chars.len() - keep_tail..].iter().collect();
        format!("{head}{}{tail}", "*".repeat(chars.len() - 3 - keep_tail))
    } else {
        tail_only(&chars, 2)
    }
}

/// `120101199001011234` → `120***********1234`.
pub fn id_number(s: &str) -> String {
    let chars: Vec<char> = s.chars().collect();
    if chars.len() >= 8 {
        let head: String = chars[..3].iter().collect();
        let tail: String = chars[chars.len() - 4..].iter().collect();
        format!("{head}{}{tail}", "*".repeat(chars.len() - 7))
    } else {
        tail_only(&chars, 2)
    }
}

/// `张三丰` → `张**`; `Maria Lopez` → `M**********`.
pub fn name(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(first) => format!("{first}{}", "*".repeat(chars.count())),
        None => String::new(),
    }
}

/// `maria.lopez@example.org` → `m**********@example.org`.
pub fn email(s: &str) -> String {
    match s.split_once('@') {
        Some((user, domain)) => format!("{}@{domain}", name(user)),
        None => name(s),
    }
}

/// Text for the public (Open311 reads, public case pages): mobile numbers, fixed lines with
/// an area code and ID numbers written inside it are masked; everything else is kept.
pub fn in_text(s: &str) -> String {
    let chars: Vec<char> = s.chars().collect();
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    while i < chars.len() {
        if !chars[i].is_ascii_digit() || (i > 0 && chars[i - 1].is_ascii_alphanumeric()) {
            out.push(chars[i]);
            i += 1;
            continue;
        }
        // A run of digits, with one dash allowed after an area code (022-12345678) and the
        // final X of an ID number.
        let mut j = i;
        let mut digits = 0;
        let mut dash = false;
        while j < chars.len() {
            let c = chars[j];
            if c.is_ascii_digit() {
                digits += 1;
            } else if c == '-' && !dash && (3..=4).contains(&digits) && chars[i] == '0' {
                dash = true;
            } else if (c == 'X' || c == 'x') && digits == 17 {
                digits += 1;
                j += 1;
                break;
            } else {
                break;
            }
            j += 1;
        }
        let run: String = chars[i..j].iter().collect();
        let followed = j < chars.len() && chars[j].is_ascii_alphanumeric();
        let masked = if followed {
            None
        } else if !dash && digits == 11 && run.starts_with('1') {
            Some(phone(&run))
        } else if !dash && (digits == 18 || digits == 15) {
            Some(id_number(&run))
        } else if run.starts_with('0') && (10..=12).contains(&digits) {
            Some(phone(&run))
        } else {
            None
        };
        out.push_str(masked.as_deref().unwrap_or(&run));
        i = j;
    }
    out
}

fn tail_only(chars: &[char], keep: usize) -> String {
    let n = chars.len();
    let keep = keep.min(n / 2);
    let tail: String = chars[n - keep..].iter().collect();
    format!("{}{tail}", "*".repeat(n - keep))
}

#[cfg(test)]
mod tests {
    #[test]
    fn numbers_inside_public_text_are_masked() {
        assert_eq!(super::in_text("请联系13812345678，谢谢"), "请联系138****5678，谢谢");
        assert_eq!(super::in_text("身份证120101199001011234X号"), "身份证120101199001011234X号");
        assert_eq!(super::in_text("身份证12010119900101123X。"), "身份证120***********123X。");
        assert_eq!(super::in_text("座机022-23456789"), "座机022*****6789");
        assert_eq!(super::in_text("小区3号楼2单元，漏水200多天"), "小区3号楼2单元，漏水200多天");
        assert_eq!(super::in_text("order A13812345678"), "order A13812345678");
        assert_eq!(super::email("maria.lopez@example.org"), "m**********@example.org");
    }

    #[test]
    fn masks() {
        assert_eq!(super::phone("13812345678"), "138****5678");
        assert_eq!(super::id_number("120101199001011234"), "120***********1234");
        assert_eq!(super::name("张三丰"), "张**");
        assert_eq!(super::phone("1234"), "**34");
        assert_eq!(super::name(""), "");
    }
}
