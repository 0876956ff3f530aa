//! Schemas and resource types (RFC 7643 sections 2, 6, 7 and 8.7).
//!
//! A [`Schema`] lists [`AttributeDef`]s with their type and characteristics; a
//! [`ResourceType`] names a core schema and its extensions; a [`ResourceSchema`] is the
//! resolved view of one resource type that the filter evaluator, the PATCH engine and the
//! handler consult.

use serde::{Deserialize, Serialize};

use crate::error::ScimError;
use crate::filter::AttrPath;

/// The core User schema URN.
pub const USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
/// The core Group schema URN.
pub const GROUP_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
/// The Enterprise User extension schema URN.
pub const ENTERPRISE_USER_SCHEMA: &str =
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
/// The schema URN of `/Schemas` entries.
pub const SCHEMA_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Schema";
/// The schema URN of `/ResourceTypes` entries.
pub const RESOURCE_TYPE_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:ResourceType";

/// An attribute's data type (RFC 7643 section 2.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum AttrType {
    /// A sequence of characters.
    String,
    /// `true` or `false`.
    Boolean,
    /// A real number.
    Decimal,
    /// A whole number.
    Integer,
    /// An xsd:dateTime, compared as an instant.
    DateTime,
    /// Base64-encoded bytes.
    Binary,
    /// A URI reference.
    Reference,
    /// A set of sub-attributes.
    Complex,
}

/// Whether and how a client may change an attribute (RFC 7643 section 7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub enum Mutability {
    /// Set by the server only; client values are ignored on replace and rejected on PATCH.
    ReadOnly,
    /// Freely changed.
    #[default]
    ReadWrite,
    /// Set once, on create or when empty, and never changed after.
    Immutable,
    /// Written, never returned.
    WriteOnly,
}

/// When an attribute is returned (RFC 7643 section 7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub enum Returned {
    /// Always returned, even when excluded.
    Always,
    /// Never returned.
    Never,
    /// Returned unless excluded or another set was requested.
    #[default]
    Default,
    /// Returned only when requested by `attributes`.
    Request,
}

/// How a value must be unique (RFC 7643 section 7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub enum Uniqueness {
    /// No uniqueness.
    #[default]
    None,
    /// Unique within this directory.
    Server,
    /// Globally unique; enforced here as within this directory.
    Global,
}

/// One attribute definition, as served by `/Schemas`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AttributeDef {
    /// The attribute name, matched case-insensitively.
    pub name: String,
    /// The data type.
    #[serde(rename = "type")]
    pub kind: AttrType,
    /// Whether the value is an array.
    #[serde(default)]
    pub multi_valued: bool,
    /// A human-readable description.
    #[serde(default)]
    pub description: String,
    /// Whether the attribute must be present on create and replace.
    #[serde(default)]
    pub required: bool,
    /// The values a client may use; empty means any.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub canonical_values: Vec<String>,
    /// Whether string comparisons are case-sensitive.
    #[serde(default)]
    pub case_exact: bool,
    /// Mutability.
    #[serde(default)]
    pub mutability: Mutability,
    /// Returned.
    #[serde(default)]
    pub returned: Returned,
    /// Uniqueness.
    #[serde(default)]
    pub uniqueness: Uniqueness,
    /// For `reference`: the resource types that may be referenced.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reference_types: Vec<String>,
    /// For `complex`: the sub-attributes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sub_attributes: Vec<AttributeDef>,
}

impl AttributeDef {
    /// A single-valued, optional, read-write, case-insensitive attribute of `kind`.
    pub fn new(name: &str, kind: AttrType) -> Self {
        Self {
            name: name.to_owned(),
            kind,
            multi_valued: false,
            description: String::new(),
            required: false,
            canonical_values: Vec::new(),
            case_exact: false,
            mutability: Mutability::ReadWrite,
            returned: Returned::Default,
            uniqueness: Uniqueness::None,
            reference_types: Vec::new(),
            sub_attributes: Vec::new(),
        }
    }

    /// A string attribute.
    pub fn string(name: &str) -> Self {
        Self::new(name, AttrType::String)
    }

    /// A complex attribute with `subs`.
    pub fn complex(name: &str, subs: Vec<AttributeDef>) -> Self {
        let mut a = Self::new(name, AttrType::Complex);
        a.sub_attributes = subs;
        a
    }

    /// A reference attribute to `types`.
    pub fn reference(name: &str, types: &[&str]) -> Self {
        let mut a = Self::new(name, AttrType::Reference);
        a.reference_types = types.iter().map(|t| (*t).to_owned()).collect();
        a
    }

