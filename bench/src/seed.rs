//! The fast seeding path: the bench writes its world straight into the
//! server's database (the same schema the server migrated), instead of through
//! tens of thousands of API calls. Small things go through the store adapters;
//! customers and cards are bulk-inserted (multi-row on PostgreSQL, one
//! transaction on SQLite).

use std::sync::Arc;

use base64::Engine;
use chrono::Utc;
use rand::RngCore;
use sha2::{Digest, Sha256};
use stampede_domain::business::{NewBusiness, NewStore};
use stampede_domain::card::{CardBook, Lot};
use stampede_domain::identity::Terminal;
use stampede_domain::ports::Store;
use stampede_domain::program::{Program, ProgramRules, Reward, StampRules};
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
    pub cards: Vec<Uuid>,
    pub codes: Vec<String>,
    pub reward_id: Uuid,
    pub reward_cost: i64,
    /// Every card starts with this balance (so redemptions have something).
    pub initial_balance: i64,
}

pub struct SeedOptions {
    pub cards: usize,
    pub stores: usize,
    pub terminals_per_store: usize,
    pub initial_balance: i64,
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
        .create_business(NewBusiness { name: name("Bench Café")?, description: None, tax_id: None, website: None })
        .await?;
    let mut stores = Vec::new();
    let mut terminals = Vec::new();
    for s in 0..o.stores {
        let st = store
            .create_store(NewStore {
                business_id: business.id,
                brand_id: None,
                name: name(&format!("Store {s}"))?,
                timezone: "UTC".into(),
                address: serde_json::json!({}),
            })
            .await?;
        for t in 0..o.terminals_per_store {
            let id = Uuid::now_v7();
            let (key, hash) = terminal_key(id);
            store
                .create_terminal(&Terminal {
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
                })
                .await?;
            terminals.push((key, st.id.0));
        }
        stores.push(st.id.0);
    }
    let now = Utc::now();
    let program = Program {
        id: Uuid::now_v7(),
        business_id: business.id,
        name: "Coffee card".into(),
        description: None,
        rules: ProgramRules::Stamps(StampRules {
            stamps_per_reward: 10,
            max_stamps_per_visit: 5,
            min_purchase_minor: None,
            currency: None,
            min_interval_secs: 0,
            daily_cap: None,
            expiry_days: None,
        }),
        availability: Default::default(),
        version: 1,
        is_active: true,
        created_at: now,
        updated_at: now,
    };
    store.create_program(&program).await?;
    let reward = Reward {
        id: Uuid::now_v7(),
        program_id: program.id,
        name: "Free coffee".into(),
        description: None,
        image_url: None,
        cost: 10,
        stock: None,
        active_from: None,
        active_until: None,
        is_active: true,
        version: 1,
    };
    store.create_reward(&reward).await?;

    let book = CardBook {
        lots: vec![Lot { earned_at: now, expires_at: None, remaining: o.initial_balance }],
        ..Default::default()
    };
    let book = serde_json::to_string(&book)?;
    let cards: Vec<Uuid> = (0..o.cards).map(|_| Uuid::now_v7()).collect();
    let customers: Vec<Uuid> = (0..o.cards).map(|_| Uuid::now_v7()).collect();
    let codes: Vec<String> = cards.iter().map(|c| c.simple().to_string()[16..].to_uppercase()).collect();
    match db.backend {
        DatabaseBackend::Postgres => {
            let pool = sqlx::postgres::PgPoolOptions::new().max_connections(2).connect(&db.url).await?;
            for chunk in (0..o.cards).collect::<Vec<_>>().chunks(5000) {
                let ids: Vec<Uuid> = chunk.iter().map(|&i| customers[i]).collect();
                let emails: Vec<String> =
                    chunk.iter().map(|&i| format!("bench-{}@bench.test", customers[i].simple())).collect();
                sqlx::query(
                    "INSERT INTO customer.customers (id, email, name, joined_at, updated_at)
                     SELECT id, email, 'Bench', $3, $3 FROM UNNEST($1::uuid[], $2::text[]) AS u(id, email)",
                )
                .bind(&ids)
                .bind(&emails)
                .bind(now)
                .execute(&pool)
                .await?;
                let card_ids: Vec<Uuid> = chunk.iter().map(|&i| cards[i]).collect();
                let card_codes: Vec<String> = chunk.iter().map(|&i| codes[i].clone()).collect();
                sqlx::query(
                    "INSERT INTO loyalty.cards (id, program_id, customer_id, business_id, code, stamps, state, version, created_at, updated_at)
                     SELECT id, $3, cid, $4, code, $5, $6::jsonb, 0, $7, $7 FROM UNNEST($1::uuid[], $2::uuid[], $8::text[]) AS u(id, cid, code)",
                )
                .bind(&card_ids)
                .bind(&ids)
                .bind(program.id)
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
            for i in 0..o.cards {
                sqlx::query(
                    "INSERT INTO customers (id, email, name, joined_at, updated_at) VALUES ($1, $2, 'Bench', $3, $3)",
                )
                .bind(customers[i])
                .bind(format!("bench-{}@bench.test", customers[i].simple()))
                .bind(now)
                .execute(&mut *tx)
                .await?;
                sqlx::query(
                    "INSERT INTO cards (id, program_id, customer_id, business_id, code, stamps, state, version, created_at, updated_at)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, 0, $8, $8)",
                )
                .bind(cards[i])
                .bind(program.id)
                .bind(customers[i])
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
        reward_id: reward.id,
        reward_cost: reward.cost,
        initial_balance: o.initial_balance,
    })
}
