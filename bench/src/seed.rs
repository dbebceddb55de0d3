//! The fast seeding path: the bench writes its world straight into the
//! server's database (the same schema the server migrated), instead of through
//! tens of thousands of API calls. Small things go through the store adapters;
//! customers and cards are bulk-inserted (multi-row on PostgreSQL, one
//! transaction on SQLite).
//!
//! The world: one business with its stores and terminals, a stamp program
//! and a points program with a reward each, and customers who each hold one
//! card of each (card `2c` is customer `c`'s stamp card, `2c + 1` their points
//! card, so the most popular cards are the most popular customers'). The
//! first `app_users` customers have a password: the load signs them in
//! through the API and reads their balances as the customer app does.

use std::sync::Arc;

use base64::Engine;
use chrono::Utc;
use rand::RngCore;
use sha2::{Digest, Sha256};
use stampede_domain::business::{NewBusiness, NewStore};
use stampede_domain::card::{CardBook, Lot};
use stampede_domain::identity::Terminal;
use stampede_domain::ports::Store;
use stampede_domain::program::{Currency, PointsRules, Program, ProgramRules, Reward, Rounding, StampRules};
use stampede_domain::text::Name;
use stampede_store::{DatabaseBackend, DatabaseOptions};
use uuid::Uuid;

/// What the load generator needs to know about the seeded world.
#[derive(Debug, Clone)]
pub struct World {
    /// Made for this run: its ledger rows are this run's, whatever else the
    /// database holds.
    pub business: Uuid,
    pub stores: Vec<Uuid>,
    /// (terminal key, its store).
    pub terminals: Vec<(String, Uuid)>,
    /// Even indexes are stamp cards, odd ones points cards ([`World::is_points`]).
    pub cards: Vec<Uuid>,
    pub codes: Vec<String>,
    /// The stamp program's reward, and the points program's.
    pub stamp_reward: Uuid,
    pub points_reward: Uuid,
    /// The points program's currency.
    pub currency: String,
    /// Emails of the customers who sign in to the app (customer `c` holds
    /// cards `2c` and `2c + 1`), and their password.
    pub app_users: Vec<String>,
    pub app_password: String,
    /// Every card starts with this balance (so redemptions have something).
    pub initial_balance: i64,
}

impl World {
    /// Whether card `i` is a points card (else a stamp card).
    pub fn is_points(i: usize) -> bool {
        i % 2 == 1
    }
}

pub struct SeedOptions {
    /// Cards in all, half of them stamp cards and half points cards (one of
    /// each per customer).
    pub cards: usize,
    pub stores: usize,
    pub terminals_per_store: usize,
    pub initial_balance: i64,
    /// Customers given a password, to sign in to the app (at most one per
    /// two cards: with an odd number of cards, the last customer holds a
    /// stamp card only and is never one).
    pub app_users: usize,
}

/// An argon2id hash of `password` with the server's parameters (m = 19 MiB,
/// t = 2, p = 1), so signing in costs what it costs a real customer.
fn password_hash(password: &str) -> anyhow::Result<String> {
    use argon2::password_hash::PasswordHasher as _;
    let params = argon2::Params::new(19 * 1024, 2, 1, None).map_err(|e| anyhow::anyhow!("{e}"))?;
    argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params)
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| anyhow::anyhow!("hashing the app users' password: {e}"))
}

fn terminal_key(id: Uuid) -> (String, Vec<u8>) {
    let mut secret = [0u8; 32];
    rand::rng().fill_bytes(&mut secret);
    let secret = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(secret);
    (format!("stp_{}_{secret}", id.simple()), Sha256::digest(secret.as_bytes()).to_vec())
}

