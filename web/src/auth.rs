//! Bearer-token authentication: [`Caller`] is an extractor, so a handler that takes one runs
//! only for requests whose token the backend accepts.

use std::rc::Rc;

use actix_web::dev::Payload;
use actix_web::http::header::AUTHORIZATION;
use actix_web::{FromRequest, HttpRequest, web};
use futures_util::future::LocalBoxFuture;

use crate::{ApiError, Backend, Caller};

/// What [`Authenticator`] calls: a token in, the caller it belongs to out.
type Authenticate = dyn Fn(String) -> LocalBoxFuture<'static, Result<Option<Caller>, ApiError>>;

/// [`Backend::authenticate`] with the backend's type erased, stored in the app data by
/// [`crate::configure`].
///
/// [`Caller`] is not generic over the backend, so its extractor cannot name `web::Data<B>`;
/// this closure is how it reaches the backend. `Rc` suffices: each worker builds its own app.
#[derive(Clone)]
pub(crate) struct Authenticator(Rc<Authenticate>);

impl Authenticator {
    /// Authenticates through `backend`.
    pub(crate) fn new<B: Backend>(backend: web::Data<B>) -> Self {
        Self(Rc::new(move |token| {
            let backend = backend.clone();
            Box::pin(async move { backend.authenticate(&token).await })
        }))
    }
}

impl FromRequest for Caller {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let authenticator = req.app_data::<Authenticator>().cloned();
        let token = bearer_token(req).map(str::to_owned);
        Box::pin(async move {
            let Some(Authenticator(authenticate)) = authenticator else {
                return Err(ApiError::Internal(
                    "no authenticator in the app data; mount the routes with sonde_web::configure"
                        .to_owned(),
                ));
            };
            let token = token.ok_or(ApiError::Unauthorized)?;
            authenticate(token).await?.ok_or(ApiError::Unauthorized)
        })
    }
}

/// The token of the request's `Authorization: Bearer <token>` header, if it has one.
fn bearer_token(req: &HttpRequest) -> Option<&str> {
    let value = req.headers().get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    // RFC 7235 section 2.1: the scheme name is case-insensitive.
    (scheme.eq_ignore_ascii_case("Bearer") && !token.is_empty()).then_some(token)
}

#[cfg(test)]
mod tests {
    use actix_web::test::TestRequest;

    use super::*;

    #[test]
    fn bearer_token_accepts_only_the_bearer_scheme_with_a_token() {
        let table = [
            ("Bearer s3cret", Some("s3cret")),
            ("bearer s3cret", Some("s3cret")),
            ("BEARER  s3cret ", Some("s3cret")),
            ("Basic dXNlcjpwdw==", None),
            ("Bearer", None),
            ("Bearer ", None),
            ("Bearers3cret", None),
            ("", None),
        ];
        for (header, expected) in table {
            let req =
                TestRequest::default().insert_header((AUTHORIZATION, header)).to_http_request();
            assert_eq!(bearer_token(&req), expected, "{header:?}");
        }
        assert_eq!(bearer_token(&TestRequest::default().to_http_request()), None);
    }
}
