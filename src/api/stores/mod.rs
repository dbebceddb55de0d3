//! Stores: create (brand managers within their brand, owners and admins
//! anywhere), list (what the caller may see), read, change (store managers and
//! up, within scope; moving a store to another brand needs an owner or admin).

pub mod create;
pub mod get;
pub mod list;
pub mod update;

use super::input::Fields;

/// An IANA time zone name.
pub fn timezone(f: &mut Fields, tz: &str) -> Option<String> {
    match tz.parse::<chrono_tz::Tz>() {
        Ok(_) => Some(tz.to_owned()),
        Err(_) => {
            f.push("timezone", "must be an IANA time zone such as Europe/Berlin");
            None
        }
    }
}

/// A postal address: an object of short strings.
pub fn address(f: &mut Fields, a: &serde_json::Value) -> bool {
    let ok = a.as_object().is_some_and(|o| {
        o.len() <= 10 && o.iter().all(|(k, v)| k.len() <= 40 && v.as_str().is_some_and(|s| s.chars().count() <= 200))
    });
    if !ok {
        f.push("address", "must be an object of at most 10 text fields (street, city, postcode, country, …)");
    }
    ok
}
