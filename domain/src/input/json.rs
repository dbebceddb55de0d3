//! JSON bodies read as a client generated from the API document may send
//! them: JSON has one number type, and JSON Schema counts `5.0` as an
//! integer, so an integral float is taken where an integer is expected. The
//! text is read straight into `T`; only a text refused for a float is read
//! again, its integral floats made integers, so the usual body pays for
//! nothing.

use serde::de::DeserializeOwned;
use serde_json::Value;

/// `T` from a JSON text, integral floats taken as integers.
pub fn read<T: DeserializeOwned>(text: &str) -> Result<T, serde_json::Error> {
    match serde_json::from_str(text) {
        Err(e) if e.is_data() && e.to_string().starts_with("invalid type: floating point") => {
            let mut value: Value = serde_json::from_str(text)?;
            integral(&mut value);
            serde_json::from_value(value)
        }
        other => other,
    }
}

/// Make every float with no fraction (within `i64`) an integer.
fn integral(v: &mut Value) {
    match v {
        Value::Number(n) if n.is_f64() => {
            if let Some(f) = n.as_f64()
                && f.fract() == 0.0
                && f >= i64::MIN as f64
                && f < i64::MAX as f64
            {
                *v = Value::from(f as i64);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(integral),
        Value::Object(fields) => fields.values_mut().for_each(integral),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::read;

    #[derive(serde::Deserialize, Debug, PartialEq)]
    #[serde(deny_unknown_fields)]
    struct Body {
        count: u32,
        amount: Option<i64>,
        rate: f64,
        nested: Vec<i64>,
    }

    #[test]
    fn integral_floats_count_as_integers_and_fractions_do_not() {
        let b: Body = read(r#"{"count": 2.0, "amount": -5e2, "rate": 1.5, "nested": [1.0, 2]}"#).expect("read");
        assert_eq!(b, Body { count: 2, amount: Some(-500), rate: 1.5, nested: vec![1, 2] });
        assert!(read::<Body>(r#"{"count": 2.5, "amount": null, "rate": 1, "nested": []}"#).is_err());
        assert!(read::<Body>(r#"{"count": -1.0, "amount": null, "rate": 1, "nested": []}"#).is_err(), "a sign");
        assert!(read::<Body>(r#"{"count": 1e30, "amount": null, "rate": 1, "nested": []}"#).is_err(), "a range");
        let err =
            read::<Body>(r#"{"count": 1, "amount": null, "rate": 1, "nested": [], "x": 1}"#).expect_err("unknown");
        assert!(err.to_string().contains("unknown field `x`"), "{err}");
    }
}