    /// Sets the description.
    pub fn describe(mut self, d: &str) -> Self {
        self.description = d.to_owned();
        self
    }
    /// Makes the attribute multi-valued.
    pub fn multi(mut self) -> Self {
        self.multi_valued = true;
        self
    }
    /// Makes the attribute required.
    pub fn required(mut self) -> Self {
        self.required = true;
        self
    }
    /// Makes string comparison case-sensitive.
    pub fn case_exact(mut self) -> Self {
        self.case_exact = true;
        self
    }
    /// Sets mutability.
    pub fn mutability(mut self, m: Mutability) -> Self {
        self.mutability = m;
        self
    }
    /// Sets returned.
    pub fn returned(mut self, r: Returned) -> Self {
        self.returned = r;
        self
    }
    /// Sets uniqueness.
    pub fn uniqueness(mut self, u: Uniqueness) -> Self {
        self.uniqueness = u;
        self
    }
    /// Sets the canonical values.
    pub fn canonical(mut self, values: &[&str]) -> Self {
        self.canonical_values = values.iter().map(|v| (*v).to_owned()).collect();
        self
    }

    /// The sub-attribute called `name` (case-insensitive).
    pub fn sub_attribute(&self, name: &str) -> Option<&AttributeDef> {
        self.sub_attributes
            .iter()
            .find(|a| a.name.eq_ignore_ascii_case(name))
    }

    /// Whether `value` is one of the canonical values (always true when there are none).
    pub fn is_canonical(&self, value: &str) -> bool {
        self.canonical_form(value).is_some()
    }

    /// The schema's spelling of `value` when it is one of the canonical values (compared
    /// case-insensitively unless `caseExact`), `value` itself when there are none, `None`
    /// when it is not canonical.
    pub fn canonical_form<'a>(&'a self, value: &'a str) -> Option<&'a str> {
        if self.canonical_values.is_empty() {
            return Some(value);
        }
        self.canonical_values
            .iter()
            .find(|c| {
                if self.case_exact {
                    *c == value
                } else {
                    c.eq_ignore_ascii_case(value)
                }
            })
            .map(String::as_str)
    }
}

/// A schema: an id (URN) and its attributes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Schema {
    /// The schema URN.
    pub id: String,
    /// The human-readable name.
    #[serde(default)]
    pub name: String,
    /// A description.
    #[serde(default)]
    pub description: String,
    /// The attributes.
    pub attributes: Vec<AttributeDef>,
}

impl Schema {
    /// The attribute called `name` (case-insensitive).
    pub fn attribute(&self, name: &str) -> Option<&AttributeDef> {
        self.attributes
            .iter()
            .find(|a| a.name.eq_ignore_ascii_case(name))
    }
}

/// A schema extension of a resource type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SchemaExtension {
    /// The extension schema URN.
    pub schema: String,
    /// Whether resources must carry it.
    pub required: bool,
}

/// A resource type (RFC 7643 section 6).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResourceType {
    /// The id and name, such as `User`.
    pub id: String,
    /// The name, such as `User`.
    pub name: String,
    /// The endpoint relative to the base URL, such as `/Users`.
    pub endpoint: String,
    /// A description.
    #[serde(default)]
    pub description: String,
    /// The core schema URN.
    pub schema: String,
    /// The extensions.
    #[serde(default)]
    pub schema_extensions: Vec<SchemaExtension>,
}

/// Whether a resource type is the built-in User, the built-in Group, or one the host added.
///
/// Group membership and `userName` uniqueness apply to the first two.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ResourceKind {
    /// `/Users`.
    User,
    /// `/Groups`.
    Group,
    /// A resource type registered by the host, by its name.
    Custom(String),
}

impl ResourceKind {
    /// The resource type name (`User`, `Group`, or the custom name).
    pub fn name(&self) -> &str {
        match self {
            Self::User => "User",
            Self::Group => "Group",
            Self::Custom(n) => n,
        }
    }
}

/// The resolved schema of one resource type: the type, its core schema and its extensions.
#[derive(Debug, Clone, PartialEq)]
pub struct ResourceSchema {
    /// Which kind of resource this is.
    pub kind: ResourceKind,
    /// The resource type.
    pub resource_type: ResourceType,
    /// The core schema.
    pub core: Schema,
    /// The extension schemas, in the order of `resource_type.schema_extensions`.
    pub extensions: Vec<Schema>,
    common: Vec<AttributeDef>,
}

