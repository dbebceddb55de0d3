#!/usr/bin/env python3
"""Regenerate store/src/sqlite/*.rs from store/src/postgres/*.rs.

The two adapters run the same SQL but for schema names, casts and boolean
literals. Edit the PostgreSQL adapter, run this from store/src, and review
the diff; the contract tests (store/tests/contract.rs) prove both.
"""
import re
import sys
def conv(s):
    s=s.replace('PgStore','SqliteStore').replace('PgRow','SqliteRow').replace('PgConnection','SqliteConnection').replace('PgPool','SqlitePool')
    s=s.replace('sqlx::postgres::','sqlx::sqlite::')
    s=s.replace('QueryBuilder::<Postgres>','QueryBuilder::<Sqlite>').replace('use sqlx::{Postgres, QueryBuilder, Row};','use sqlx::{QueryBuilder, Row, Sqlite};').replace('use sqlx::{Postgres, QueryBuilder};','use sqlx::{QueryBuilder, Sqlite};')
    for sch in ['customer.','business.','loyalty.','analytics.','identity.']:
        for kw in ['INTO ','FROM ','UPDATE ']:
            s=s.replace(kw+sch,kw)
    s=re.sub(r'(\$\d+)::uuid IS NULL', r'\1 IS NULL', s)
    s=s.replace('is_active = false','is_active = 0').replace('marketing_consent = false','marketing_consent = 0')
    return s
import os
# ledger.rs differs by design (UNNEST batches on PostgreSQL; on SQLite the group
# commit runs on the writer's handle, in direct.rs), and mod.rs by its pools
# (SQLite has one writer connection beside the readers): written by hand, as are
# SQLite's own direct.rs and checkpoint.rs (no PostgreSQL twin); nodelay.rs is
# PostgreSQL's alone (TCP sockets).
files=sorted(f for f in os.listdir('postgres') if f.endswith('.rs') and f not in ('ledger.rs', 'mod.rs', 'nodelay.rs'))

WRITES=re.compile(r'\b(INSERT|UPDATE|DELETE)\b|\.(begin|begin_with)\(')
# (A method that writes through a helper opens a transaction for it, so this
# sees the write; methods that merely acquire a connection only read.)
def route_writes(s):
    # SQLite has one writer at a time. Every method that writes takes the one
    # writer connection (`self.writer()`), so writers queue in the pool instead
    # of meeting SQLITE_BUSY and sleeping in SQLite's busy handler; reads keep
    # the read-only pool. Methods start at `    async fn ` / `    fn `.
    parts=re.split(r'(?m)^(?=    (?:pub )?(?:async )?fn )', s)
    return ''.join(p.replace('self.pool()','self.writer()') if WRITES.search(p) else p for p in parts)
for f in files:
    s=conv(open('postgres/'+f).read())
    if f=='mod.rs':
        s=s.replace("//! The PostgreSQL adapter. Tables live in the schemas `customer`, `business`,\n//! `loyalty` and `analytics` (see `migrations/postgres`).","//! The SQLite adapter (the embedded default). The same tables as PostgreSQL\n//! without schemas (see `migrations/sqlite`); uuids are blobs, times RFC 3339 text.\n//! Generated in shape from the PostgreSQL adapter; keep the two in step.")
        s=s.replace('"postgres"','"sqlite"')
    if f=='customers.rs':
        s=s.replace('preferences: row.try_get("preferences")?,','preferences: row.try_get::<sqlx::types::Json<serde_json::Value>, _>("preferences")?.0,')
    if f=='staff.rs':
        old='''        let mut tx = self.pool().begin().await.map_err(error::other)?;
        // Two processes starting at once must not both create an owner.
        sqlx::query("SELECT pg_advisory_xact_lock(hashtext('stampede.first_owner'))")
            .execute(&mut *tx)
            .await
            .map_err(error::other)?;'''
        assert old in s
        s=s.replace(old,'''        // BEGIN IMMEDIATE takes the write lock before the count, so two processes
        // starting at once cannot both see an empty staff table.
        let mut tx = self.pool().begin_with("BEGIN IMMEDIATE").await.map_err(error::other)?;''')
    open('sqlite/'+f,'w').write(route_writes(s))
