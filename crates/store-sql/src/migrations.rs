//! The schema, as numbered migrations with one script per backend.
//!
//! Rows keep each record as JSON in `body`, beside the columns that are looked up, ordered
//! or must be unique. The lookup indexes of SCIM resources end in `seq`, so that an equality
//! lookup also yields its rows in list order and `LIMIT` needs no sort. Text that is compared or ordered uses byte order (SQLite's `BINARY`,
//! Postgres' `"C"` collation), which is the code-point order the SCIM engine uses.

/// One migration.
#[derive(Debug)]
pub(crate) struct Migration {
    pub(crate) version: i64,
    pub(crate) name: &'static str,
    pub(crate) sqlite: &'static str,
    pub(crate) postgres: &'static str,
}

/// Every migration, oldest first. Released migrations are never edited; changes come as new
/// ones.
pub(crate) const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "tenants, login state, replay cache, SCIM resources",
        sqlite: r#"
CREATE TABLE organizations (
    id TEXT PRIMARY KEY,
    body TEXT NOT NULL
);
CREATE TABLE domains (
    name TEXT PRIMARY KEY,
    organization_id TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    body TEXT NOT NULL
);
CREATE INDEX domains_organization ON domains (organization_id);
CREATE TABLE connections (
    id TEXT PRIMARY KEY,
    organization_id TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    body TEXT NOT NULL
);
CREATE INDEX connections_organization ON connections (organization_id);
CREATE TABLE directories (
    id TEXT PRIMARY KEY,
    organization_id TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    body TEXT NOT NULL
);
CREATE INDEX directories_organization ON directories (organization_id);
CREATE TABLE scim_tokens (
    id TEXT PRIMARY KEY,
    directory_id TEXT NOT NULL REFERENCES directories (id) ON DELETE CASCADE,
    hash TEXT NOT NULL UNIQUE,
    lookup_key TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    body TEXT NOT NULL
);
CREATE INDEX scim_tokens_lookup ON scim_tokens (lookup_key);
CREATE INDEX scim_tokens_directory ON scim_tokens (directory_id);
CREATE TABLE login_states (
    id TEXT PRIMARY KEY,
    organization_id TEXT NOT NULL,
    connection_id TEXT NOT NULL,
    return_to TEXT,
    protocol_data TEXT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX login_states_expiry ON login_states (expires_at);
CREATE TABLE replay_cache (
    scope TEXT NOT NULL,
    id TEXT NOT NULL,
    expires_at BIGINT NOT NULL,
    PRIMARY KEY (scope, id)
);
CREATE INDEX replay_cache_expiry ON replay_cache (expires_at);
CREATE TABLE scim_resources (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    directory_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    id TEXT NOT NULL,
    version TEXT NOT NULL,
    body TEXT NOT NULL,
    id_fold TEXT NOT NULL,
    user_name TEXT,
    user_name_fold TEXT,
    external_id TEXT,
    external_id_fold TEXT,
    display_name TEXT,
    display_name_fold TEXT,
    UNIQUE (directory_id, kind, id)
);
CREATE INDEX scim_resources_id_fold ON scim_resources (directory_id, kind, id_fold, seq);
CREATE INDEX scim_resources_user_name ON scim_resources (directory_id, kind, user_name, seq);
CREATE INDEX scim_resources_user_name_fold ON scim_resources (directory_id, kind, user_name_fold, seq);
CREATE INDEX scim_resources_external_id ON scim_resources (directory_id, kind, external_id, seq);
CREATE INDEX scim_resources_external_id_fold ON scim_resources (directory_id, kind, external_id_fold, seq);
CREATE INDEX scim_resources_display_name ON scim_resources (directory_id, kind, display_name, seq);
CREATE INDEX scim_resources_display_name_fold ON scim_resources (directory_id, kind, display_name_fold, seq);
CREATE TABLE scim_unique (
    directory_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    attribute TEXT NOT NULL,
    value TEXT NOT NULL,
    resource_id TEXT NOT NULL,
    PRIMARY KEY (directory_id, kind, attribute, value)
);
CREATE INDEX scim_unique_resource ON scim_unique (directory_id, kind, resource_id);
CREATE TABLE scim_members (
    directory_id TEXT NOT NULL,
    group_id TEXT NOT NULL,
    member_id TEXT NOT NULL,
    PRIMARY KEY (directory_id, group_id, member_id)
);
CREATE INDEX scim_members_member ON scim_members (directory_id, member_id);
"#,
        postgres: r#"
CREATE TABLE organizations (
    id TEXT COLLATE "C" PRIMARY KEY,
    body TEXT NOT NULL
);
CREATE TABLE domains (
    name TEXT COLLATE "C" PRIMARY KEY,
    organization_id TEXT COLLATE "C" NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    body TEXT NOT NULL
);
CREATE INDEX domains_organization ON domains (organization_id);
CREATE TABLE connections (
    id TEXT COLLATE "C" PRIMARY KEY,
    organization_id TEXT COLLATE "C" NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    body TEXT NOT NULL
);
CREATE INDEX connections_organization ON connections (organization_id);
CREATE TABLE directories (
    id TEXT COLLATE "C" PRIMARY KEY,
    organization_id TEXT COLLATE "C" NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    body TEXT NOT NULL
);
CREATE INDEX directories_organization ON directories (organization_id);
CREATE TABLE scim_tokens (
    id TEXT COLLATE "C" PRIMARY KEY,
    directory_id TEXT COLLATE "C" NOT NULL REFERENCES directories (id) ON DELETE CASCADE,
    hash TEXT COLLATE "C" NOT NULL UNIQUE,
    lookup_key TEXT COLLATE "C" NOT NULL,
    created_at BIGINT NOT NULL,
    body TEXT NOT NULL
);
CREATE INDEX scim_tokens_lookup ON scim_tokens (lookup_key);
CREATE INDEX scim_tokens_directory ON scim_tokens (directory_id);
CREATE TABLE login_states (
    id TEXT COLLATE "C" PRIMARY KEY,
    organization_id TEXT NOT NULL,
    connection_id TEXT NOT NULL,
    return_to TEXT,
    protocol_data TEXT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX login_states_expiry ON login_states (expires_at);
CREATE TABLE replay_cache (
    scope TEXT COLLATE "C" NOT NULL,
    id TEXT COLLATE "C" NOT NULL,
    expires_at BIGINT NOT NULL,
    PRIMARY KEY (scope, id)
);
CREATE INDEX replay_cache_expiry ON replay_cache (expires_at);
CREATE TABLE scim_resources (
    seq BIGSERIAL PRIMARY KEY,
    directory_id TEXT COLLATE "C" NOT NULL,
    kind TEXT COLLATE "C" NOT NULL,
    id TEXT COLLATE "C" NOT NULL,
    version TEXT NOT NULL,
    body TEXT NOT NULL,
    id_fold TEXT COLLATE "C" NOT NULL,
    user_name TEXT COLLATE "C",
    user_name_fold TEXT COLLATE "C",
    external_id TEXT COLLATE "C",
    external_id_fold TEXT COLLATE "C",
    display_name TEXT COLLATE "C",
    display_name_fold TEXT COLLATE "C",
    UNIQUE (directory_id, kind, id)
);
CREATE INDEX scim_resources_id_fold ON scim_resources (directory_id, kind, id_fold, seq);
CREATE INDEX scim_resources_user_name ON scim_resources (directory_id, kind, user_name, seq);
CREATE INDEX scim_resources_user_name_fold ON scim_resources (directory_id, kind, user_name_fold, seq);
CREATE INDEX scim_resources_external_id ON scim_resources (directory_id, kind, external_id, seq);
CREATE INDEX scim_resources_external_id_fold ON scim_resources (directory_id, kind, external_id_fold, seq);
CREATE INDEX scim_resources_display_name ON scim_resources (directory_id, kind, display_name, seq);
CREATE INDEX scim_resources_display_name_fold ON scim_resources (directory_id, kind, display_name_fold, seq);
CREATE TABLE scim_unique (
    directory_id TEXT COLLATE "C" NOT NULL,
    kind TEXT COLLATE "C" NOT NULL,
    attribute TEXT COLLATE "C" NOT NULL,
    value TEXT COLLATE "C" NOT NULL,
    resource_id TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (directory_id, kind, attribute, value)
);
CREATE INDEX scim_unique_resource ON scim_unique (directory_id, kind, resource_id);
CREATE TABLE scim_members (
    directory_id TEXT COLLATE "C" NOT NULL,
    group_id TEXT COLLATE "C" NOT NULL,
    member_id TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (directory_id, group_id, member_id)
);
CREATE INDEX scim_members_member ON scim_members (directory_id, member_id);
"#,
    },
    Migration {
        version: 2,
        name: "group members reference stored users and groups",
        // A membership row names the member's kind, and a foreign key ties
        // (directory_id, member_kind, member_id) to a stored resource: no membership row can
        // name a missing user or group, and on Postgres the key check holds a KEY SHARE lock
        // on the member until the group's write commits. Rows that named no stored user or
        // group (possible before this migration) are dropped.
        sqlite: r#"
CREATE TABLE scim_members_v2 (
    directory_id TEXT NOT NULL,
    group_id TEXT NOT NULL,
    member_kind TEXT NOT NULL,
    member_id TEXT NOT NULL,
    PRIMARY KEY (directory_id, group_id, member_id),
    FOREIGN KEY (directory_id, member_kind, member_id) REFERENCES scim_resources (directory_id, kind, id)
);
INSERT INTO scim_members_v2 (directory_id, group_id, member_kind, member_id)
    SELECT m.directory_id, m.group_id, MIN(r.kind), m.member_id
    FROM scim_members m
    JOIN scim_resources r ON r.directory_id = m.directory_id AND r.id = m.member_id AND r.kind IN ('User', 'Group')
    GROUP BY m.directory_id, m.group_id, m.member_id;
DROP TABLE scim_members;
ALTER TABLE scim_members_v2 RENAME TO scim_members;
CREATE INDEX scim_members_member ON scim_members (directory_id, member_id, member_kind);
"#,
        postgres: r#"
ALTER TABLE scim_members ADD COLUMN member_kind TEXT COLLATE "C";
UPDATE scim_members m SET member_kind = (
    SELECT MIN(r.kind) FROM scim_resources r
    WHERE r.directory_id = m.directory_id AND r.id = m.member_id AND r.kind IN ('User', 'Group')
);
DELETE FROM scim_members WHERE member_kind IS NULL;
ALTER TABLE scim_members ALTER COLUMN member_kind SET NOT NULL;
ALTER TABLE scim_members ADD CONSTRAINT scim_members_member_fkey
    FOREIGN KEY (directory_id, member_kind, member_id) REFERENCES scim_resources (directory_id, kind, id);
DROP INDEX scim_members_member;
CREATE INDEX scim_members_member ON scim_members (directory_id, member_id, member_kind);
"#,
    },
];
