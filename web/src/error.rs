//! Domain errors of the API and their one mapping to HTTP.

use actix_web::http::StatusCode;
use actix_web::http::header::{RETRY_AFTER, WWW_AUTHENTICATE};
use actix_web::{HttpResponse, ResponseError};

use crate::api::{ErrorBody, ErrorDetail};

/// An error the API reports as `{ "error": { "code", "message" } }`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ApiError {
    /// The request is malformed or asks for something invalid (400, `bad_request`).
    #[error("{0}")]
    BadRequest(String),
    /// No valid session cookie or bearer token (401, `unauthorized`).
    #[error(
        "log in (POST /api/v1/session) or send a valid `Authorization: Bearer <token>` header; \
         create a token with `sonde token create`"
    )]
    Unauthorized,
    /// Wrong user name or password at login (401, `unauthorized`).
    #[error("wrong user name or password")]
    BadCredentials,
    /// The caller's role is too low, or the credential does not allow it (403, `forbidden`).
    #[error("{0}")]
    Forbidden(String),
    /// A cookie-authenticated request that changes state without the session's
    /// `X-CSRF-Token` header or from a foreign `Origin` (403, `csrf`).
    #[error("{0}")]
    Csrf(String),
    /// Too many failed logins (429, `rate_limited`, with `Retry-After`).
    #[error("too many failed logins; try again in {retry_after_secs} s")]
    RateLimited {
        /// Seconds until the next attempt is accepted.
        retry_after_secs: u64,
    },
    /// The resource does not exist (404, `not_found`).
    #[error("{0}")]
    NotFound(String),
    /// The request conflicts with the resource's state (409, `conflict`).
    #[error("{0}")]
    Conflict(String),
    /// The appliance is too busy to accept it now (503, `unavailable`).
    #[error("{0}")]
    Unavailable(String),
    /// Anything else (500, `internal`); the message is logged, not sent.
    #[error("internal error: {0}")]
    Internal(String),
}

impl ApiError {
    /// The `code` of the JSON body, stable for clients to branch on.
    pub fn code(&self) -> &'static str {
        match self {
            Self::BadRequest(_) => "bad_request",
            Self::Unauthorized | Self::BadCredentials => "unauthorized",
            Self::Forbidden(_) => "forbidden",
            Self::Csrf(_) => "csrf",
            Self::RateLimited { .. } => "rate_limited",
            Self::NotFound(_) => "not_found",
            Self::Conflict(_) => "conflict",
            Self::Unavailable(_) => "unavailable",
            Self::Internal(_) => "internal",
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::Unauthorized | Self::BadCredentials => StatusCode::UNAUTHORIZED,
            Self::Forbidden(_) | Self::Csrf(_) => StatusCode::FORBIDDEN,
            Self::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::Conflict(_) => StatusCode::CONFLICT,
            Self::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let message = match self {
            // The detail may name paths, queries or peers: it is for the operator's log, not
            // for whoever sent the request.
            Self::Internal(detail) => {
                tracing::error!(detail = %detail, "A request failed with an internal error.");
                "internal error; the appliance log has the details".to_owned()
            }
            other => other.to_string(),
        };
        let mut response = HttpResponse::build(self.status_code());
        if matches!(self, Self::Unauthorized) {
            // RFC 6750 section 3: a 401 names the scheme the client should use.
            response.insert_header((WWW_AUTHENTICATE, "Bearer"));
        }
        if let Self::RateLimited { retry_after_secs } = self {
            response.insert_header((RETRY_AFTER, retry_after_secs.to_string()));
        }
        response.json(ErrorBody { error: ErrorDetail { code: self.code().to_owned(), message } })
    }
}

#[cfg(test)]
mod tests {
    use actix_web::body::to_bytes;
    use actix_web::http::header::{CONTENT_TYPE, HeaderMap};

    use super::*;

    /// Renders `error` as the server would and parses the body back.
    async fn render(error: &ApiError) -> (StatusCode, HeaderMap, ErrorBody) {
        let response = error.error_response();
        let (status, headers) = (response.status(), response.headers().clone());
        let bytes = to_bytes(response.into_body()).await.expect("error bodies are in memory");
        let body = serde_json::from_slice(&bytes).expect("error bodies are JSON");
        (status, headers, body)
    }

    #[actix_rt::test]
    async fn every_variant_has_its_status_code_and_message() {
        let table = [
            (ApiError::BadRequest("bad port list".into()), 400, "bad_request", "bad port list"),
            (
                ApiError::Unauthorized,
                401,
                "unauthorized",
                "log in (POST /api/v1/session) or send a valid `Authorization: Bearer <token>` \
                 header; create a token with `sonde token create`",
            ),
            (ApiError::NotFound("no scan 7".into()), 404, "not_found", "no scan 7"),
            (
                ApiError::Conflict("scan 7 is completed".into()),
                409,
                "conflict",
                "scan 7 is completed",
            ),
            (ApiError::Unavailable("queue full".into()), 503, "unavailable", "queue full"),
            (ApiError::Forbidden("admins only".into()), 403, "forbidden", "admins only"),
            (ApiError::Csrf("no X-CSRF-Token".into()), 403, "csrf", "no X-CSRF-Token"),
            (
                ApiError::RateLimited { retry_after_secs: 4 },
                429,
                "rate_limited",
                "too many failed logins; try again in 4 s",
            ),
            (
                ApiError::Internal("sqlite: disk I/O error at /var/lib/sonde/db".into()),
                500,
                "internal",
                "internal error; the appliance log has the details",
            ),
        ];
        for (error, status, code, message) in table {
            let (actual_status, headers, body) = render(&error).await;
            assert_eq!(actual_status.as_u16(), status, "{error:?}");
            assert_eq!(body.error.code, code, "{error:?}");
            assert_eq!(body.error.message, message, "{error:?}");
            assert_eq!(
                headers.get(CONTENT_TYPE).map(|v| v.as_bytes()),
                Some(&b"application/json"[..]),
                "{error:?}",
            );
        }
    }

    #[actix_rt::test]
    async fn only_unauthorized_asks_for_a_bearer_token() {
        let (_, headers, _) = render(&ApiError::Unauthorized).await;
        assert_eq!(headers.get(WWW_AUTHENTICATE).map(|v| v.as_bytes()), Some(&b"Bearer"[..]));
        let (_, headers, _) = render(&ApiError::NotFound("x".into())).await;
        assert!(headers.get(WWW_AUTHENTICATE).is_none());
    }

    #[actix_rt::test]
    async fn rate_limited_says_when_to_retry() {
        let (_, headers, _) = render(&ApiError::RateLimited { retry_after_secs: 8 }).await;
        assert_eq!(headers.get(RETRY_AFTER).map(|v| v.as_bytes()), Some(&b"8"[..]));
    }
}
