//! JSON request bodies. As actix's `Json` (its `JsonConfig`: size limit,
//! content type, errors as problems), and also taking integral floats
//! (`5.0`) where an integer is expected: JSON has one number type, and JSON
//! Schema counts `5.0` as an integer, so a client generated from the
//! document may send one. The body is read straight into `T`; only a body
//! refused for a float is read again, with its integral floats made
//! integers, so the usual request pays for nothing. A body must be an
//! object.

use std::ops::Deref;

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest, web};
use futures_util::future::LocalBoxFuture;
use serde::de::DeserializeOwned;
use serde_json::Value;
use serde_json::value::RawValue;

use super::problem::{ApiError, Code};

pub struct Json<T>(pub T);

impl<T> Json<T> {
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> Deref for Json<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T: DeserializeOwned + 'static> FromRequest for Json<T> {
    type Error = actix_web::Error;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let raw = web::Json::<Box<RawValue>>::from_request(req, payload);
        Box::pin(async move {
            let raw = raw.await?.into_inner();
            // Every body of this API is an object; serde would also read a
            // struct from an array of its fields in order.
            if !raw.get().starts_with('{') {
                return Err(ApiError::new(Code::InvalidJson).detail("the body must be a JSON object").into());
            }
            read(raw.get()).map(Json).map_err(|e| ApiError::new(Code::InvalidJson).detail(e.to_string()).into())
        })
    }
}

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
