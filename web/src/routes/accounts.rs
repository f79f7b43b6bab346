//! Sessions, first-start setup, users, API tokens and the audit log.

use actix_web::cookie::{Cookie, SameSite, time::Duration as CookieDuration};
use actix_web::{HttpRequest, HttpResponse, web};

use crate::api::{
    AuditEntry, AuditQuery, ErrorBody, LoginRequest, NewToken, NewUser, SessionView, SetupRequest,
    TokenCreated, TokenView, UserPatch, UserView,
};
use crate::{ApiError, AuditRecord, AuthMethod, Backend, Caller, LoginLimiter};

/// The session cookie's name.
pub(crate) const SESSION_COOKIE: &str = "sonde_session";

/// The largest page of `GET /api/v1/audit`.
const MAX_AUDIT_LIMIT: u32 = 1000;

/// Names longer than this are cut in the audit log: a failed login can carry any text.
const MAX_LOGGED_NAME: usize = 64;

#[utoipa::path(
    post, path = "/api/v1/session", tag = "accounts", security(()),
    request_body(
        content = LoginRequest,
        example = json!({"username": "admin", "password": "correct horse battery"})
    ),
    responses(
        (status = 200, description = "Logged in; the session cookie is set", body = SessionView),
        (status = 401, description = "Wrong user name or password", body = ErrorBody),
        (status = 429, description = "Too many failed logins; see `Retry-After`", body = ErrorBody),
    )
)]
pub(super) async fn login<B: Backend>(
    req: HttpRequest,
    backend: web::Data<B>,
    limiter: web::Data<LoginLimiter>,
    body: web::Json<LoginRequest>,
) -> Result<HttpResponse, ApiError> {
    let LoginRequest { username, password } = body.into_inner();
    let user_key = format!("user:{}", username.to_lowercase());
    let keys = [user_key.clone(), format!("addr:{}", source(&req).unwrap_or_default())];
    limiter.check(&keys).map_err(|wait| ApiError::RateLimited {
        retry_after_secs: wait.as_secs() + u64::from(wait.subsec_nanos() > 0),
    })?;
    let Some(user) = backend.verify_password(&username, &password).await? else {
        limiter.failed(&keys);
        let name: String = username.chars().take(MAX_LOGGED_NAME).collect();
        record(&**backend, &req, None, name, "login_failed", None).await;
        return Err(ApiError::BadCredentials);
    };
    limiter.succeeded(&user_key);
    let session = backend.open_session(user.id).await?;
    record(&**backend, &req, Some(user.id), user.name.clone(), "login", None).await;
    Ok(HttpResponse::Ok()
        .cookie(session_cookie(&req, session.id))
        .json(SessionView { user, csrf_token: Some(session.csrf_token) }))
}

#[utoipa::path(
    get, path = "/api/v1/session", tag = "accounts",
    responses((status = 200, description = "Who is calling", body = SessionView))
)]
pub(super) async fn session(caller: Caller) -> HttpResponse {
    let csrf_token = match caller.auth {
        AuthMethod::Session { csrf_token } => Some(csrf_token),
        AuthMethod::Token { .. } => None,
    };
    HttpResponse::Ok().json(SessionView { user: caller.user, csrf_token })
}

#[utoipa::path(
    delete, path = "/api/v1/session", tag = "accounts",
    responses((status = 204, description = "The session is over and its cookie cleared"))
)]
pub(super) async fn logout<B: Backend>(
    req: HttpRequest,
    caller: Caller,
    backend: web::Data<B>,
) -> Result<HttpResponse, ApiError> {
    // With a token there is no session to end: the token stays valid until revoked.
    if let (AuthMethod::Session { .. }, Some(cookie)) = (&caller.auth, req.cookie(SESSION_COOKIE)) {
        backend.close_session(cookie.value()).await?;
        audit_as(&**backend, &req, &caller, "logout", None).await;
    }
    let mut gone = session_cookie(&req, String::new());
    gone.set_max_age(CookieDuration::ZERO);
    Ok(HttpResponse::NoContent().cookie(gone).finish())
}

