//! The compatibility profile: what real identity providers send that RFC 7644 does not allow.
//!
//! [`CompatProfile::IdentityProviders`] is the default. It accepts, each covered by a test built
//! from the provider's documented request:
//!
//! | deviation | sent by |
//! |---|---|
//! | PATCH `op` in any case (`Add`, `Replace`, `Remove`) | Entra ID |
//! | booleans as the strings `"True"` / `"False"` (any case) | Entra ID |
//! | `remove` on `members` with a `value` list, removing only the listed members | Entra ID, Okta, JumpCloud |
//! | path-less `replace` with dotted (`name.givenName`) and URN-qualified keys | Entra ID, Okta |
//! | `manager` (and any complex attribute with a `value`) as a bare string | Entra ID |
//! | a `replace` whose value-path filter matches nothing acts as an `add` | Entra ID |
//! | a single value where a multi-valued attribute expects an array | generic SCIM clients |
//! | `schemas` missing, naming the SCIM 1.1 core schema, or naming extensions this server does not define | Okta, OneLogin's default template, Entra ID custom extensions |
//! | attributes the schema does not define are ignored instead of rejected, in POST and PUT bodies and in PATCH operations (with or without `path`) | Entra ID custom mappings |
//!
//! [`CompatProfile::Strict`] rejects each of these with the RFC 7644 error.

/// Which deviations from RFC 7644 the server accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum CompatProfile {
    /// RFC 7643 and 7644 to the letter.
    Strict,
    /// Also accept what Entra ID, Okta, OneLogin and JumpCloud actually send (the default).
    #[default]
    IdentityProviders,
}

impl CompatProfile {
    /// Whether the provider deviations listed in the module docs are accepted.
    pub fn lenient(self) -> bool {
        matches!(self, Self::IdentityProviders)
    }
}
