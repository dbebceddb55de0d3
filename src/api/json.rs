//! JSON request bodies. As actix's `Json` (its `JsonConfig`: size limit,
//! content type, errors as problems), read by the domain's
//! [`read`](stampede_domain::input::json::read), which takes integral floats
//! (`5.0`) where an integer is expected. A body must be an object.

use std::ops::Deref;

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest, web};
use futures_util::future::LocalBoxFuture;
use serde::de::DeserializeOwned;
use serde_json::value::RawValue;
use stampede_domain::input::json::read;

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