/// Where a resolved attribute lives in a resource's JSON.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ResolvedAttr<'a> {
    /// `None` for core and common attributes (top-level keys); the extension URN for
    /// extension attributes (nested under that key).
    pub extension: Option<&'a str>,
    /// The top-level attribute.
    pub attr: &'a AttributeDef,
    /// The sub-attribute, when the path names one.
    pub sub: Option<&'a AttributeDef>,
}

impl ResolvedAttr<'_> {
    /// The attribute whose value the path selects: the sub-attribute if any, else the
    /// attribute.
    pub fn leaf(&self) -> &AttributeDef {
        self.sub.unwrap_or(self.attr)
    }
}

impl ResourceSchema {
    /// Resolves `core` and `extensions` for `resource_type`.
    pub fn new(
        kind: ResourceKind,
        resource_type: ResourceType,
        core: Schema,
        extensions: Vec<Schema>,
    ) -> Self {
        Self {
            kind,
            resource_type,
            core,
            extensions,
            common: common_attributes(),
        }
    }

    /// The built-in User type with the Enterprise User extension.
    pub fn user() -> Self {
        Self::new(
            ResourceKind::User,
            ResourceType {
                id: "User".into(),
                name: "User".into(),
                endpoint: "/Users".into(),
                description: "User Account".into(),
                schema: USER_SCHEMA.into(),
                schema_extensions: vec![SchemaExtension {
                    schema: ENTERPRISE_USER_SCHEMA.into(),
                    required: false,
                }],
            },
            user_schema(),
            vec![enterprise_user_schema()],
        )
    }

    /// The built-in Group type.
    pub fn group() -> Self {
        Self::new(
            ResourceKind::Group,
            ResourceType {
                id: "Group".into(),
                name: "Group".into(),
                endpoint: "/Groups".into(),
                description: "Group".into(),
                schema: GROUP_SCHEMA.into(),
                schema_extensions: Vec::new(),
            },
            group_schema(),
            Vec::new(),
        )
    }

    /// Adds an extension schema (the host's own, such as a custom enterprise extension).
    pub fn with_extension(mut self, schema: Schema, required: bool) -> Self {
        self.resource_type.schema_extensions.push(SchemaExtension {
            schema: schema.id.clone(),
            required,
        });
        self.extensions.push(schema);
        self
    }

    /// The common attributes `schemas`, `id`, `externalId` and `meta` (RFC 7643 sections 3
    /// and 3.1).
    pub fn common_attributes(&self) -> &[AttributeDef] {
        &self.common
    }

    /// The extension schema with URN `urn` (case-insensitive).
    pub fn extension(&self, urn: &str) -> Option<&Schema> {
        self.extensions
            .iter()
            .find(|s| s.id.eq_ignore_ascii_case(urn))
    }

    /// Whether `urn` is the core schema or one of the extensions.
    pub fn knows_schema(&self, urn: &str) -> bool {
        self.core.id.eq_ignore_ascii_case(urn) || self.extension(urn).is_some()
    }

    /// Every schema URN of this type: core first.
    pub fn schema_urns(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.core.id.as_str()).chain(self.extensions.iter().map(|s| s.id.as_str()))
    }

    /// Resolves a top-level attribute name, optionally URN-qualified, to its definition.
    pub fn top_level(
        &self,
        urn: Option<&str>,
        name: &str,
    ) -> Option<(Option<&str>, &AttributeDef)> {
        match urn {
            None => {
                if let Some(a) = self
                    .common
                    .iter()
                    .find(|a| a.name.eq_ignore_ascii_case(name))
                {
                    return Some((None, a));
                }
                self.core.attribute(name).map(|a| (None, a))
            }
            Some(u) if u.eq_ignore_ascii_case(&self.core.id) => self
                .core
                .attribute(name)
                .or_else(|| {
                    self.common
                        .iter()
                        .find(|a| a.name.eq_ignore_ascii_case(name))
                })
                .map(|a| (None, a)),
            Some(u) => {
                let ext = self.extension(u)?;
                ext.attribute(name).map(|a| (Some(ext.id.as_str()), a))
            }
        }
    }

    /// Resolves an attribute path.
    pub fn resolve(&self, path: &AttrPath) -> Option<ResolvedAttr<'_>> {
        let (extension, attr) = self.top_level(path.urn.as_deref(), &path.name)?;
        let sub = match &path.sub {
            None => None,
            Some(s) => Some(attr.sub_attribute(s)?),
        };
        Some(ResolvedAttr {
            extension,
            attr,
            sub,
        })
    }

    /// Resolves a path or fails with `invalidPath`.
    pub fn resolve_or_invalid_path(&self, path: &AttrPath) -> Result<ResolvedAttr<'_>, ScimError> {
        self.resolve(path).ok_or_else(|| {
            ScimError::invalid_path(format!(
                "attribute \"{path}\" is not defined for resource type {}",
                self.resource_type.name
            ))
        })
    }
}

