//! Email templates and their renderer. Templates live in `templates/email/` as
//! `<name>.subject`, `<name>.txt` and `<name>.html`, with `{{placeholder}}`s.
//! Values are HTML-escaped in the HTML part. Rendering fails if a placeholder is
//! left without a value, so a typo never reaches a customer.

use std::collections::HashMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Template {
    VerifyEmail,
    AccountExists,
    PasswordReset,
    StaffInvitation,
    RewardEarned,
    PointsExpiring,
    /// Marketing: only to customers whose consent is on, always with an
    /// unsubscribe link.
    Marketing,
    ExportReady,
    /// A card started for a walk-in customer at the counter, with the link
    /// that lets them claim the account it made.
    CardWaiting,
}

impl Template {
    /// Every template (`name` is exhaustive; add a new one here too).
    pub const ALL: [Template; 9] = [
        Template::VerifyEmail,
        Template::AccountExists,
        Template::PasswordReset,
        Template::StaffInvitation,
        Template::RewardEarned,
        Template::PointsExpiring,
        Template::Marketing,
        Template::ExportReady,
        Template::CardWaiting,
    ];

    /// The name a message gives this template (`reward_earned`, ...).
    pub fn name(self) -> &'static str {
        match self {
            Template::VerifyEmail => "verify_email",
            Template::AccountExists => "account_exists",
            Template::PasswordReset => "password_reset",
            Template::StaffInvitation => "staff_invitation",
            Template::RewardEarned => "reward_earned",
            Template::PointsExpiring => "points_expiring",
            Template::Marketing => "marketing",
            Template::ExportReady => "export_ready",
            Template::CardWaiting => "card_waiting",
        }
    }

    /// The template a message names.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.name() == name)
    }

    fn sources(self) -> (&'static str, &'static str, &'static str) {
        macro_rules! t {
            ($n:literal) => {
                (
                    include_str!(concat!("../templates/email/", $n, ".subject")),
                    include_str!(concat!("../templates/email/", $n, ".txt")),
                    include_str!(concat!("../templates/email/", $n, ".html")),
                )
            };
        }
        match self {
            Template::VerifyEmail => t!("verify_email"),
            Template::AccountExists => t!("account_exists"),
            Template::PasswordReset => t!("password_reset"),
            Template::StaffInvitation => t!("staff_invitation"),
            Template::RewardEarned => t!("reward_earned"),
            Template::PointsExpiring => t!("points_expiring"),
            Template::Marketing => t!("marketing"),
            Template::ExportReady => t!("export_ready"),
            Template::CardWaiting => t!("card_waiting"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    pub subject: String,
    pub text: String,
    pub html: String,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("template placeholder {{{{{0}}}}} has no value")]
pub struct MissingValue(pub String);

pub fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn fill(source: &str, values: &HashMap<&str, &str>, html: bool) -> Result<String, MissingValue> {
    let mut out = String::with_capacity(source.len() + 64);
    let mut rest = source;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after.find("}}").ok_or_else(|| MissingValue("(unclosed)".into()))?;
        let name = after[..end].trim();
        let value = values.get(name).ok_or_else(|| MissingValue(name.to_owned()))?;
        if html {
            out.push_str(&escape_html(value));
        } else {
            out.push_str(value);
        }
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    Ok(out)
}

pub fn render(template: Template, values: &[(&str, &str)]) -> Result<Rendered, MissingValue> {
    let values: HashMap<&str, &str> = values.iter().copied().collect();
    let (subject, text, html) = template.sources();
    Ok(Rendered {
        subject: fill(subject.trim(), &values, false)?.replace(['\r', '\n'], " "),
        text: fill(text, &values, false)?,
        html: fill(html, &values, true)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_template_is_found_by_its_name() {
        for template in Template::ALL {
            assert_eq!(Template::from_name(template.name()), Some(template));
        }
        assert_eq!(Template::from_name("verify-email"), None);
    }

    #[test]
    fn fills_and_escapes() {
        let r = render(Template::VerifyEmail, &[("name", "<Ada>"), ("link", "https://x.test/v?token=a&b=1")])
            .expect("render");
        assert!(r.text.contains("<Ada>"), "text is not escaped: {}", r.text);
        assert!(r.html.contains("&lt;Ada&gt;"), "html is escaped: {}", r.html);
        assert!(r.html.contains("token=a&amp;b=1"));
        assert!(!r.subject.contains('\n'));
    }

    #[test]
    fn marketing_always_carries_its_unsubscribe_link() {
        let values = [("name", "A"), ("business", "B"), ("subject", "News"), ("body", "Hi")];
        assert_eq!(render(Template::Marketing, &values), Err(MissingValue("unsubscribe_link".into())));
        let mut with = values.to_vec();
        with.push(("unsubscribe_link", "https://x.test/u?token=t"));
        let r = render(Template::Marketing, &with).expect("renders");
        assert!(r.text.contains("Unsubscribe: https://x.test/u?token=t"));
        assert!(r.html.contains("href=\"https://x.test/u?token=t\""));
    }

    #[test]
    fn a_missing_value_is_an_error() {
        assert_eq!(render(Template::VerifyEmail, &[("name", "Ada")]), Err(MissingValue("link".into())));
    }

    #[test]
    fn every_template_renders_with_its_values() {
        let all = [
            ("name", "A"),
            ("link", "L"),
            ("business", "B"),
            ("role", "R"),
            ("inviter", "I"),
            ("program", "P"),
            ("reward", "W"),
            ("amount", "5"),
            ("date", "2026-12-31"),
            ("balance", "12"),
            ("subject", "S"),
            ("body", "Body"),
            ("unsubscribe_link", "U"),
            ("what", "transactions"),
            ("expires", "tomorrow"),
        ];
        for t in Template::ALL {
            let r = render(t, &all).expect("renders");
            assert!(!r.subject.is_empty() && !r.text.is_empty() && r.html.contains("<html"));
        }
    }
}
