//! What the OpenAPI document says of every operation at once, because the layers that give
//! these answers are shared, not per handler: how a caller signs in (the session cookie with
//! its CSRF token, or an API token), and the error answers any operation may give — 400 for
//! input it refuses (a path id out of range, a bad query or body), 401 and 403 from the
//! sign-in and permission checks, 404 for a record it names that is not there, 409 for writes that
//! meet a conflict, 413 for a body over the route's limit, 429 when rate-limited, 503 when the
//! database is away. Each is `ErrorBody`.

use utoipa::openapi::path::Operation;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, Http, HttpAuthScheme, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{Components, Content, OpenApi, Ref, RefOr, ResponseBuilder};

/// The operations anyone may call, signed in or not (the sign-in itself, and devices, which
/// sign each request with their own key).
pub const PUBLIC: &[(&str, &str)] = &[
    ("post", "/api/session"),
    ("post", "/api/session/second-factor"),
    ("post", "/api/devices/{id}/events"),
    // Whoever reads a printed volunteer certificate checks its number.
    ("get", "/api/volunteer-certificates/{number}"),
    // The honours board (榜样) is the portal's, open to everyone.
    ("get", "/api/honours"),
];

const ANSWERS: &[(&str, &str)] = &[
    ("400", "The input is refused: the error names the field and the reason"),
    ("401", "Not signed in, or the session or token has ended"),
    ("403", "Not allowed: the caller's posts do not cover it, or the CSRF token is missing"),
    ("404", "No such record, named in the path, the query or the body (or none the caller may know of)"),
    ("409", "It conflicts with the record's state or another record"),
    ("413", "The body is over this route's limit"),
    ("429", "Too many requests; `Retry-After` says when to try again"),
    ("503", "The database is unavailable; nothing was done, try again shortly"),
];

pub fn complete(doc: &mut OpenApi) {
    let components = doc.components.get_or_insert_with(Components::new);
    components.add_security_scheme(
        "session",
        SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
            crate::extract::SESSION_COOKIE,
            "The session cookie `POST /api/session` sets; every change also sends its CSRF token as `X-CSRF-Token`.",
        ))),
    );
    components.add_security_scheme("token", SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)));
    for (path, item) in doc.paths.paths.iter_mut() {
        let ops = [
            ("get", &mut item.get),
            ("post", &mut item.post),
            ("put", &mut item.put),
            ("patch", &mut item.patch),
            ("delete", &mut item.delete),
        ];
        for (method, op) in ops {
            if let Some(op) = op {
                complete_operation(path, method, op);
            }
        }
    }
}

fn complete_operation(path: &str, method: &str, op: &mut Operation) {
    let public = PUBLIC.contains(&(method, path));
    if !public {
        op.security = Some(vec![
            SecurityRequirement::new("session", Vec::<String>::new()),
            SecurityRequirement::new("token", Vec::<String>::new()),
        ]);
    }
    let writes = method != "get";
    for (code, text) in ANSWERS {
        let applies = match *code {
            "401" | "403" => !public || path == "/api/devices/{id}/events",
            "404" => true,
            "409" | "413" => writes,
            _ => true,
        };
        if applies && !op.responses.responses.contains_key(*code) {
            let body = Content::new(Some(RefOr::Ref(Ref::from_schema_name("ErrorBody"))));
            let answer = ResponseBuilder::new().description(*text).content("application/json", body).build();
            op.responses.responses.insert((*code).to_owned(), RefOr::T(answer));
        }
    }
}