/// The built-in `schemas`, `id`, `externalId` and `meta` definitions.
pub fn common_attributes() -> Vec<AttributeDef> {
    use Mutability::ReadOnly;
    vec![
        // RFC 7643 section 3: the schema URIs of the resource; RFC 7644 section 3.4.2.2 filters
        // on it (`schemas eq "urn:...:enterprise:2.0:User"`). URNs compare case-insensitively.
        AttributeDef::reference("schemas", &["uri"])
            .describe("The URIs of the schemas the resource uses.")
            .multi()
            .mutability(ReadOnly)
            .returned(Returned::Always),
        AttributeDef::string("id")
            .describe("Unique identifier of the resource, assigned by the service provider.")
            .case_exact()
            .mutability(ReadOnly)
            .returned(Returned::Always)
            .uniqueness(Uniqueness::Server),
        AttributeDef::string("externalId")
            .describe("Identifier of the resource as defined by the provisioning client.")
            .case_exact(),
        AttributeDef::complex(
            "meta",
            vec![
                AttributeDef::string("resourceType")
                    .case_exact()
                    .mutability(ReadOnly),
                AttributeDef::new("created", AttrType::DateTime).mutability(ReadOnly),
                AttributeDef::new("lastModified", AttrType::DateTime).mutability(ReadOnly),
                AttributeDef::reference("location", &["uri"])
                    .case_exact()
                    .mutability(ReadOnly),
                AttributeDef::string("version")
                    .case_exact()
                    .mutability(ReadOnly),
            ],
        )
        .describe("Resource metadata.")
        .mutability(ReadOnly),
    ]
}

fn multi_complex(name: &str, value: AttributeDef, types: &[&str], display: bool) -> AttributeDef {
    let mut subs = vec![value];
    if display {
        subs.push(AttributeDef::string("display"));
    }
    subs.push(AttributeDef::string("type").canonical(types));
    subs.push(AttributeDef::new("primary", AttrType::Boolean));
    AttributeDef::complex(name, subs).multi()
}

/// The core User schema (RFC 7643 section 4.1).
pub fn user_schema() -> Schema {
    use Mutability::{ReadOnly, WriteOnly};
    let s = AttributeDef::string;
    Schema {
        id: USER_SCHEMA.into(),
        name: "User".into(),
        description: "User Account".into(),
        attributes: vec![
            s("userName")
                .describe("Unique identifier for the User, used to authenticate.")
                .required()
                .uniqueness(Uniqueness::Server),
            AttributeDef::complex(
                "name",
                vec![
                    s("formatted"),
                    s("familyName"),
                    s("givenName"),
                    s("middleName"),
                    s("honorificPrefix"),
                    s("honorificSuffix"),
                ],
            )
            .describe("The components of the user's real name."),
            s("displayName").describe("The name of the User, suitable for display."),
            s("nickName").describe("The casual way to address the user."),
            AttributeDef::reference("profileUrl", &["external"])
                .describe("The user's online profile."),
            s("title").describe("The user's title."),
            s("userType").describe("The relationship between the organization and the user."),
            s("preferredLanguage").describe("The user's preferred written or spoken language."),
            s("locale").describe("The user's default location."),
            s("timezone").describe("The user's time zone in IANA format."),
            AttributeDef::new("active", AttrType::Boolean)
                .describe("The user's administrative status."),
            s("password")
                .describe("The user's cleartext password; never returned.")
                .mutability(WriteOnly)
                .returned(Returned::Never),
            multi_complex("emails", s("value"), &["work", "home", "other"], true)
                .describe("Email addresses for the user."),
            multi_complex(
                "phoneNumbers",
                s("value"),
                &["work", "home", "mobile", "fax", "pager", "other"],
                true,
            )
            .describe("Phone numbers for the user."),
            multi_complex(
                "ims",
                s("value"),
                &["aim", "gtalk", "icq", "xmpp", "msn", "skype", "qq", "yahoo"],
                true,
            )
            .describe("Instant messaging addresses for the user."),
            multi_complex(
                "photos",
                AttributeDef::reference("value", &["external"]),
                &["photo", "thumbnail"],
                true,
            )
            .describe("URLs of images of the user."),
            AttributeDef::complex(
                "addresses",
                vec![
                    s("formatted"),
                    s("streetAddress"),
                    s("locality"),
                    s("region"),
                    s("postalCode"),
                    s("country"),
                    s("type").canonical(&["work", "home", "other"]),
                    AttributeDef::new("primary", AttrType::Boolean),
                ],
            )
            .multi()
            .describe("Physical mailing addresses for this user."),
            AttributeDef::complex(
                "groups",
                vec![
                    s("value").mutability(ReadOnly),
                    AttributeDef::reference("$ref", &["User", "Group"]).mutability(ReadOnly),
                    s("display").mutability(ReadOnly),
                    s("type")
                        .canonical(&["direct", "indirect"])
                        .mutability(ReadOnly),
                ],
            )
            .multi()
            .mutability(ReadOnly)
            .describe("The groups the user belongs to, kept by the service provider."),
            multi_complex("entitlements", s("value"), &[], true)
                .describe("Entitlements of the user."),
            multi_complex("roles", s("value"), &[], true).describe("Roles of the user."),
            multi_complex(
                "x509Certificates",
                AttributeDef::new("value", AttrType::Binary),
                &[],
                true,
            )
            .describe("DER-encoded X.509 certificates of the user."),
        ],
    }
}

