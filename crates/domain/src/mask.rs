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

fn tail_only(chars: &[char], keep: usize) -> String {
    let n = chars.len();
    let keep = keep.min(n / 2);
    let tail: String = chars[n - keep..].iter().collect();
    format!("{}{tail}", "*".repeat(n - keep))
}

#[cfg(test)]
mod tests {
    #[test]
    fn masks() {
        assert_eq!(super::phone("13812345678"), "138****5678");
        assert_eq!(super::id_number("120101199001011234"), "120***********1234");
        assert_eq!(super::name("张三丰"), "张**");
        assert_eq!(super::phone("1234"), "**34");
        assert_eq!(super::name(""), "");
    }
}
