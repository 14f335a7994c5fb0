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

/// Text for the public (Open311 reads, public case pages, draft look-ups): personal data
/// written inside it is masked — mobile numbers however they are spaced (`13800138000`,
/// `138 0013 8000`, `138-0013-8000`, `+86 138 0013 8000`), fixed lines with an area code
/// (`022-23456789`), identity numbers (15 or 18 characters) and e-mail addresses; everything
/// else is kept.
pub fn in_text(s: &str) -> String {
    let chars: Vec<char> = s.chars().collect();
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    while i < chars.len() {
        if let Some(end) = email_at(&chars, i) {
            let found: String = chars[i..end].iter().collect();
            out.push_str(&email(&found));
            i = end;
            continue;
        }
        let starts_number = chars[i].is_ascii_digit() || (chars[i] == '+' && chars.get(i + 1) == Some(&'8'));
        if !starts_number || (i > 0 && chars[i - 1].is_ascii_alphanumeric()) {
            out.push(chars[i]);
            i += 1;
            continue;
        }
        let (end, masked) = number_at(&chars, i);
        match masked {
            Some(m) => out.push_str(&m),
            None => out.extend(&chars[i..end]),
        }
        i = end;
    }
    out
}

/// A number starting at `i` (digits with single spaces or dashes between groups, an optional
/// `+86` or `86` country code and the final X of an ID number): where it ends and, if it is
/// a phone or ID number, its masked form.
fn number_at(chars: &[char], i: usize) -> (usize, Option<String>) {
    let mut j = i;
    let mut digits = String::new();
    let mut separated = false;
    if chars[j] == '+' {
        j += 1;
    }
    while j < chars.len() {
        let c = chars[j];
        if c.is_ascii_digit() {
            digits.push(c);
            j += 1;
        } else if (c == ' ' || c == '-') && chars.get(j + 1).is_some_and(|n| n.is_ascii_digit()) && !digits.is_empty() {
            separated = true;
            j += 1;
        } else if (c == 'X' || c == 'x') && digits.len() == 17 {
            digits.push('X');
            j += 1;
            break;
        } else {
            break;
        }
    }
    // Part of a longer word or code: leave it.
    if j < chars.len() && chars[j].is_ascii_alphanumeric() {
        return (j, None);
    }
    let national = digits.strip_prefix("86").filter(|d| d.len() == 11 && d.starts_with('1'));
    let masked = if let Some(d) = national {
        Some(phone(d))
    } else if digits.len() == 11 && digits.starts_with('1') {
        Some(phone(&digits))
    } else if !separated && (digits.len() == 18 || digits.len() == 15) {
        Some(id_number(&digits))
    } else if digits.starts_with('0') && (10..=12).contains(&digits.len()) {
        Some(phone(&digits))
    } else {
        None
    };
    match masked {
        Some(m) => (j, Some(m)),
        // Not personal data: give back only the first group, so `3号楼 2 单元` keeps its spaces.
        None => {
            let mut k = i + 1;
            while k < j && chars[k].is_ascii_digit() {
                k += 1;
            }
            (k, None)
        }
    }
}

/// An e-mail address starting at `i`: where it ends.
fn email_at(chars: &[char], i: usize) -> Option<usize> {
    let local = |c: char| c.is_ascii_alphanumeric() || "._%+-".contains(c);
    if !local(chars[i]) || (i > 0 && local(chars[i - 1])) {
        return None;
    }
    let mut j = i;
    while j < chars.len() && local(chars[j]) {
        j += 1;
    }
    if j == i || chars.get(j) != Some(&'@') {
        return None;
    }
    let start = j + 1;
    let mut k = start;
    while k < chars.len() && (chars[k].is_ascii_alphanumeric() || chars[k] == '-' || chars[k] == '.') {
        k += 1;
    }
    while k > start && chars[k - 1] == '.' {
        k -= 1;
    }
    let domain: String = chars[start..k].iter().collect();
    (domain.contains('.') && !domain.starts_with('.')).then_some(k)
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
        assert_eq!(super::in_text("座机022-23456789"), "座机022****6789");
        assert_eq!(super::in_text("小区3号楼2单元，漏水200多天"), "小区3号楼2单元，漏水200多天");
        assert_eq!(super::in_text("order A13812345678"), "order A13812345678");
        assert_eq!(super::email("maria.lopez@example.org"), "m**********@example.org");
    }

    /// Reading found that only unbroken runs of digits were caught.
    #[test]
    fn phones_however_written_and_e_mail_addresses_are_masked() {
        let m = super::in_text;
        assert_eq!(m("电话 138 0013 8000 找王师傅"), "电话 138****8000 找王师傅");
        assert_eq!(m("电话138-0013-8000"), "电话138****8000");
        assert_eq!(m("call +86 138 0013 8000."), "call 138****8000.");
        assert_eq!(m("拨8613800138000"), "拨138****8000");
        assert_eq!(m("邮箱 wang.li@example.com。"), "邮箱 w******@example.com。");
        assert_eq!(m("身份证号 120101199001011234，"), "身份证号 120***********1234，");
        assert_eq!(m("3号楼 2 单元 502 室，共 12 户"), "3号楼 2 单元 502 室，共 12 户");
        assert_eq!(m("2024-05-06 下午"), "2024-05-06 下午");
        assert_eq!(m("a@b 不是地址"), "a@b 不是地址");
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