/// The core Group schema (RFC 7643 section 4.2).
pub fn group_schema() -> Schema {
    use Mutability::Immutable;
    Schema {
        id: GROUP_SCHEMA.into(),
        name: "Group".into(),
        description: "Group".into(),
        attributes: vec![
            AttributeDef::string("displayName")
                .describe("A human-readable name for the Group.")
                .required(),
            AttributeDef::complex(
                "members",
                vec![
                    AttributeDef::string("value")
                        .case_exact()
                        .mutability(Immutable),
                    AttributeDef::reference("$ref", &["User", "Group"]).mutability(Immutable),
                    AttributeDef::string("display"),
                    AttributeDef::string("type")
                        .canonical(&["User", "Group"])
                        .mutability(Immutable),
                ],
            )
            .multi()
            .describe("A list of members of the Group."),
        ],
    }
}

/// The Enterprise User extension (RFC 7643 section 4.3).
pub fn enterprise_user_schema() -> Schema {
    let s = AttributeDef::string;
    Schema {
        id: ENTERPRISE_USER_SCHEMA.into(),
        name: "EnterpriseUser".into(),
        description: "Enterprise User".into(),
        attributes: vec![
            s("employeeNumber")
                .describe("Numeric or alphanumeric identifier assigned to a person."),
            s("costCenter").describe("Identifies the name of a cost center."),
            s("organization").describe("Identifies the name of an organization."),
            s("division").describe("Identifies the name of a division."),
            s("department").describe("Identifies the name of a department."),
            AttributeDef::complex(
                "manager",
                vec![
                    s("value").describe("The id of the SCIM resource representing the manager."),
                    AttributeDef::reference("$ref", &["User"]),
                    s("displayName").mutability(Mutability::ReadOnly),
                ],
            )
            .describe("The user's manager."),
        ],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_core_extension_and_common_paths() {
        let s = ResourceSchema::user();
        let p = AttrPath {
            urn: None,
            name: "USERNAME".into(),
            sub: None,
        };
        assert_eq!(
            s.resolve(&p).map(|r| r.attr.name.as_str()),
            Some("userName")
        );
        let p = AttrPath {
            urn: Some(ENTERPRISE_USER_SCHEMA.into()),
            name: "manager".into(),
            sub: Some("value".into()),
        };
        let r = s.resolve(&p).expect("resolves");
        assert_eq!(r.extension, Some(ENTERPRISE_USER_SCHEMA));
        assert_eq!(r.leaf().name, "value");
        let p = AttrPath {
            urn: None,
            name: "meta".into(),
            sub: Some("lastModified".into()),
        };
        assert_eq!(
            s.resolve(&p).map(|r| r.leaf().kind),
            Some(AttrType::DateTime)
        );
        let p = AttrPath {
            urn: None,
            name: "nope".into(),
            sub: None,
        };
        assert!(s.resolve(&p).is_none());
    }

    #[test]
    fn schema_serializes_in_rfc_shape() {
        let v = serde_json::to_value(user_schema().attribute("emails").cloned()).unwrap();
        assert_eq!(v["type"], "complex");
        assert_eq!(v["multiValued"], true);
        assert_eq!(v["subAttributes"][2]["canonicalValues"][0], "work");
        assert_eq!(v["mutability"], "readWrite");
    }
}
