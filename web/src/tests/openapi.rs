//! The OpenAPI document: it lists exactly the routes of the table, parses as OpenAPI 3.1,
//! says who may call what, and is served without credentials.

use std::collections::BTreeSet;

use super::*;
use crate::routes::{API_PREFIX, Access, document, table};

/// The routes of the table as (method, full path).
fn table_routes() -> BTreeSet<(String, String)> {
    table::<Fake>()
        .into_iter()
        .map(|(endpoint, _)| {
            (endpoint.method.as_str().to_lowercase(), format!("{API_PREFIX}{}", endpoint.path))
        })
        .collect()
}

/// The document as JSON, as the server serves it.
fn document_json() -> serde_json::Value {
    let endpoints: Vec<_> = table::<Fake>().into_iter().map(|(endpoint, _)| endpoint).collect();
    serde_json::to_value(document(&endpoints)).expect("the document serializes")
}

/// The (method, path) pairs the document describes.
fn documented_routes(doc: &serde_json::Value) -> BTreeSet<(String, String)> {
    let paths = doc["paths"].as_object().expect("the document has paths");
    paths
        .iter()
        .flat_map(|(path, item)| {
            item.as_object()
                .expect("a path item is an object")
                .keys()
                .filter(|key| {
                    ["get", "put", "post", "delete", "options", "head", "patch", "trace"]
                        .contains(&key.as_str())
                })
                .map(move |method| (method.clone(), path.clone()))
        })
        .collect()
}

#[test]
fn the_document_lists_exactly_the_routes_of_the_table() {
    let doc = document_json();
    let documented = documented_routes(&doc);
    let routes = table_routes();
    let undocumented: Vec<_> = routes.difference(&documented).collect();
    let unrouted: Vec<_> = documented.difference(&routes).collect();
    assert!(undocumented.is_empty(), "routes without a #[utoipa::path]: {undocumented:?}");
    assert!(unrouted.is_empty(), "documented operations with no route: {unrouted:?}");
}

#[test]
fn the_document_is_valid_openapi_3_1() {
    let json = serde_json::to_string(&document_json()).expect("JSON");
    let spec = oas3::from_json(&json).expect("the document parses as OpenAPI 3.1");
    assert!(spec.openapi.starts_with("3.1"), "version {}", spec.openapi);
    // Every reference resolves to a schema the document defines.
    let components = spec.components.as_ref().expect("the document has components");
    for reference in references(&document_json()) {
        let name = reference
            .strip_prefix("#/components/schemas/")
            .unwrap_or_else(|| panic!("unexpected reference {reference}"));
        assert!(components.schemas.contains_key(name), "{reference} is not defined");
    }
}

/// Every `$ref` in `value`.
fn references(value: &serde_json::Value) -> Vec<String> {
    match value {
        serde_json::Value::Object(map) => map
            .iter()
            .flat_map(|(key, value)| match (key.as_str(), value) {
                ("$ref", serde_json::Value::String(reference)) => vec![reference.clone()],
                _ => references(value),
            })
            .collect(),
        serde_json::Value::Array(items) => items.iter().flat_map(references).collect(),
        _ => Vec::new(),
    }
}

#[test]
fn protected_operations_name_their_credentials_and_errors() {
    let doc = document_json();
    let schemes = doc["components"]["securitySchemes"].as_object().expect("security schemes");
    assert_eq!(schemes["bearer"]["scheme"], "bearer");
    assert_eq!(schemes["session"]["in"], "cookie");
    assert_eq!(schemes["session"]["name"], "sonde_session");
    assert_eq!(schemes["csrf"]["in"], "header");
    for (endpoint, _) in table::<Fake>() {
        let method = endpoint.method.as_str().to_lowercase();
        let path = format!("{API_PREFIX}{}", endpoint.path);
        let operation = &doc["paths"][&path][&method];
        let responses = operation["responses"].as_object().expect("responses");
        assert!(responses.contains_key("500"), "{method} {path} documents 500");
        let security = operation["security"].as_array().expect("security is explicit");
        match endpoint.access {
            Access::Public => assert!(security.is_empty(), "{method} {path} is public"),
            Access::Role(role) => {
                for status in ["401", "403"] {
                    let error = &responses[status]["content"]["application/json"]["schema"];
                    assert_eq!(error["$ref"], "#/components/schemas/ErrorBody", "{method} {path}");
                    assert!(responses.contains_key(status), "{method} {path} documents {status}");
                }
                assert!(security.iter().any(|s| s.get("bearer").is_some()), "{method} {path}");
                let csrf = security.iter().any(|s| s.get("csrf").is_some());
                assert_eq!(csrf, method != "get", "{method} {path} asks for CSRF on changes");
                let description = operation["description"].as_str().unwrap_or_default();
                assert!(description.contains(role.as_str()), "{method} {path} names its role");
            }
        }
    }
    let login = &doc["paths"]["/api/v1/session"]["post"]["responses"];
    assert!(login.get("429").is_some(), "login documents its rate limit");
    let cancel = &doc["paths"]["/api/v1/scans/{id}/cancel"]["post"]["responses"];
    assert!(cancel.get("404").is_some() && cancel.get("409").is_some());
}

