//! The authorization matrix: every endpoint that takes an object id (POS
//! writes, cancellations and adjustments included) × every role × an object in
//! the actor's own store, another store of the same brand, another brand of
//! the same business, and another business. The expected
//! answer of each cell is written out by hand below; zero unexpected allows
//! (and zero unexpected denials) are tolerated.

use std::collections::HashMap;

use serde_json::{Value, json};
use stampede::password::PasswordHasher;
use stampede_domain::business::{NewBusiness, NewStore, Store};
use stampede_domain::email::Email;
use stampede_domain::identity::Terminal;
use stampede_domain::staff::{Membership, NewStaff, Role, Scope};
use stampede_domain::text::Name;
use stampede_store::DatabaseBackend;
use uuid::Uuid;

use crate::helpers::{TestApp, spawn_app};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Actor {
    Owner,
    Admin,
    BrandManager,
    StoreManager,
    Cashier,
    Customer,
    Terminal,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Target {
    OwnStore,
    SameBrand,
    OtherBrand,
    OtherBusiness,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Endpoint {
    CreateTerminal,
    ListTerminals,
    RevokeTerminal,
    RenameTerminal,
    PosSession,
    FindCustomer,
    InviteCashier,
    GetStore,
    UpdateStore,
    GetBusiness,
    UpdateBusiness,
    CreateBrand,
    CreateStoreInBrand,
    CreateProgram,
    ListStaff,
    AuditLog,
    ListMailings,
    ListStores,
    ListBrands,
    UpdateBrand,
    UploadLogo,
    ListPrograms,
    GetProgram,
    UpdateProgram,
    CreateReward,
    UpdateReward,
    CreateCampaign,
    ChangeCashierRole,
    RemoveCashier,
    /// Stamp a card of the store's business at the store.
    PosStamp,
    /// Cancel, at the store, a transaction made there.
    CancelHere,
    /// Cancel, at the actor's own store, a transaction made at the target store.
    CancelFromOwnStore,
    /// Adjust a card of the store's business, booked at the store.
    Adjust,
    /// The business's invitations (each caller sees those they could send).
    ListInvitations,
    /// Revoke an invitation to be a cashier at the store.
    RevokeCashierInvitation,
    /// The customer's marketing consent to the store's business.
    SetConsent,
}

const ACTORS: [Actor; 7] = [
    Actor::Owner,
    Actor::Admin,
    Actor::BrandManager,
    Actor::StoreManager,
    Actor::Cashier,
    Actor::Customer,
    Actor::Terminal,
];
const TARGETS: [Target; 4] = [Target::OwnStore, Target::SameBrand, Target::OtherBrand, Target::OtherBusiness];
const ENDPOINTS: [Endpoint; 36] = [
    Endpoint::PosStamp,
    Endpoint::CancelHere,
    Endpoint::CancelFromOwnStore,
    Endpoint::Adjust,
    Endpoint::ListBrands,
    Endpoint::UpdateBrand,
    Endpoint::UploadLogo,
    Endpoint::ListPrograms,
    Endpoint::GetProgram,
    Endpoint::UpdateProgram,
    Endpoint::CreateReward,
    Endpoint::UpdateReward,
    Endpoint::CreateCampaign,
    Endpoint::ChangeCashierRole,
    Endpoint::RemoveCashier,
    Endpoint::CreateTerminal,
    Endpoint::ListTerminals,
    Endpoint::RevokeTerminal,
    Endpoint::RenameTerminal,
    Endpoint::PosSession,
    Endpoint::FindCustomer,
    Endpoint::InviteCashier,
    Endpoint::GetStore,
    Endpoint::UpdateStore,
    Endpoint::GetBusiness,
    Endpoint::UpdateBusiness,
    Endpoint::CreateBrand,
    Endpoint::CreateStoreInBrand,
    Endpoint::CreateProgram,
    Endpoint::ListStaff,
    Endpoint::AuditLog,
    Endpoint::ListMailings,
    Endpoint::ListStores,
    Endpoint::ListInvitations,
    Endpoint::RevokeCashierInvitation,
    Endpoint::SetConsent,
];

/// The hand-written truth table.
fn expected(endpoint: Endpoint, actor: Actor, target: Target) -> bool {
    use Actor::*;
    use Target::*;
    let within_business = target != OtherBusiness;
    let within_brand = matches!(target, OwnStore | SameBrand);
    let own = target == OwnStore;
    let managers = match actor {
        Owner | Admin => within_business,
        BrandManager => within_brand,
        StoreManager => own,
        Cashier | Customer | Terminal => false,
    };
    let staff = !matches!(actor, Customer | Terminal);
    let business_admins = matches!(actor, Owner | Admin) && within_business;
    match endpoint {
        Endpoint::CreateTerminal
        | Endpoint::ListTerminals
        | Endpoint::RevokeTerminal
        | Endpoint::RenameTerminal
        | Endpoint::InviteCashier
        | Endpoint::ChangeCashierRole
        | Endpoint::RemoveCashier
        | Endpoint::Adjust
        | Endpoint::RevokeCashierInvitation
        | Endpoint::UpdateStore => managers,
        // Any role in the business; the list holds only what the caller could send.
        Endpoint::ListInvitations => staff && within_business,
        // A customer's own answer, to any business whose card they hold.
        Endpoint::SetConsent => actor == Customer,
        Endpoint::PosStamp => match actor {
            Cashier | Terminal => own,
            Customer => false,
            _ => managers,
        },
        // Staff who manage the store where it was made, or the terminal that
        // made it (the own store's transactions are the actor terminal's).
        Endpoint::CancelHere => match actor {
            Terminal => own,
            _ => managers,
        },
        // A transaction is cancelled at the store where it was made, by whom
        // may cancel there: nobody reaches another store's through their own.
        Endpoint::CancelFromOwnStore => own && (actor == Terminal || managers),
        Endpoint::PosSession | Endpoint::FindCustomer | Endpoint::GetStore => match actor {
            Cashier | Terminal => own && (endpoint != Endpoint::GetStore || actor == Cashier),
            Customer => false,
            _ => managers,
        },
        // Business-level reads: any role in the business.
        Endpoint::GetBusiness
        | Endpoint::ListStores
        | Endpoint::ListBrands
        | Endpoint::ListPrograms
        | Endpoint::GetProgram => staff && within_business,
        // Business-level management: owners and admins.
        Endpoint::UpdateBusiness
        | Endpoint::CreateBrand
        | Endpoint::CreateProgram
        | Endpoint::ListStaff
        | Endpoint::AuditLog
        | Endpoint::ListMailings
        | Endpoint::UpdateBrand
        | Endpoint::UploadLogo
        | Endpoint::UpdateProgram
        | Endpoint::CreateReward
        | Endpoint::UpdateReward
        | Endpoint::CreateCampaign => business_admins,
        // A store in the target store's brand: brand managers of that brand too.
        Endpoint::CreateStoreInBrand => {
            matches!(actor, Owner | Admin | BrandManager)
                && match actor {
                    BrandManager => within_brand,
                    _ => within_business,
                }
        }
    }
}

struct World {
    stores: HashMap<Target, Store>,
    tokens: HashMap<Actor, String>,
    /// The terminal key that makes each store's transactions to cancel (the
    /// own store's: the actor terminal's).
    tills: HashMap<Target, String>,
    /// The customer's card in each business, by business id.
    cards: HashMap<stampede_domain::ids::BusinessId, Uuid>,
    /// A program (with a reward) of each business, by business id.
    programs: HashMap<stampede_domain::ids::BusinessId, (Uuid, Uuid)>,
    hash: String,
}

async fn staff(app: &TestApp, hash: &str, email: &str, m: Membership) -> String {
    let new = NewStaff {
        id: None,
        email: Email::parse(email).expect("email"),
        name: Name::parse("Staff").expect("name"),
        password_hash: Some(hash.to_owned()),
        must_change_password: false,
    };
    app.store.create_staff(new, &[m]).await.expect("staff");
    let res = app.post_json("/v1/auth/staff/login", json!({"email": email, "password": "matrix password"})).await;
    assert_eq!(res.status(), 200, "{email} signs in");
    res.json::<Value>().await.expect("json")["access_token"].as_str().expect("a").to_owned()
}

async fn new_store(
    app: &TestApp,
    business: stampede_domain::ids::BusinessId,
    brand: Option<stampede_domain::ids::BrandId>,
    n: &str,
) -> Store {
    app.store
        .create_store(
            NewStore {
                business_id: business,
                brand_id: brand,
                name: Name::parse(n).expect("n"),
                timezone: "UTC".into(),
                address: serde_json::json!({}),
            },
            None,
        )
        .await
        .expect("store")
}

async fn world(app: &TestApp) -> World {
    let a = app
        .store
        .list_businesses(stampede_domain::page::PageRequest::new(None, None), false)
        .await
        .expect("list")
        .items[0]
        .clone();
    let a1 = app.store.create_brand(a.id, "A1", None).await.expect("brand");
    let a2 = app.store.create_brand(a.id, "A2", None).await.expect("brand");
    let b = app
        .store
        .create_business(
            NewBusiness { name: Name::parse("B").expect("n"), description: None, tax_id: None, website: None },
            None,
        )
        .await
        .expect("business");
    let b1 = app.store.create_brand(b.id, "B1", None).await.expect("brand");
    let stores = HashMap::from([
        (Target::OwnStore, new_store(app, a.id, Some(a1.id), "S1").await),
        (Target::SameBrand, new_store(app, a.id, Some(a1.id), "S2").await),
        (Target::OtherBrand, new_store(app, a.id, Some(a2.id), "S3").await),
        (Target::OtherBusiness, new_store(app, b.id, Some(b1.id), "S4").await),
    ]);
    let s1 = stores[&Target::OwnStore].id;
    let hash = PasswordHasher::new(1).hash("matrix password".into()).await.expect("hash");
    let hash_for_world = hash.clone();
    let m = |role, scope| Membership::new(a.id, role, scope).expect("membership");
    let mut tokens = HashMap::new();
    tokens.insert(Actor::Owner, staff(app, &hash, "owner2@a.test", m(Role::Owner, Scope::Business)).await);
    tokens.insert(Actor::Admin, staff(app, &hash, "admin@a.test", m(Role::Admin, Scope::Business)).await);
    tokens.insert(
        Actor::BrandManager,
        staff(app, &hash, "brand@a.test", m(Role::BrandManager, Scope::Brand { brand_id: a1.id })).await,
    );
    tokens.insert(
        Actor::StoreManager,
        staff(app, &hash, "manager@a.test", m(Role::StoreManager, Scope::Store { store_id: s1 })).await,
    );
    tokens.insert(
        Actor::Cashier,
        staff(app, &hash, "cashier@a.test", m(Role::Cashier, Scope::Store { store_id: s1 })).await,
    );
    let customer = app.verified_customer("cust@a.test", "matrix password", "C").await;
    tokens.insert(Actor::Customer, customer["access_token"].as_str().expect("a").to_owned());
    let created: Value = app
        .post_auth(&format!("/v1/stores/{s1}/terminals"), &tokens[&Actor::Owner], json!({"name": "Till"}))
        .await
        .json()
        .await
        .expect("json");
    tokens.insert(Actor::Terminal, created["api_key"].as_str().expect("key").to_owned());
    let mut programs = HashMap::new();
    for business in [a.id, b.id] {
        let now = chrono::Utc::now();
        let program = stampede_domain::program::Program {
            id: Uuid::now_v7(),
            business_id: business,
            name: "P".into(),
            description: None,
            rules: stampede_domain::program::ProgramRules::Stamps(stampede_domain::program::StampRules {
                stamps_per_reward: 5,
                max_stamps_per_visit: 1,
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
        app.store.create_program(&program, None).await.expect("program");
        let reward = stampede_domain::program::Reward {
            id: Uuid::now_v7(),
            program_id: program.id,
            name: "R".into(),
            description: None,
            image_url: None,
            cost: 5,
            stock: None,
            active_from: None,
            active_until: None,
            is_active: true,
            version: 1,
        };
        app.store.create_reward(&reward, None).await.expect("reward");
        programs.insert(business, (program.id, reward.id));
    }
    let mut cards = HashMap::new();
    for (business, (program, _)) in &programs {
        let res = app.post_auth(&format!("/v1/programs/{program}/join"), &tokens[&Actor::Customer], json!({})).await;
        assert_eq!(res.status(), 201, "the customer joins each business's program");
        let card: Value = res.json().await.expect("json");
        cards.insert(*business, Uuid::parse_str(card["id"].as_str().expect("id")).expect("uuid"));
    }
    let mut tills = HashMap::from([(Target::OwnStore, tokens[&Actor::Terminal].clone())]);
    for target in [Target::SameBrand, Target::OtherBrand, Target::OtherBusiness] {
        tills.insert(target, till(app, &stores[&target]).await);
    }
    World { stores, tokens, tills, cards, programs, hash: hash_for_world }
}

/// A working terminal of `store`, made directly in the database; its key.
async fn till(app: &TestApp, store: &Store) -> String {
    let id = Uuid::now_v7();
    let key = stampede::auth::terminal_key::generate(id);
    let t = Terminal {
        id,
        business_id: store.business_id,
        brand_id: store.brand_id,
        store_id: store.id,
        name: "till".into(),
        key_prefix: key.display_prefix,
        key_hash: key.hash,
        created_at: chrono::Utc::now(),
        last_used_at: None,
        revoked_at: None,
    };
    app.store.create_terminal(&t, None).await.expect("terminal");
    key.key
}

async fn pos_write(app: &TestApp, path: &str, token: &str, body: Value) -> reqwest::Response {
    let req = app.client.post(app.url(path)).bearer_auth(token).header("idempotency-key", Uuid::now_v7().to_string());
    req.json(&body).send().await.expect("request")
}

/// A stamp made at the target store by its till: the transaction to cancel.
async fn made_at(app: &TestApp, w: &World, target: Target) -> Uuid {
    let store = &w.stores[&target];
    let card = w.cards[&store.business_id];
    let path = format!("/v1/pos/stores/{}/stamps", store.id);
    let res = pos_write(app, &path, &w.tills[&target], json!({"card_id": card})).await;
    assert_eq!(res.status(), 201, "the till of {target:?} stamps");
    let body: Value = res.json().await.expect("json");
    Uuid::parse_str(body["transaction"]["id"].as_str().expect("id")).expect("uuid")
}

/// A terminal of `store` made directly in the database, to be revoked.
async fn victim_terminal(app: &TestApp, store: &Store) -> Uuid {
    let t = Terminal {
        id: Uuid::now_v7(),
        business_id: store.business_id,
        brand_id: store.brand_id,
        store_id: store.id,
        name: "victim".into(),
        key_prefix: "stp_victim".into(),
        key_hash: vec![0; 32],
        created_at: chrono::Utc::now(),
        last_used_at: None,
        revoked_at: None,
    };
    app.store.create_terminal(&t, None).await.expect("terminal");
    t.id
}

/// A cashier of `store`, made directly in the database, to be changed or removed.
async fn victim_cashier(app: &TestApp, w: &World, store: &Store) -> Uuid {
    let m = Membership::new(store.business_id, Role::Cashier, Scope::Store { store_id: store.id }).expect("m");
    let new = NewStaff {
        id: None,
        email: Email::parse(&format!("{}@victim.test", Uuid::now_v7().simple())).expect("email"),
        name: Name::parse("Victim").expect("name"),
        password_hash: Some(w.hash.clone()),
        must_change_password: false,
    };
    app.store.create_staff(new, &[m]).await.expect("staff").id.0
}

/// A pending invitation to be a cashier at `store`, made directly in the
/// database (sent by the business's first staff member), to be revoked.
async fn victim_invitation(app: &TestApp, store: &Store) -> Uuid {
    let m = Membership::new(store.business_id, Role::Cashier, Scope::Store { store_id: store.id }).expect("m");
    let sender = app.store.list_staff(store.business_id).await.expect("staff")[0].id;
    let invitation = stampede_domain::staff::NewInvitation {
        id: Uuid::now_v7(),
        membership: m,
        email: Email::parse(&format!("{}@invited.test", Uuid::now_v7().simple())).expect("email"),
        invited_by: sender,
        token_hash: Uuid::now_v7().as_bytes().to_vec(),
        created_at: chrono::Utc::now(),
        expires_at: chrono::Utc::now() + chrono::Duration::days(1),
    };
    let event = stampede::audit::event(
        stampede::audit::Actor::Staff(sender),
        stampede::audit::Change {
            business_id: Some(store.business_id),
            action: "invitation.create",
            resource_id: Some(invitation.id),
            before: None::<&()>,
            after: None::<&()>,
        },
    );
    app.store.create_invitation(&invitation, &event).await.expect("invitation").id
}

async fn if_match_patch(app: &TestApp, path: &str, token: &str, version: i64, body: Value) -> reqwest::Response {
    let req = app.client.patch(app.url(path)).bearer_auth(token).header("if-match", format!("\"{version}\""));
    req.json(&body).send().await.expect("request")
}

async fn call(app: &TestApp, w: &World, endpoint: Endpoint, token: &str, target: Target) -> u16 {
    let store = &w.stores[&target];
    let (program, reward) = w.programs[&store.business_id];
    let card = w.cards[&store.business_id];
    let res = match endpoint {
        Endpoint::PosStamp => {
            pos_write(app, &format!("/v1/pos/stores/{}/stamps", store.id), token, json!({"card_id": card})).await
        }
        Endpoint::CancelHere => {
            let txn = made_at(app, w, target).await;
            let path = format!("/v1/pos/stores/{}/transactions/{txn}/cancel", store.id);
            pos_write(app, &path, token, json!({})).await
        }
        Endpoint::CancelFromOwnStore => {
            let txn = made_at(app, w, target).await;
            let own = w.stores[&Target::OwnStore].id;
            pos_write(app, &format!("/v1/pos/stores/{own}/transactions/{txn}/cancel"), token, json!({})).await
        }
        Endpoint::Adjust => {
            let body = json!({"store_id": store.id, "delta": 1, "reason": "matrix"});
            pos_write(app, &format!("/v1/cards/{card}/adjustments"), token, body).await
        }
        Endpoint::CreateTerminal => {
            app.post_auth(&format!("/v1/stores/{}/terminals", store.id), token, json!({"name": "New till"})).await
        }
        Endpoint::ListTerminals => app.get_auth(&format!("/v1/stores/{}/terminals", store.id), token).await,
        Endpoint::RevokeTerminal => {
            let t = victim_terminal(app, store).await;
            let url = app.url(&format!("/v1/stores/{}/terminals/{t}", store.id));
            app.client.delete(url).bearer_auth(token).send().await.expect("request")
        }
        Endpoint::RenameTerminal => {
            let t = victim_terminal(app, store).await;
            let url = app.url(&format!("/v1/stores/{}/terminals/{t}", store.id));
            app.client.patch(url).bearer_auth(token).json(&json!({"name": "Renamed"})).send().await.expect("request")
        }
        Endpoint::PosSession => app.get_auth(&format!("/v1/pos/stores/{}/session", store.id), token).await,
        Endpoint::FindCustomer => {
            app.get_auth(&format!("/v1/pos/stores/{}/customers?email=nobody@example.com", store.id), token).await
        }
        Endpoint::InviteCashier => {
            let body = json!({"email": format!("{}@invitee.test", Uuid::now_v7().simple()), "role": "cashier", "store_id": store.id});
            app.post_auth(&format!("/v1/businesses/{}/invitations", store.business_id), token, body).await
        }
        Endpoint::GetStore => app.get_auth(&format!("/v1/stores/{}", store.id), token).await,
        Endpoint::UpdateStore => {
            // Read the current version as the owner of the store's business would.
            let current = app.store.get_store(store.id).await.expect("get").expect("store");
            let url = app.url(&format!("/v1/stores/{}", store.id));
            let req = app.client.patch(url).bearer_auth(token).header("if-match", format!("\"{}\"", current.version));
            req.json(&json!({"name": "Renamed"})).send().await.expect("request")
        }
        Endpoint::GetBusiness => app.get_auth(&format!("/v1/businesses/{}", store.business_id), token).await,
        Endpoint::UpdateBusiness => {
            let current = app.store.get_business(store.business_id).await.expect("get").expect("business");
            let url = app.url(&format!("/v1/businesses/{}", store.business_id));
            let req = app.client.patch(url).bearer_auth(token).header("if-match", format!("\"{}\"", current.version));
            req.json(&json!({"description": "changed"})).send().await.expect("request")
        }
        Endpoint::CreateBrand => {
            app.post_auth(&format!("/v1/businesses/{}/brands", store.business_id), token, json!({"name": "New brand"}))
                .await
        }
        Endpoint::CreateStoreInBrand => {
            let body = json!({"name": "New store", "brand_id": store.brand_id});
            app.post_auth(&format!("/v1/businesses/{}/stores", store.business_id), token, body).await
        }
        Endpoint::CreateProgram => {
            let body =
                json!({"name": "P", "rules": {"kind": "stamps", "stamps_per_reward": 5, "max_stamps_per_visit": 1}});
            app.post_auth(&format!("/v1/businesses/{}/programs", store.business_id), token, body).await
        }
        Endpoint::ListStaff => app.get_auth(&format!("/v1/businesses/{}/staff", store.business_id), token).await,
        Endpoint::AuditLog => app.get_auth(&format!("/v1/businesses/{}/audit", store.business_id), token).await,
        Endpoint::ListMailings => app.get_auth(&format!("/v1/businesses/{}/mailings", store.business_id), token).await,
        Endpoint::ListStores => app.get_auth(&format!("/v1/businesses/{}/stores", store.business_id), token).await,
        Endpoint::ListBrands => app.get_auth(&format!("/v1/businesses/{}/brands", store.business_id), token).await,
        Endpoint::UpdateBrand => {
            let brand = app.store.get_brand(store.brand_id.expect("brand")).await.expect("get").expect("brand");
            if_match_patch(app, &format!("/v1/brands/{}", brand.id), token, brand.version, json!({"name": "B2"})).await
        }
        Endpoint::UploadLogo => {
            let url = app.url(&format!("/v1/businesses/{}/logo", store.business_id));
            let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
            app.client
                .put(url)
                .bearer_auth(token)
                .header("content-type", "image/png")
                .body(png)
                .send()
                .await
                .expect("r")
        }
        Endpoint::ListPrograms => app.get_auth(&format!("/v1/businesses/{}/programs", store.business_id), token).await,
        Endpoint::GetProgram => app.get_auth(&format!("/v1/programs/{program}"), token).await,
        Endpoint::UpdateProgram => {
            let current = app.store.get_program(program).await.expect("get").expect("program");
            if_match_patch(app, &format!("/v1/programs/{program}"), token, current.version, json!({"name": "P2"})).await
        }
        Endpoint::CreateReward => {
            app.post_auth(&format!("/v1/programs/{program}/rewards"), token, json!({"name": "R2", "cost": 3})).await
        }
        Endpoint::UpdateReward => {
            let current = app.store.get_reward(reward).await.expect("get").expect("reward");
            if_match_patch(app, &format!("/v1/rewards/{reward}"), token, current.version, json!({"cost": 4})).await
        }
        Endpoint::CreateCampaign => {
            let body = json!({"name": "C", "starts_local": "2026-12-05T10:00:00", "ends_local": "2026-12-05T11:00:00", "bonus_stamps": 1});
            app.post_auth(&format!("/v1/programs/{program}/campaigns"), token, body).await
        }
        Endpoint::ChangeCashierRole => {
            let victim = victim_cashier(app, w, store).await;
            let url = app.url(&format!("/v1/businesses/{}/staff/{victim}/role", store.business_id));
            let body = json!({"role": "cashier", "store_id": store.id});
            app.client.put(url).bearer_auth(token).json(&body).send().await.expect("request")
        }
        Endpoint::ListInvitations => {
            app.get_auth(&format!("/v1/businesses/{}/invitations", store.business_id), token).await
        }
        Endpoint::RevokeCashierInvitation => {
            let invitation = victim_invitation(app, store).await;
            app.delete_auth(&format!("/v1/businesses/{}/invitations/{invitation}", store.business_id), token).await
        }
        Endpoint::SetConsent => {
            let url = app.url(&format!("/v1/me/consents/{}", store.business_id));
            app.client.put(url).bearer_auth(token).json(&json!({"marketing": true})).send().await.expect("request")
        }
        Endpoint::RemoveCashier => {
            let victim = victim_cashier(app, w, store).await;
            let url = app.url(&format!("/v1/businesses/{}/staff/{victim}", store.business_id));
            app.client.delete(url).bearer_auth(token).send().await.expect("request")
        }
    };
    res.status().as_u16()
}

async fn matrix(backend: DatabaseBackend) {
    let app = spawn_app(backend).await;
    let w = world(&app).await;
    let mut unexpected_allows = Vec::new();
    let mut unexpected_denials = Vec::new();
    let mut cells = 0;
    for endpoint in ENDPOINTS {
        for actor in ACTORS {
            for target in TARGETS {
                cells += 1;
                let status = call(&app, &w, endpoint, &w.tokens[&actor], target).await;
                let allowed = (200..300).contains(&status);
                assert!(
                    allowed || matches!(status, 401 | 403 | 404),
                    "{endpoint:?} {actor:?} {target:?}: unexpected status {status}"
                );
                // A denied object looks missing: staff get 404, never 403 (on
                // a customer's route a staff token is no credential: 401).
                let staff_route = endpoint != Endpoint::SetConsent;
                if !allowed
                    && staff_route
                    && matches!(actor, Actor::Owner | Actor::Admin | Actor::BrandManager | Actor::StoreManager)
                {
                    assert_eq!(status, 404, "{endpoint:?} {actor:?} {target:?}");
                }
                match (expected(endpoint, actor, target), allowed) {
                    (false, true) => unexpected_allows.push(format!("{endpoint:?} {actor:?} {target:?} -> {status}")),
                    (true, false) => unexpected_denials.push(format!("{endpoint:?} {actor:?} {target:?} -> {status}")),
                    _ => {}
                }
            }
        }
    }
    assert_eq!(cells, ENDPOINTS.len() * ACTORS.len() * TARGETS.len());
    assert!(unexpected_allows.is_empty(), "unexpected allows: {unexpected_allows:#?}");
    assert!(unexpected_denials.is_empty(), "unexpected denials: {unexpected_denials:#?}");
}

#[tokio::test]
async fn authorization_matrix_sqlite() {
    matrix(DatabaseBackend::Sqlite).await;
}

#[tokio::test]
async fn authorization_matrix_postgres() {
    matrix(DatabaseBackend::Postgres).await;
}