pub async fn seed(db: &DatabaseOptions, o: &SeedOptions) -> anyhow::Result<World> {
    let store: Arc<dyn Store> = stampede_store::open(db).await?;
    let name = |s: &str| Name::parse(s).map_err(|e| anyhow::anyhow!("{e}"));
    let business = store
        .create_business(
            NewBusiness { name: name("Bench Café")?, description: None, tax_id: None, website: None },
            None,
        )
        .await?;
    let mut stores = Vec::new();
    let mut terminals = Vec::new();
    for s in 0..o.stores {
        let st = store
            .create_store(
                NewStore {
                    business_id: business.id,
                    brand_id: None,
                    name: name(&format!("Store {s}"))?,
                    timezone: "UTC".into(),
                    address: serde_json::json!({}),
                },
                None,
            )
            .await?;
        for t in 0..o.terminals_per_store {
            let id = Uuid::now_v7();
            let (key, hash) = terminal_key(id);
            store
                .create_terminal(
                    &Terminal {
                        id,
                        business_id: business.id,
                        brand_id: None,
                        store_id: st.id,
                        name: format!("Till {t}"),
                        key_prefix: format!("stp_{}", &id.simple().to_string()[..8]),
                        key_hash: hash,
                        created_at: Utc::now(),
                        last_used_at: None,
                        revoked_at: None,
                    },
                    None,
                )
                .await?;
            terminals.push((key, st.id.0));
        }
        stores.push(st.id.0);
    }
    let now = Utc::now();
    let program = |name: &str, rules| Program {
        id: Uuid::now_v7(),
        business_id: business.id,
        name: name.into(),
        description: None,
        rules,
        availability: Default::default(),
        version: 1,
        is_active: true,
        created_at: now,
        updated_at: now,
    };
    let stamps = program(
        "Coffee card",
        ProgramRules::Stamps(StampRules {
            stamps_per_reward: 10,
            max_stamps_per_visit: 5,
            min_purchase_minor: None,
            currency: None,
            min_interval_secs: 0,
            daily_cap: None,
            expiry_days: None,
        }),
    );
    let currency = "EUR";
    let points = program(
        "Bakery points",
        ProgramRules::Points(PointsRules {
            currency: Currency::parse(currency).map_err(|e| anyhow::anyhow!("{e}"))?,
            points_per_unit: 1,
            unit_minor: 100,
            rounding: Rounding::Down,
            store_overrides: Default::default(),
            daily_cap: None,
            expiry_days: None,
        }),
    );
    let reward = |program: &Program, name: &str, cost| Reward {
        id: Uuid::now_v7(),
        program_id: program.id,
        name: name.into(),
        description: None,
        image_url: None,
        cost,
        stock: None,
        active_from: None,
        active_until: None,
        is_active: true,
        version: 1,
    };
    let (stamp_reward, points_reward) = (reward(&stamps, "Free coffee", 10), reward(&points, "Free loaf", 25));
    for (p, r) in [(&stamps, &stamp_reward), (&points, &points_reward)] {
        store.create_program(p, None).await?;
        store.create_reward(r, None).await?;
    }

    let book = CardBook {
        lots: vec![Lot { earned_at: now, expires_at: None, remaining: o.initial_balance }],
        ..Default::default()
    };
    let book = serde_json::to_string(&book)?;
    let cards: Vec<Uuid> = (0..o.cards).map(|_| Uuid::now_v7()).collect();
    let customers: Vec<Uuid> = (0..o.cards.div_ceil(2)).map(|_| Uuid::now_v7()).collect();
    let emails: Vec<String> = customers.iter().map(|c| format!("bench-{}@bench.test", c.simple())).collect();
    let codes: Vec<String> = cards.iter().map(|c| c.simple().to_string()[16..].to_uppercase()).collect();
    let programs: Vec<Uuid> = (0..o.cards).map(|i| if World::is_points(i) { points.id } else { stamps.id }).collect();
    // Only customers holding both cards: an app user's card view picks either.
    let app_users = o.app_users.min(o.cards / 2);
    let app_password = format!("bench-{}", Uuid::new_v4().simple());
    let hash = {
        let password = app_password.clone();
        tokio::task::spawn_blocking(move || password_hash(&password)).await??
    };
    // Customer `c`'s password hash, if they use the app.
    let hash_of = |c: usize| (c < app_users).then(|| hash.clone());
    match db.backend {
        DatabaseBackend::Postgres => {
            let pool = sqlx::postgres::PgPoolOptions::new().max_connections(2).connect(&db.url).await?;
            for chunk in (0..customers.len()).collect::<Vec<_>>().chunks(5000) {
                let ids: Vec<Uuid> = chunk.iter().map(|&c| customers[c]).collect();
                let chunk_emails: Vec<String> = chunk.iter().map(|&c| emails[c].clone()).collect();
                let hashes: Vec<Option<String>> = chunk.iter().map(|&c| hash_of(c)).collect();
                sqlx::query(
                    "INSERT INTO customer.customers (id, email, name, password_hash, email_verified_at, joined_at, updated_at)
                     SELECT id, email, 'Bench', hash, $4, $4, $4 FROM UNNEST($1::uuid[], $2::text[], $3::text[]) AS u(id, email, hash)",
                )
                .bind(&ids)
                .bind(&chunk_emails)
                .bind(&hashes)
                .bind(now)
                .execute(&pool)
                .await?;
            }
            for chunk in (0..o.cards).collect::<Vec<_>>().chunks(5000) {
                let card_ids: Vec<Uuid> = chunk.iter().map(|&i| cards[i]).collect();
                let owners: Vec<Uuid> = chunk.iter().map(|&i| customers[i / 2]).collect();
                let card_programs: Vec<Uuid> = chunk.iter().map(|&i| programs[i]).collect();
                let card_codes: Vec<String> = chunk.iter().map(|&i| codes[i].clone()).collect();
                sqlx::query(
                    "INSERT INTO loyalty.cards (id, program_id, customer_id, business_id, code, stamps, state, version, created_at, updated_at)
                     SELECT id, pid, cid, $4, code, $5, $6::jsonb, 0, $7, $7
                     FROM UNNEST($1::uuid[], $2::uuid[], $3::uuid[], $8::text[]) AS u(id, cid, pid, code)",
                )
                .bind(&card_ids)
                .bind(&owners)
                .bind(&card_programs)
                .bind(business.id.0)
                .bind(o.initial_balance)
                .bind(&book)
                .bind(now)
                .bind(&card_codes)
                .execute(&pool)
                .await?;
            }
        }
        DatabaseBackend::Sqlite => {
            let pool = sqlx::sqlite::SqlitePoolOptions::new()
                .max_connections(1)
                .connect_with(
                    sqlx::sqlite::SqliteConnectOptions::new()
                        .filename(db.url.trim_start_matches("sqlite://"))
                        .busy_timeout(std::time::Duration::from_secs(30)),
                )
                .await?;
            let mut tx = pool.begin().await?;
            for (c, id) in customers.iter().enumerate() {
                sqlx::query(
                    "INSERT INTO customers (id, email, name, password_hash, email_verified_at, joined_at, updated_at)
                     VALUES ($1, $2, 'Bench', $3, $4, $4, $4)",
                )
                .bind(id)
                .bind(&emails[c])
                .bind(hash_of(c))
                .bind(now)
                .execute(&mut *tx)
                .await?;
            }
            for i in 0..o.cards {
                sqlx::query(
                    "INSERT INTO cards (id, program_id, customer_id, business_id, code, stamps, state, version, created_at, updated_at)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, 0, $8, $8)",
                )
                .bind(cards[i])
                .bind(programs[i])
                .bind(customers[i / 2])
                .bind(business.id.0)
                .bind(&codes[i])
                .bind(o.initial_balance)
                .bind(&book)
                .bind(now)
                .execute(&mut *tx)
                .await?;
            }
            tx.commit().await?;
        }
    }
    Ok(World {
        business: business.id.0,
        stores,
        terminals,
        cards,
        codes,
        stamp_reward: stamp_reward.id,
        points_reward: points_reward.id,
        currency: currency.into(),
        app_users: emails[..app_users].to_vec(),
        app_password,
        initial_balance: o.initial_balance,
    })
}
