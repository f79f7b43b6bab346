//! Authentication and authorization of every API route: the middleware that the route table
//! puts in front of each handler, and the [`Caller`] extractor that reads what it found.

use actix_web::body::BoxBody;
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::http::Method;
use actix_web::http::header::{AUTHORIZATION, ORIGIN};
use actix_web::middleware::Next;
use actix_web::{FromRequest, HttpMessage, HttpRequest, ResponseError, web};
use futures_util::future::{Ready, ready};
use subtle::ConstantTimeEq;

use super::accounts::SESSION_COOKIE;
use crate::api::Role;
use crate::{ApiError, AuthMethod, Backend, Caller};

/// The header that carries the session's CSRF token.
pub(crate) const CSRF_HEADER: &str = "x-csrf-token";

/// Who may call a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Access {
    /// Anyone, without credentials.
    Public,
    /// A user with at least this role, by session cookie or API token.
    Role(Role),
}

/// Runs before a route's handler: authenticates the request, checks CSRF for cookie
/// requests that change state, checks the role, and leaves the [`Caller`] for the handler.
pub(crate) async fn check<B: Backend>(
    access: Access,
    req: ServiceRequest,
    next: Next<BoxBody>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    match authorize::<B>(access, &req).await {
        Ok(Some(caller)) => {
            req.extensions_mut().insert(caller);
            next.call(req).await
        }
        Ok(None) => next.call(req).await,
        Err(error) => {
            let response = error.error_response();
            Ok(req.into_response(response))
        }
    }
}

/// The caller allowed to run a route; `None` for a public route.
async fn authorize<B: Backend>(
    access: Access,
    req: &ServiceRequest,
) -> Result<Option<Caller>, ApiError> {
    let Access::Role(least) = access else { return Ok(None) };
    let backend = req.app_data::<web::Data<B>>().ok_or_else(|| {
        ApiError::Internal("no backend in the app data; mount the routes with configure".into())
    })?;
    let request = req.request();
    // A bearer token wins over a cookie: it is what a script meant to send.
    let caller = if let Some(token) = bearer_token(request) {
        backend.authenticate(token).await?
    } else if let Some(cookie) = request.cookie(SESSION_COOKIE) {
        backend.session(cookie.value()).await?
    } else {
        None
    };
    let caller = caller.ok_or(ApiError::Unauthorized)?;
    if let AuthMethod::Session { csrf_token } = &caller.auth
        && changes_state(req.method())
    {
        check_csrf(request, csrf_token)?;
    }
    if caller.role() < least {
        return Err(ApiError::Forbidden(format!(
            "this needs the {} role; user `{}` is {}",
            least.as_str(),
            caller.user.name,
            caller.role().as_str()
        )));
    }
    Ok(Some(caller))
}

/// Methods that may change state; browsers send the others freely across sites.
fn changes_state(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// A cookie is sent by the browser whoever made the page, so a request that changes state
/// must prove it comes from the console: by echoing the session's CSRF token (which another
/// site cannot read) and, when the browser names it, from the same origin.
fn check_csrf(req: &HttpRequest, expected: &str) -> Result<(), ApiError> {
    let sent = req.headers().get(CSRF_HEADER).map(|v| v.as_bytes()).unwrap_or_default();
    if sent.is_empty() || !bool::from(sent.ct_eq(expected.as_bytes())) {
        return Err(ApiError::Csrf(
            "a request with the session cookie that changes state needs the session's \
             `csrf_token` in the X-CSRF-Token header"
                .into(),
        ));
    }
    if let Some(origin) = req.headers().get(ORIGIN) {
        let authority = origin.to_str().ok().and_then(|o| o.split_once("://")).map(|(_, a)| a);
        let info = req.connection_info();
        if authority != Some(info.host()) {
            return Err(ApiError::Csrf(format!(
                "the Origin header ({}) is not this appliance ({}); cross-site requests are refused",
                String::from_utf8_lossy(origin.as_bytes()),
                info.host()
            )));
        }
    }
    Ok(())
}

impl FromRequest for Caller {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    /// The caller the access middleware authenticated; a handler of a public route that asks for one
    /// answers 401.
    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(req.extensions().get::<Caller>().cloned().ok_or(ApiError::Unauthorized))
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

    #[test]
    fn csrf_needs_the_token_and_a_matching_origin() {
        let table: [(&[(&str, &str)], bool); 7] = [
            (&[], false),
            (&[(CSRF_HEADER, "wrong")], false),
            (&[(CSRF_HEADER, "")], false),
            (&[(CSRF_HEADER, "t0k")], true),
            (&[(CSRF_HEADER, "t0k"), ("origin", "http://sonde:8443")], true),
            (&[(CSRF_HEADER, "t0k"), ("origin", "https://evil.example")], false),
            (&[(CSRF_HEADER, "t0k"), ("origin", "null")], false),
        ];
        for (headers, allowed) in table {
            let mut req = TestRequest::post().insert_header(("host", "sonde:8443"));
            for header in headers {
                req = req.insert_header(*header);
            }
            let result = check_csrf(&req.to_http_request(), "t0k");
            assert_eq!(result.is_ok(), allowed, "{headers:?}: {result:?}");
        }
    }
}
