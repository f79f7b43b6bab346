//! The OpenAPI 3.1 document of `/api/v1`, served at `GET /api/v1/openapi.json`.
//!
//! The operations come from the `#[utoipa::path]` attribute on each handler and the schemas
//! from the API types; what every route shares (who may call it, the credentials it takes,
//! the errors that authentication and extraction answer) is added from the route table, so
//! that the document and the middleware cannot disagree.

use std::sync::OnceLock;

use actix_web::HttpResponse;
use actix_web::http::Method;
use utoipa::OpenApi;
use utoipa::openapi::path::{Operation, PathItem};
use utoipa::openapi::security::{
    ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme,
};
use utoipa::openapi::{ContentBuilder, Ref, RefOr, Response, ResponseBuilder};

use super::access::{Access, CSRF_HEADER};
use super::accounts::SESSION_COOKIE;
use super::table::{Endpoint, table};
use super::{accounts, discovery, docker, fleet, scans, settings};
use crate::api::{ErrorBody, EventPayload, ExportFormat, HostSort};
use crate::{ApiError, Backend};

/// The prefix of every API path; the route table's paths are relative to it.
pub(crate) const API_PREFIX: &str = "/api/v1";

/// Names of the security schemes in the document.
const BEARER: &str = "bearer";
const SESSION: &str = "session";
const CSRF: &str = "csrf";

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Sonde",
        description = "The REST API of the Sonde network scanning appliance. Every error answers \
            `{\"error\": {\"code\", \"message\"}}`; clients branch on `code`."
    ),
    paths(
        scans::health,
        scans::scans,
        scans::start_scan,
        scans::scan,
        scans::cancel_scan,
        scans::hosts,
        scans::host,
        scans::machine,
        scans::services,
        scans::events,
        discovery::edit_host,
        discovery::changes,
        discovery::export,
        discovery::export_hosts,
        docker::docker,
        docker::refresh,
        fleet::appliances,
        discovery::schedules,
        discovery::create_schedule,
        discovery::update_schedule,
        discovery::delete_schedule,
        crate::stats::ports,
        crate::stats::subnets,
        accounts::login,
        accounts::session,
        accounts::logout,
        accounts::setup,
        accounts::users,
        accounts::create_user,
        accounts::update_user,
        accounts::delete_user,
        accounts::tokens,
        accounts::create_token,
        accounts::revoke_token,
        accounts::audit_log,
        settings::settings,
        settings::update_settings,
        openapi,
    ),
    // Types only named inside others' schemas or parameters, listed so that clients can
    // generate them by name.
    components(schemas(ErrorBody, EventPayload, ExportFormat, HostSort))
)]
struct ApiDoc;

/// The document, built once: it depends on the code alone.
#[utoipa::path(
    get, path = "/api/v1/openapi.json", tag = "meta", security(()),
    responses((status = 200, description = "This document", content_type = "application/json"))
)]
pub(super) async fn openapi<B: Backend>() -> Result<HttpResponse, ApiError> {
    static JSON: OnceLock<Result<String, String>> = OnceLock::new();
    let json = JSON.get_or_init(|| {
        let endpoints: Vec<Endpoint> = table::<B>().into_iter().map(|(e, _)| e).collect();
        document(&endpoints).to_json().map_err(|error| error.to_string())
    });
    match json {
        Ok(json) => Ok(HttpResponse::Ok().content_type("application/json").body(json.clone())),
        Err(error) => {
            Err(ApiError::Internal(format!("cannot serialize the OpenAPI document: {error}")))
        }
    }
}

/// The OpenAPI document of the routes in `endpoints`, with their access rules applied.
pub(crate) fn document(endpoints: &[Endpoint]) -> utoipa::openapi::OpenApi {
    let mut doc = ApiDoc::openapi();
    let components = doc.components.get_or_insert_with(Default::default);
    components.add_security_scheme(
        BEARER,
        SecurityScheme::Http(
            HttpBuilder::new()
                .scheme(HttpAuthScheme::Bearer)
                .description(Some(
                    "An API token from `POST /api/v1/tokens` or `sonde token create`",
                ))
                .build(),
        ),
    );
    components.add_security_scheme(
        SESSION,
        SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
            SESSION_COOKIE,
            "The session cookie `POST /api/v1/session` sets",
        ))),
    );
    components.add_security_scheme(
        CSRF,
        SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
            CSRF_HEADER,
            "The session's `csrf_token`; required with the session cookie on every request \
             that changes state",
        ))),
    );
    for endpoint in endpoints {
        let path = format!("{API_PREFIX}{}", endpoint.path);
        let Some(operation) =
            doc.paths.paths.get_mut(&path).and_then(|item| operation(item, &endpoint.method))
        else {
            // Left for the test that compares the document with the table to report.
            continue;
        };
        apply_access(operation, &endpoint.method, endpoint.access);
    }
    doc
}

/// The operation of `method` in `item`.
fn operation<'a>(item: &'a mut PathItem, method: &Method) -> Option<&'a mut Operation> {
    match *method {
        Method::GET => item.get.as_mut(),
        Method::POST => item.post.as_mut(),
        Method::PUT => item.put.as_mut(),
        Method::PATCH => item.patch.as_mut(),
        Method::DELETE => item.delete.as_mut(),
        Method::HEAD => item.head.as_mut(),
        Method::OPTIONS => item.options.as_mut(),
        _ => None,
    }
}

/// Adds the credentials a route takes and the errors every route of its kind may answer.
fn apply_access(operation: &mut Operation, method: &Method, access: Access) {
    let has_input = operation.request_body.is_some()
        || operation.parameters.as_ref().is_some_and(|params| !params.is_empty());
    if has_input {
        add_error(operation, 400, "The path, query or body is malformed or invalid");
    }
    add_error(operation, 500, "The appliance failed; its log has the details");
    let Access::Role(least) = access else {
        operation.security = Some(Vec::new());
        return;
    };
    let changes_state = !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS);
    let session = if changes_state {
        SecurityRequirement::new(SESSION, Vec::<String>::new()).add(CSRF, Vec::<String>::new())
    } else {
        SecurityRequirement::new(SESSION, Vec::<String>::new())
    };
    operation.security =
        Some(vec![SecurityRequirement::new(BEARER, Vec::<String>::new()), session]);
    add_error(operation, 401, "No valid session cookie or bearer token");
    add_error(
        operation,
        403,
        if changes_state {
            "The caller's role is too low, or a cookie request lacks the CSRF header"
        } else {
            "The caller's role is too low"
        },
    );
    let needs = format!("Needs the `{}` role or higher.", least.as_str());
    operation.description = Some(match operation.description.take() {
        Some(description) if !description.is_empty() => format!("{description}\n\n{needs}"),
        _ => needs,
    });
}

/// Documents an error answer of `status` unless the handler's attribute already does.
fn add_error(operation: &mut Operation, status: u16, description: &str) {
    operation
        .responses
        .responses
        .entry(status.to_string())
        .or_insert_with(|| RefOr::T(error_response(description)));
}

fn error_response(description: &str) -> Response {
    ResponseBuilder::new()
        .description(description)
        .content(
            "application/json",
            ContentBuilder::new().schema(Some(Ref::from_schema_name("ErrorBody"))).build(),
        )
        .build()
}