#[utoipa::path(
    post, path = "/api/v1/setup", tag = "accounts", security(()),
    request_body(
        content = SetupRequest,
        example = json!({"token": "q3Zp8x", "username": "admin", "password": "correct horse battery"})
    ),
    responses(
        (status = 201, description = "The first admin", body = UserView),
        (status = 403, description = "Wrong or used setup token", body = ErrorBody),
        (status = 409, description = "The appliance already has users", body = ErrorBody),
        (status = 429, description = "Too many failed attempts; see `Retry-After`", body = ErrorBody),
    )
)]
pub(super) async fn setup<B: Backend>(
    req: HttpRequest,
    backend: web::Data<B>,
    limiter: web::Data<LoginLimiter>,
    body: web::Json<SetupRequest>,
) -> Result<HttpResponse, ApiError> {
    let keys = [format!("setup:{}", source(&req).unwrap_or_default())];
    limiter.check(&keys).map_err(|wait| ApiError::RateLimited {
        retry_after_secs: wait.as_secs() + u64::from(wait.subsec_nanos() > 0),
    })?;
    let SetupRequest { token, username, password } = body.into_inner();
    let user = match backend.setup(&token, &username, &password).await {
        Err(error @ ApiError::Forbidden(_)) => {
            limiter.failed(&keys);
            return Err(error);
        }
        other => other?,
    };
    record(&**backend, &req, Some(user.id), user.name.clone(), "setup", None).await;
    Ok(HttpResponse::Created().json(user))
}

#[utoipa::path(
    get, path = "/api/v1/users", tag = "accounts",
    responses((status = 200, description = "Every user", body = Vec<UserView>))
)]
pub(super) async fn users<B: Backend>(backend: web::Data<B>) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(backend.users().await?))
}

#[utoipa::path(
    post, path = "/api/v1/users", tag = "accounts",
    request_body(
        content = NewUser,
        example = json!({"name": "alice", "password": "correct horse battery", "role": "viewer"})
    ),
    responses(
        (status = 201, description = "The new user", body = UserView),
        (status = 409, description = "The name is taken", body = ErrorBody),
    )
)]
pub(super) async fn create_user<B: Backend>(
    req: HttpRequest,
    caller: Caller,
    backend: web::Data<B>,
    body: web::Json<NewUser>,
) -> Result<HttpResponse, ApiError> {
    let user = backend.create_user(body.into_inner()).await?;
    let target = format!("user {} ({}, {})", user.id, user.name, user.role.as_str());
    audit_as(&**backend, &req, &caller, "user_create", Some(target)).await;
    Ok(HttpResponse::Created().json(user))
}

#[utoipa::path(
    patch, path = "/api/v1/users/{id}", tag = "accounts",
    request_body(
        content = UserPatch,
        example = json!({"role": "operator"})
    ),
    params(("id" = i64, Path, description = "User id", example = 1)),
    responses(
        (status = 200, description = "The user as changed", body = UserView),
        (status = 404, description = "No such user", body = ErrorBody),
        (status = 409, description = "It would leave no admin", body = ErrorBody),
    )
)]
pub(super) async fn update_user<B: Backend>(
    req: HttpRequest,
    caller: Caller,
    backend: web::Data<B>,
    id: web::Path<i64>,
    body: web::Json<UserPatch>,
) -> Result<HttpResponse, ApiError> {
    let patch = body.into_inner();
    let what = match (&patch.role, &patch.password) {
        (Some(role), Some(_)) => format!("role {}, password", role.as_str()),
        (Some(role), None) => format!("role {}", role.as_str()),
        (None, Some(_)) => "password".to_owned(),
        (None, None) => "nothing".to_owned(),
    };
    let user = backend.update_user(id.into_inner(), patch).await?;
    let target = format!("user {} ({}): {what}", user.id, user.name);
    audit_as(&**backend, &req, &caller, "user_update", Some(target)).await;
    Ok(HttpResponse::Ok().json(user))
}

#[utoipa::path(
    delete, path = "/api/v1/users/{id}", tag = "accounts",
    params(("id" = i64, Path, description = "User id", example = 1)),
    responses(
        (status = 204, description = "Deleted with their sessions and tokens"),
        (status = 404, description = "No such user", body = ErrorBody),
        (status = 409, description = "It would leave no admin", body = ErrorBody),
    )
)]
pub(super) async fn delete_user<B: Backend>(
    req: HttpRequest,
    caller: Caller,
    backend: web::Data<B>,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    backend.delete_user(id).await?;
    audit_as(&**backend, &req, &caller, "user_delete", Some(format!("user {id}"))).await;
    Ok(HttpResponse::NoContent().finish())
}

