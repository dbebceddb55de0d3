//! Phone numbers as a customer writes them ("+34 600 12-34-56", "(030)
//! 1234567") and as they are kept and looked up: the digits, with the
//! leading `+` if there was one. A cashier typing the number in another
//! layout finds the same customer.

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("must be 3 to 20 digits, optionally with spaces and + - ( ) . /")]
pub struct BadPhone;

/// The number's kept form, or why it is not one.
pub fn normalize(raw: &str) -> Result<String, BadPhone> {
    let raw = raw.trim();
    if raw.chars().count() > 32 || !raw.chars().all(|c| c.is_ascii_digit() || " +-()./".contains(c)) {
        return Err(BadPhone);
    }
    // A `+` only as the first character: it says the country code follows.
    if raw.char_indices().any(|(i, c)| c == '+' && i > 0) {
        return Err(BadPhone);
    }
    let digits: String = raw.chars().filter(char::is_ascii_digit).collect();
    if !(3..=20).contains(&digits.len()) {
        return Err(BadPhone);
    }
    Ok(if raw.starts_with('+') { format!("+{digits}") } else { digits })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layouts_of_one_number_agree() {
        assert_eq!(normalize("+34 600 12-34-56").as_deref(), Ok("+34600123456"));
        assert_eq!(normalize(" +34 (600) 123.456 ").as_deref(), Ok("+34600123456"));
        assert_eq!(normalize("030/1234567").as_deref(), Ok("0301234567"));
    }

    #[test]
    fn anything_else_is_refused() {
        for bad in ["", "12", "phone", "+34 600 1234 5678 9012 3456", "34+600123", "600\u{0}123", "１２３４"] {
            assert_eq!(normalize(bad), Err(BadPhone), "{bad:?}");
        }
    }
}
