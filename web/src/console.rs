//! The console: the single-page app built from `web/ui` (by `build.rs`) and compiled into
//! the binary, so the appliance needs no web server and no Node at run time.

use actix_web::http::header::{
    CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE, REFERRER_POLICY, X_CONTENT_TYPE_OPTIONS,
    X_FRAME_OPTIONS,
};
use actix_web::middleware::DefaultHeaders;
use actix_web::{HttpRequest, HttpResponse};
use include_dir::{Dir, include_dir};

use crate::ApiError;

/// `web/ui/dist`, as built by `build.rs`.
static ASSETS: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/ui/dist");

/// Vite names everything under `/assets/` after a hash of its content: cache it for good.
const IMMUTABLE: &str = "public, max-age=31536000, immutable";

/// Everything else (index.html, the icon) must be revalidated, so a new binary's console
/// reaches browsers at once.
const REVALIDATE: &str = "no-cache";

/// The console's policy: scripts only from the appliance itself, never inline. Styles allow
/// inline `style` attributes because the charts set widths and colours through them; they
/// cannot run code. `blob:` images are how the topology is rendered into a PNG.
pub(crate) const CONSOLE_CSP: &str = "default-src 'self'; script-src 'self'; \
     style-src 'self' 'unsafe-inline'; img-src 'self' blob: data:; connect-src 'self'; \
     object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// Headers of every console response.
pub(crate) fn headers() -> DefaultHeaders {
    DefaultHeaders::new()
        .add((X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .add((REFERRER_POLICY, "no-referrer"))
        .add((X_FRAME_OPTIONS, "DENY"))
        .add((CONTENT_SECURITY_POLICY, CONSOLE_CSP))
}

/// Serves a built file, or `index.html` for any other path so the app's own routes
/// (`/hosts/10.0.0.1`) survive a reload. A missing file under `/assets/` is a 404: answering
/// HTML where a script was asked for would only hide the error.
pub(crate) async fn serve(req: HttpRequest) -> Result<HttpResponse, ApiError> {
    let path = req.path().trim_start_matches('/');
    if let Some(file) = ASSETS.get_file(path).filter(|_| !path.is_empty()) {
        let cache = if path.starts_with("assets/") { IMMUTABLE } else { REVALIDATE };
        return Ok(HttpResponse::Ok()
            .insert_header((CONTENT_TYPE, content_type(path)))
            .insert_header((CACHE_CONTROL, cache))
            .body(file.contents()));
    }
    if path.starts_with("assets/") {
        return Err(ApiError::NotFound(format!("no console asset /{path}")));
    }
    let index = ASSETS.get_file("index.html").ok_or_else(|| {
        ApiError::Internal("the console was built without an index.html".to_owned())
    })?;
    Ok(HttpResponse::Ok()
        .insert_header((CONTENT_TYPE, "text/html; charset=utf-8"))
        .insert_header((CACHE_CONTROL, REVALIDATE))
        .body(index.contents()))
}

/// The types Vite emits; anything else is served as opaque bytes (and `nosniff` keeps
/// browsers from guessing).
fn content_type(path: &str) -> &'static str {
    match path.rsplit_once('.').map(|(_, ext)| ext) {
        Some("html") => "text/html; charset=utf-8",
        Some("js" | "mjs") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("ico") => "image/x-icon",
        Some("json") => "application/json",
        Some("woff2") => "font/woff2",
        Some("txt") => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_build_holds_an_index_and_hashed_assets() {
        let index = ASSETS.get_file("index.html").expect("index.html in the build");
        let html = std::str::from_utf8(index.contents()).expect("UTF-8 index.html");
        assert!(html.contains("/assets/"), "index.html names no asset: {html}");
        assert!(!html.contains("<script>"), "index.html has an inline script: {html}");
        let assets = ASSETS.get_dir("assets").expect("an assets folder");
        assert!(assets.files().any(|f| f.path().extension().is_some_and(|e| e == "js")));
    }

    #[test]
    fn content_types_follow_extensions() {
        let table = [
            ("index.html", "text/html; charset=utf-8"),
            ("assets/index-abc.js", "text/javascript; charset=utf-8"),
            ("assets/index-abc.css", "text/css; charset=utf-8"),
            ("favicon.svg", "image/svg+xml"),
            ("weird", "application/octet-stream"),
        ];
        for (path, expected) in table {
            assert_eq!(content_type(path), expected, "{path}");
        }
    }
}