#[utoipa::path(
    get, path = "/api/v1/tokens", tag = "accounts",
    responses((status = 200, description = "The caller's API tokens", body = Vec<TokenView>))
)]
pub(super) async fn tokens<B: Backend>(
    caller: Caller,
    backend: web::Data<B>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(backend.tokens(caller.user.id).await?))
}

#[utoipa::path(
    post, path = "/api/v1/tokens", tag = "accounts",
    request_body(
        content = NewToken,
        example = json!({"name": "nightly export"})
    ),
    responses((status = 201, description = "The token; its secret is shown this once", body = TokenCreated))
)]
pub(super) async fn create_token<B: Backend>(
    req: HttpRequest,
    caller: Caller,
    backend: web::Data<B>,
    body: web::Json<NewToken>,
) -> Result<HttpResponse, ApiError> {
    let created = backend.create_token(caller.user.id, &body.name).await?;
    let target = format!("token {} ({})", created.id, created.name);
    audit_as(&**backend, &req, &caller, "token_create", Some(target)).await;
    Ok(HttpResponse::Created().json(created))
}

#[utoipa::path(
    delete, path = "/api/v1/tokens/{id}", tag = "accounts",
    params(("id" = i64, Path, description = "Token id")),
    responses(
        (status = 204, description = "Revoked"),
        (status = 404, description = "No such token of the caller's", body = ErrorBody),
    )
)]
pub(super) async fn revoke_token<B: Backend>(
    req: HttpRequest,
    caller: Caller,
    backend: web::Data<B>,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    // Admins may revoke anyone's token (a leaked one must die now); others only their own.
    let owner = (caller.role() < crate::api::Role::Admin).then_some(caller.user.id);
    backend.revoke_token(owner, id).await?;
    audit_as(&**backend, &req, &caller, "token_revoke", Some(format!("token {id}"))).await;
    Ok(HttpResponse::NoContent().finish())
}

#[utoipa::path(
    get, path = "/api/v1/audit", tag = "accounts", params(AuditQuery),
    responses((status = 200, description = "Audit entries, newest first", body = Vec<AuditEntry>))
)]
pub(super) async fn audit_log<B: Backend>(
    backend: web::Data<B>,
    query: web::Query<AuditQuery>,
) -> Result<HttpResponse, ApiError> {
    let query = query.into_inner();
    if let Some(limit) = query.limit
        && !(1..=MAX_AUDIT_LIMIT).contains(&limit)
    {
        return Err(ApiError::BadRequest(format!(
            "limit must be between 1 and {MAX_AUDIT_LIMIT}, not {limit}"
        )));
    }
    Ok(HttpResponse::Ok().json(backend.audit(query).await?))
}

/// Records what an authenticated caller did.
pub(super) async fn audit_as<B: Backend>(
    backend: &B,
    req: &HttpRequest,
    caller: &Caller,
    action: &'static str,
    target: Option<String>,
) {
    record(backend, req, Some(caller.user.id), caller.user.name.clone(), action, target).await;
}

/// Appends to the audit log. The action already happened, so a failure to record it is
/// logged rather than turned into an error response that would suggest otherwise.
async fn record<B: Backend>(
    backend: &B,
    req: &HttpRequest,
    user_id: Option<i64>,
    username: String,
    action: &'static str,
    target: Option<String>,
) {
    let record = AuditRecord { user_id, username, action, target, source: source(req) };
    if let Err(error) = backend.record(record).await {
        tracing::error!(%error, action, "Cannot write to the audit log.");
    }
}

/// The client's address. Forwarding headers are ignored: anyone can send them.
fn source(req: &HttpRequest) -> Option<String> {
    req.peer_addr().map(|addr| addr.ip().to_string())
}

/// The session cookie: out of scripts' reach, never sent cross-site, and only over TLS when
/// the server speaks TLS.
fn session_cookie(req: &HttpRequest, value: String) -> Cookie<'static> {
    Cookie::build(SESSION_COOKIE, value)
        .http_only(true)
        .same_site(SameSite::Strict)
        .path("/")
        .secure(req.app_config().secure())
        .finish()
}