#[test]
fn the_event_stream_documents_every_event_type() {
    let doc = document_json();
    let events = &doc["paths"]["/api/v1/events"]["get"]["responses"]["200"];
    assert!(events["content"]["text/event-stream"]["schema"].is_object(), "{events}");
    let description = events["description"].as_str().expect("a description");
    let payload = serde_json::to_string(&doc["components"]["schemas"]["EventPayload"]).unwrap();
    let scan = ScanCounters::default();
    let examples = [
        EventPayload::ScanStatus { scan_id: 1, status: ScanStatus::Queued, error: None },
        EventPayload::ScanProgress { scan_id: 1, counters: scan },
        EventPayload::HostFound { scan_id: 1, ip: Ipv4Addr::LOCALHOST },
        EventPayload::ScanFinished { scan_id: 1, status: ScanStatus::Completed, counters: scan },
    ];
    let names = examples.iter().map(EventPayload::name).chain([
        "port_found",
        "host_changed",
        "port_changed",
    ]);
    for name in names {
        assert!(description.contains(&format!("`{name}`")), "the stream names {name}");
        assert!(payload.contains(&format!("\"{name}\"")), "EventPayload has {name}");
    }
}

#[actix_rt::test]
async fn the_document_is_served_without_credentials() {
    let service = test::init_service(app(web::Data::new(Fake::default()), limiter())).await;
    let request = TestRequest::get().uri("/api/v1/openapi.json").to_request();
    let response = test::call_service(&service, request).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers().get("content-type").map(|v| v.as_bytes()),
        Some(&b"application/json"[..])
    );
    let served: serde_json::Value = test::read_body_json(response).await;
    assert_eq!(served, document_json());
}

/// Parses `example` as the request type `T`, as the server would.
fn parses_as<T: DeserializeOwned>(example: &serde_json::Value) -> Result<(), String> {
    serde_json::from_value::<T>(example.clone()).map(drop).map_err(|error| error.to_string())
}

/// Every JSON request body carries an example that the handler accepts: schemathesis sends
/// them, so they lead its run past validation into the handlers, and clients copy them.
#[test]
fn every_request_body_has_an_example_of_its_type() {
    type Check = fn(&serde_json::Value) -> Result<(), String>;
    let table: [(&str, &str, Check); 10] = [
        ("post", "/api/v1/scans", parses_as::<ScanRequest>),
        ("patch", "/api/v1/hosts/{ip}", parses_as::<HostEdit>),
        ("post", "/api/v1/schedules", parses_as::<ScheduleRequest>),
        ("patch", "/api/v1/schedules/{id}", parses_as::<SchedulePatch>),
        ("post", "/api/v1/session", parses_as::<crate::api::LoginRequest>),
        ("post", "/api/v1/setup", parses_as::<crate::api::SetupRequest>),
        ("post", "/api/v1/users", parses_as::<NewUser>),
        ("patch", "/api/v1/users/{id}", parses_as::<UserPatch>),
        ("post", "/api/v1/tokens", parses_as::<crate::api::NewToken>),
        ("put", "/api/v1/settings", parses_as::<SettingsUpdate>),
    ];
    let doc = document_json();
    let with_body: BTreeSet<(String, String)> = documented_routes(&doc)
        .into_iter()
        .filter(|(method, path)| doc["paths"][path][method].get("requestBody").is_some())
        .collect();
    let listed: BTreeSet<(String, String)> =
        table.iter().map(|(method, path, _)| (method.to_string(), path.to_string())).collect();
    assert_eq!(with_body, listed, "the table lists every operation with a request body");
    for (method, path, check) in table {
        let example =
            &doc["paths"][path][method]["requestBody"]["content"]["application/json"]["example"];
        assert!(example.is_object(), "{method} {path} has a JSON example");
        if let Err(error) = check(example) {
            panic!("the example of {method} {path} is not accepted: {error}: {example}");
        }
    }
}
