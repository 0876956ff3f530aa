//! The SCIM error model (RFC 7644 section 3.12).

use serde_json::{Value, json};

/// The schema URN of a SCIM error response.
pub const ERROR_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:Error";

/// Which check failed. Each kind maps to one HTTP status and, for the 400 and 409 families,
/// to one RFC 7644 `scimType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// 400 `invalidFilter`: the filter syntax was invalid or the attribute or operator is not
    /// supported.
    InvalidFilter,
    /// 400 `tooMany`: the filter would select more resources than the server will return.
    TooMany,
    /// 409 `uniqueness`: a value that must be unique is already in use.
    Uniqueness,
    /// 400 `mutability`: the request tried to change a read-only or immutable attribute.
    Mutability,
    /// 400 `invalidSyntax`: the request body is not valid SCIM JSON.
    InvalidSyntax,
    /// 400 `invalidPath`: the PATCH `path` is malformed or names an unknown attribute.
    InvalidPath,
    /// 400 `noTarget`: the PATCH `path` selected nothing where a target is required.
    NoTarget,
    /// 400 `invalidValue`: a value is missing, of the wrong type or not a canonical value.
    InvalidValue,
    /// 400 `invalidVers`: the requested SCIM protocol version is not supported.
    InvalidVersion,
    /// 400 `sensitive`: the request put sensitive data in the URI.
    Sensitive,
    /// 409 `invalidValue`: a Bulk operation refers to a `bulkId` that no operation created,
    /// or the references form a cycle (RFC 7644 section 3.7).
    UnresolvedBulkId,
    /// 401: the request did not carry a valid bearer token.
    Unauthorized,
    /// 403: the operation is not allowed for this client.
    Forbidden,
    /// 404: the resource or endpoint does not exist.
    NotFound,
    /// 405: the method is not allowed on this endpoint.
    MethodNotAllowed,
    /// 304: `If-None-Match` matched the current version.
    NotModified,
    /// 412: `If-Match` did not match the current version.
    PreconditionFailed,
    /// 413: the request is larger than the advertised maximum.
    PayloadTooLarge,
    /// 415 or 406: unsupported content type.
    UnsupportedMediaType,
    /// 500: the storage backend failed.
    Internal,
    /// 501: the operation is not supported by this server.
    NotImplemented,
}

impl ErrorKind {
    /// The HTTP status code for this kind.
    pub fn status(self) -> u16 {
        match self {
            Self::InvalidFilter
            | Self::TooMany
            | Self::Mutability
            | Self::InvalidSyntax
            | Self::InvalidPath
            | Self::NoTarget
            | Self::InvalidValue
            | Self::InvalidVersion
            | Self::Sensitive => 400,
            Self::Uniqueness | Self::UnresolvedBulkId => 409,
            Self::Unauthorized => 401,
            Self::Forbidden => 403,
            Self::NotFound => 404,
            Self::MethodNotAllowed => 405,
            Self::NotModified => 304,
            Self::PreconditionFailed => 412,
            Self::PayloadTooLarge => 413,
            Self::UnsupportedMediaType => 415,
            Self::Internal => 500,
            Self::NotImplemented => 501,
        }
    }

    /// The RFC 7644 `scimType` keyword, where the kind has one.
    pub fn scim_type(self) -> Option<&'static str> {
        Some(match self {
            Self::InvalidFilter => "invalidFilter",
            Self::TooMany => "tooMany",
            Self::Uniqueness => "uniqueness",
            Self::Mutability => "mutability",
            Self::InvalidSyntax => "invalidSyntax",
            Self::InvalidPath => "invalidPath",
            Self::NoTarget => "noTarget",
            Self::InvalidValue | Self::UnresolvedBulkId => "invalidValue",
            Self::InvalidVersion => "invalidVers",
            Self::Sensitive => "sensitive",
            _ => return None,
        })
    }
}

/// A SCIM error: the failed check, and a detail message that names the values compared.
///
/// The detail never carries secrets; it is safe to return to the client and to log.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{} {}: {detail}", kind.status(), kind.scim_type().unwrap_or("error"))]
pub struct ScimError {
    kind: ErrorKind,
    detail: String,
}

impl ScimError {
    /// An error of `kind` with a human-readable `detail`.
    pub fn new(kind: ErrorKind, detail: impl Into<String>) -> Self {
        Self {
            kind,
            detail: detail.into(),
        }
    }

    /// The failed check.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The HTTP status code.
    pub fn status(&self) -> u16 {
        self.kind.status()
    }

    /// The RFC 7644 `scimType`, if any.
    pub fn scim_type(&self) -> Option<&'static str> {
        self.kind.scim_type()
    }

    /// The detail message.
    pub fn detail(&self) -> &str {
        &self.detail
    }

    /// The RFC 7644 section 3.12 error body.
    pub fn to_json(&self) -> Value {
        let mut body = json!({
            "schemas": [ERROR_SCHEMA],
            "status": self.status().to_string(),
            "detail": self.detail,
        });
        if let Some(t) = self.scim_type() {
            body["scimType"] = Value::String(t.to_owned());
        }
        body
    }

    /// 400 `invalidFilter`.
    pub fn invalid_filter(detail: impl Into<String>) -> Self {
        Self::new(ErrorKind::InvalidFilter, detail)
    }
    /// 400 `invalidPath`.
    pub fn invalid_path(detail: impl Into<String>) -> Self {
        Self::new(ErrorKind::InvalidPath, detail)
    }
    /// 400 `invalidValue`.
    pub fn invalid_value(detail: impl Into<String>) -> Self {
        Self::new(ErrorKind::InvalidValue, detail)
    }
    /// 400 `invalidSyntax`.
    pub fn invalid_syntax(detail: impl Into<String>) -> Self {
        Self::new(ErrorKind::InvalidSyntax, detail)
    }
    /// 400 `mutability`.
    pub fn mutability(detail: impl Into<String>) -> Self {
        Self::new(ErrorKind::Mutability, detail)
    }
    /// 400 `noTarget`.
    pub fn no_target(detail: impl Into<String>) -> Self {
        Self::new(ErrorKind::NoTarget, detail)
    }
    /// 409 `uniqueness`.
    pub fn uniqueness(detail: impl Into<String>) -> Self {
        Self::new(ErrorKind::Uniqueness, detail)
    }
    /// 404.
    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::new(ErrorKind::NotFound, detail)
    }
    /// 412.
    pub fn precondition_failed(detail: impl Into<String>) -> Self {
        Self::new(ErrorKind::PreconditionFailed, detail)
    }
    /// 500.
    pub fn internal(detail: impl Into<String>) -> Self {
        Self::new(ErrorKind::Internal, detail)
    }
}
