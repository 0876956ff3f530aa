//! Where a login may send the browser afterwards.

use crate::error::TenantError;

/// The longest redirect target accepted.
pub const MAX_REDIRECT_LEN: usize = 2048;

/// Checks post-login redirect targets: a relative path on this site, or an absolute URL
/// whose origin (scheme, host, port) is on the allow-list.
#[derive(Debug, Clone, Default)]
pub struct RedirectPolicy {
    allowed_origins: Vec<String>,
}

impl RedirectPolicy {
    /// Only relative paths.
    pub fn relative_only() -> Self {
        Self::default()
    }

    /// Also allows absolute URLs of `origin`, such as `https://app.example.com` (no path).
    pub fn allow_origin(mut self, origin: &str) -> Result<Self, TenantError> {
        let parsed = origin_of(origin).ok_or_else(|| {
            TenantError::invalid(
                "redirect.allowed_origins",
                format!("{origin:?} is not an origin"),
            )
        })?;
        if parsed != origin.trim_end_matches('/').to_ascii_lowercase() {
            return Err(TenantError::invalid(
                "redirect.allowed_origins",
                format!("{origin:?} must be scheme://host[:port] without a path"),
            ));
        }
        self.allowed_origins.push(parsed);
        Ok(self)
    }

    /// `target` if it is allowed.
    pub fn check<'a>(&self, target: &'a str) -> Result<&'a str, TenantError> {
        let reject = |reason: String| TenantError::Redirect { reason };
        if target.is_empty() || target.len() > MAX_REDIRECT_LEN {
            return Err(reject(format!("length {} out of range", target.len())));
        }
        if target
            .chars()
            .any(|c| c.is_control() || c == '\\' || c.is_whitespace())
        {
            return Err(reject(
                "contains a control character, whitespace or '\\'".into(),
            ));
        }
        if let Some(rest) = target.strip_prefix('/') {
            // "//host" and "/\host" are protocol-relative URLs to another site.
            if rest.starts_with('/') {
                return Err(reject("protocol-relative URL".into()));
            }
            return Ok(target);
        }
        match origin_of(target) {
            Some(origin) if self.allowed_origins.contains(&origin) => Ok(target),
            Some(origin) => Err(reject(format!("origin {origin} is not on the allow-list"))),
            None => Err(reject(
                "neither a path starting with '/' nor an absolute http(s) URL".into(),
            )),
        }
    }
}

/// The lower-case `scheme://host[:port]` of an absolute http(s) URL without user info.
fn origin_of(url: &str) -> Option<String> {
    let uri: http::Uri = url.parse().ok()?;
    let scheme = uri.scheme_str()?.to_ascii_lowercase();
    if scheme != "https" && scheme != "http" {
        return None;
    }
    let authority = uri.authority()?;
    if authority.as_str().contains('@') || authority.host().is_empty() {
        return None;
    }
    let mut origin = format!("{scheme}://{}", authority.host().to_ascii_lowercase());
    if let Some(port) = authority.port_u16() {
        origin.push_str(&format!(":{port}"));
    }
    Some(origin)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_paths_and_allowed_origins() {
        let policy = RedirectPolicy::relative_only()
            .allow_origin("https://app.example.com")
            .unwrap_or_else(|e| panic!("{e}"));
        for ok in [
            "/",
            "/dashboard?tab=1#x",
            "https://app.example.com/x",
            "https://APP.example.com",
        ] {
            assert_eq!(policy.check(ok).ok(), Some(ok), "{ok}");
        }
        for bad in [
            "",
            "//evil.com/x",
            "/\\evil.com",
            "https://evil.com/",
            "https://app.example.com.evil.com/",
            "https://app.example.com@evil.com/",
            "http://app.example.com/",
            "https://app.example.com:8443/",
            "javascript:alert(1)",
            "dashboard",
            "/a b",
            "/a\nb",
        ] {
            assert!(
                matches!(policy.check(bad), Err(TenantError::Redirect { .. })),
                "{bad:?}"
            );
        }
        assert!(
            RedirectPolicy::relative_only()
                .check("https://app.example.com/")
                .is_err()
        );
        assert!(
            RedirectPolicy::relative_only()
                .allow_origin("https://a.com/path")
                .is_err()
        );
    }
}
