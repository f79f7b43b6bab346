//! Domain errors of the API and their one mapping to HTTP.

/// An error the API reports as `{ "error": { "code", "message" } }`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ApiError {
    /// The request is malformed or asks for something invalid (400, `bad_request`).
    #[error("{0}")]
    BadRequest(String),
    /// No or an unknown bearer token (401, `unauthorized`).
    #[error("a valid `Authorization: Bearer <token>` header is required; create a token with `sonde token create`")]
    Unauthorized,
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
