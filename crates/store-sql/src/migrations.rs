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

#[cfg(test)]
mod tests {
    use scim_core::ResourceKind;
    use scim_core::store::ResourceStore as _;
    use sqlx::{AnyConnection, Connection as _, Row as _};

    use super::MIGRATIONS;
    use crate::SqlStore;

    /// Applies only migration 1 to the empty database at `url` and stores, as a version 1
    /// node could, a group listing a user and a ghost, plus a row of another directory.
    async fn version_1_with_dangling_rows(url: &str, postgres: bool) {
        sqlx::any::install_default_drivers();
        let mut conn = AnyConnection::connect(url)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let mut statements: Vec<String> = vec![
            "CREATE TABLE gatehouse_migrations (version BIGINT PRIMARY KEY, name TEXT NOT NULL)"
                .into(),
            "INSERT INTO gatehouse_migrations (version, name) VALUES (1, 'v1')".into(),
        ];
        let v1 = if postgres {
            MIGRATIONS[0].postgres
        } else {
            MIGRATIONS[0].sqlite
        };
        statements.splice(
            0..0,
            v1.split(';')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned),
        );
        let resource = |kind: &str, id: &str, body: &str| {
            format!(
                "INSERT INTO scim_resources (directory_id, kind, id, version, body, id_fold) \
                 VALUES ('d', '{kind}', '{id}', 'W/\"1\"', '{body}', '{id}')"
            )
        };
        statements.push(resource(
            "User",
            "u-1",
            r#"{"id":"u-1","userName":"a","meta":{"version":"W/\"1\""}}"#,
        ));
        statements.push(resource(
            "Group",
            "g-1",
            r#"{"id":"g-1","displayName":"G","members":[{"value":"u-1"},{"value":"ghost"}],"meta":{"version":"W/\"1\""}}"#,
        ));
        for (dir, member) in [("d", "u-1"), ("d", "ghost"), ("other", "u-1")] {
            statements.push(format!(
                "INSERT INTO scim_members (directory_id, group_id, member_id) VALUES ('{dir}', 'g-1', '{member}')"
            ));
        }
        for s in statements {
            sqlx::query(&s)
                .execute(&mut conn)
                .await
                .unwrap_or_else(|e| panic!("{s}: {e}"));
        }
        conn.close().await.unwrap_or_else(|e| panic!("{e}"));
    }

    async fn upgrade(url: &str, postgres: bool) {
        version_1_with_dangling_rows(url, postgres).await;
        let store = SqlStore::connect(url)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(store.applied_migrations().await, Ok(vec![1, 2]));
        let rows = sqlx::query(
            "SELECT directory_id, member_kind, member_id FROM scim_members ORDER BY directory_id, member_id",
        )
        .fetch_all(&store.pool)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
        let rows: Vec<(String, String, String)> = rows
            .iter()
            .map(|r| {
                (
                    r.try_get(0).unwrap_or_default(),
                    r.try_get(1).unwrap_or_default(),
                    r.try_get(2).unwrap_or_default(),
                )
            })
            .collect();
        assert_eq!(
            rows,
            vec![("d".into(), "User".into(), "u-1".into())],
            "only the row naming a stored member stays, with its kind"
        );
        // The kept row is live: deleting the user cleans the group.
        let scim = store.resource_store(
            &tenant_config::DirectoryId::new("d").unwrap_or_else(|e| panic!("{e}")),
        );
        assert_eq!(scim.delete(&ResourceKind::User, "u-1", None).await, Ok(()));
        let group = scim
            .get(&ResourceKind::Group, "g-1")
            .await
            .unwrap_or_else(|e| panic!("{e}"))
            .unwrap_or_default();
        assert_eq!(group["members"], serde_json::json!([{"value": "ghost"}]));
        assert_eq!(group["meta"]["version"], serde_json::json!("W/\"2\""));
        store.close().await;
    }

    #[tokio::test]
    async fn migration_2_upgrades_sqlite_data() {
        let dir = std::env::temp_dir().join(format!("gatehouse-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
        let url = format!("sqlite://{}?mode=rwc", dir.join("v1.db").display());
        upgrade(&url, false).await;
        std::fs::remove_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
    }

    #[tokio::test]
    async fn migration_2_upgrades_postgres_data() {
        let url = std::env::var("GATEHOUSE_POSTGRES_URL").unwrap_or_else(|_| {
            panic!("GATEHOUSE_POSTGRES_URL is not set: run `eval \"$(scripts/postgres start)\"`")
        });
        let name = format!("gh_{}", uuid::Uuid::new_v4().simple());
        let mut admin = <sqlx::PgConnection as sqlx::Connection>::connect(&url)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&mut admin)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let base = url.rsplit_once('/').map(|(b, _)| b).unwrap_or(&url);
        upgrade(&format!("{base}/{name}"), true).await;
    }
}
