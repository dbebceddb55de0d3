use async_trait::async_trait;
use chrono::Utc;
use sqlx::Row;
use sqlx::sqlite::SqliteRow;
use sqlx::types::Json;
use stampede_domain::ids::BusinessId;
use stampede_domain::ports::{Audit, ProgramRepo, StoreError, StoreResult};
use stampede_domain::program::{Availability, Campaign, Program, ProgramRules, ProgramVersion, Reward};
use uuid::Uuid;

use super::SqliteStore;
use super::audit::commit_with;
use crate::error;

const PROGRAM: &str = "SELECT id, business_id, name, description, rules, availability, version, is_active,
    created_at, updated_at FROM programs";
const REWARD: &str = "SELECT id, program_id, name, description, image_url, cost, stock, active_from, active_until,
    is_active, version FROM rewards";

fn program_from_row(row: &SqliteRow) -> Result<Program, sqlx::Error> {
    Ok(Program {
        id: row.try_get("id")?,
        business_id: BusinessId(row.try_get("business_id")?),
        name: row.try_get("name")?,
        description: row.try_get("description")?,
        rules: row.try_get::<Json<ProgramRules>, _>("rules")?.0,
        availability: row.try_get::<Json<Availability>, _>("availability")?.0,
        version: row.try_get("version")?,
        is_active: row.try_get("is_active")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

fn reward_from_row(row: &SqliteRow) -> Result<Reward, sqlx::Error> {
    Ok(Reward {
        id: row.try_get("id")?,
        program_id: row.try_get("program_id")?,
        name: row.try_get("name")?,
        description: row.try_get("description")?,
        image_url: row.try_get("image_url")?,
        cost: row.try_get("cost")?,
        stock: row.try_get("stock")?,
        active_from: row.try_get("active_from")?,
        active_until: row.try_get("active_until")?,
        is_active: row.try_get("is_active")?,
        version: row.try_get("version")?,
    })
}

fn campaign_from_row(row: &SqliteRow) -> Result<Campaign, sqlx::Error> {
    let mut c = row.try_get::<Json<Campaign>, _>("body")?.0;
    c.version = row.try_get("version")?;
    c.is_active = row.try_get("is_active")?;
    Ok(c)
}

#[async_trait]
impl ProgramRepo for SqliteStore {
    async fn create_program(&self, p: &Program, audit: Audit<'_>) -> StoreResult<()> {
        let mut tx = self.writer().begin().await.map_err(error::other)?;
        sqlx::query(
            "INSERT INTO programs
                 (id, business_id, kind, name, description, rules, availability, version, is_active, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, 1, $8, $9, $9)",
        )
        .bind(p.id)
        .bind(p.business_id.0)
        .bind(p.rules.kind())
        .bind(&p.name)
        .bind(&p.description)
        .bind(Json(&p.rules))
        .bind(Json(&p.availability))
        .bind(p.is_active)
        .bind(p.created_at)
        .execute(&mut *tx)
        .await
        .map_err(error::other)?;
        sqlx::query("INSERT INTO program_versions (program_id, version, rules, created_at) VALUES ($1, 1, $2, $3)")
            .bind(p.id)
            .bind(Json(&p.rules))
            .bind(p.created_at)
            .execute(&mut *tx)
            .await
            .map_err(error::other)?;
        commit_with(tx, audit.cloned()).await
    }

    async fn get_program(&self, id: Uuid) -> StoreResult<Option<Program>> {
        let sql = format!("{PROGRAM} WHERE id = $1");
        let row =
            sqlx::query(sqlx::AssertSqlSafe(sql)).bind(id).fetch_optional(self.pool()).await.map_err(error::other)?;
        row.as_ref().map(program_from_row).transpose().map_err(error::other)
    }

    async fn list_programs(&self, business_id: BusinessId, active_only: bool) -> StoreResult<Vec<Program>> {
        let sql = format!("{PROGRAM} WHERE business_id = $1 AND (NOT $2 OR is_active) ORDER BY id");
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(business_id.0)
            .bind(active_only)
            .fetch_all(self.pool())
            .await
            .map_err(error::other)?;
        rows.iter().map(program_from_row).collect::<Result<_, _>>().map_err(error::other)
    }

    async fn save_program(&self, p: &Program, expected_version: i64, audit: Audit<'_>) -> StoreResult<Option<Program>> {
        let now = Utc::now();
        let mut tx = self.writer().begin().await.map_err(error::other)?;
        let row = sqlx::query(
            "UPDATE programs SET name = $3, description = $4, rules = $5, availability = $6, is_active = $7,
                 updated_at = $8, version = version + 1
             WHERE id = $1 AND version = $2 AND kind = $9
             RETURNING id, business_id, name, description, rules, availability, version, is_active, created_at, updated_at",
        )
            .bind(p.id)
            .bind(expected_version)
            .bind(&p.name)
            .bind(&p.description)
            .bind(Json(&p.rules))
            .bind(Json(&p.availability))
            .bind(p.is_active)
            .bind(now)
            .bind(p.rules.kind())
            .fetch_optional(&mut *tx)
            .await
            .map_err(error::other)?;
        let Some(row) = row else {
            drop(tx);
            return match self.get_program(p.id).await? {
                Some(current) if current.rules.kind() != p.rules.kind() => {
                    Err(StoreError::Other("a program's kind cannot change".into()))
                }
                Some(_) => Err(StoreError::VersionMismatch),
                None => Ok(None),
            };
        };
        let saved = program_from_row(&row).map_err(error::other)?;
        sqlx::query("INSERT INTO program_versions (program_id, version, rules, created_at) VALUES ($1, $2, $3, $4)")
            .bind(saved.id)
            .bind(saved.version)
            .bind(Json(&saved.rules))
            .bind(now)
            .execute(&mut *tx)
            .await
            .map_err(error::other)?;
        commit_with(tx, audit.map(|e| e.written(&saved))).await?;
        Ok(Some(saved))
    }

    async fn program_rules_at(&self, id: Uuid, version: i64) -> StoreResult<Option<ProgramRules>> {
        let rules: Option<Json<ProgramRules>> =
            sqlx::query_scalar("SELECT rules FROM program_versions WHERE program_id = $1 AND version = $2")
                .bind(id)
                .bind(version)
                .fetch_optional(self.pool())
                .await
                .map_err(error::other)?;
        Ok(rules.map(|r| r.0))
    }

    async fn program_versions(&self, id: Uuid) -> StoreResult<Vec<ProgramVersion>> {
        let rows = sqlx::query(
            "SELECT version, rules, created_at FROM program_versions WHERE program_id = $1 ORDER BY version DESC",
        )
        .bind(id)
        .fetch_all(self.pool())
        .await
        .map_err(error::other)?;
        rows.iter()
            .map(|row| {
                Ok(ProgramVersion {
                    version: row.try_get("version").map_err(error::other)?,
                    rules: row.try_get::<Json<ProgramRules>, _>("rules").map_err(error::other)?.0,
                    created_at: row.try_get("created_at").map_err(error::other)?,
                })
            })
            .collect()
    }

    async fn create_reward(&self, r: &Reward, audit: Audit<'_>) -> StoreResult<()> {
        let mut tx = self.writer().begin().await.map_err(error::other)?;
        sqlx::query(
            "INSERT INTO rewards (id, program_id, name, description, image_url, cost, stock, active_from,
                 active_until, is_active, created_at, updated_at, version)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11, 1)",
        )
        .bind(r.id)
        .bind(r.program_id)
        .bind(&r.name)
        .bind(&r.description)
        .bind(&r.image_url)
        .bind(r.cost)
        .bind(r.stock)
        .bind(r.active_from)
        .bind(r.active_until)
        .bind(r.is_active)
        .bind(Utc::now())
        .execute(&mut *tx)
        .await
        .map_err(error::other)?;
        commit_with(tx, audit.cloned()).await
    }

    async fn get_reward(&self, id: Uuid) -> StoreResult<Option<Reward>> {
        let sql = format!("{REWARD} WHERE id = $1");
        let row =
            sqlx::query(sqlx::AssertSqlSafe(sql)).bind(id).fetch_optional(self.pool()).await.map_err(error::other)?;
        row.as_ref().map(reward_from_row).transpose().map_err(error::other)
    }

    async fn list_rewards(&self, program_id: Uuid) -> StoreResult<Vec<Reward>> {
        let sql = format!("{REWARD} WHERE program_id = $1 ORDER BY id");
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(program_id)
            .fetch_all(self.pool())
            .await
            .map_err(error::other)?;
        rows.iter().map(reward_from_row).collect::<Result<_, _>>().map_err(error::other)
    }

    async fn save_reward(&self, r: &Reward, expected_version: i64, audit: Audit<'_>) -> StoreResult<Option<Reward>> {
        let mut tx = self.writer().begin().await.map_err(error::other)?;
        let row = sqlx::query(
            "UPDATE rewards SET name = $3, description = $4, image_url = $5, cost = $6, stock = $7,
                 active_from = $8, active_until = $9, is_active = $10, updated_at = $11, version = version + 1
             WHERE id = $1 AND version = $2
             RETURNING id, program_id, name, description, image_url, cost, stock, active_from, active_until,
                 is_active, version",
        )
        .bind(r.id)
        .bind(expected_version)
        .bind(&r.name)
        .bind(&r.description)
        .bind(&r.image_url)
        .bind(r.cost)
        .bind(r.stock)
        .bind(r.active_from)
        .bind(r.active_until)
        .bind(r.is_active)
        .bind(Utc::now())
        .fetch_optional(&mut *tx)
        .await
        .map_err(error::other)?;
        match row {
            Some(row) => {
                let saved = reward_from_row(&row).map_err(error::other)?;
                commit_with(tx, audit.map(|e| e.written(&saved))).await?;
                Ok(Some(saved))
            }
            None => match self.get_reward(r.id).await? {
                Some(_) => Err(StoreError::VersionMismatch),
                None => Ok(None),
            },
        }
    }

    async fn create_campaign(&self, business_id: BusinessId, c: &Campaign, audit: Audit<'_>) -> StoreResult<()> {
        let mut tx = self.writer().begin().await.map_err(error::other)?;
        sqlx::query(
            "INSERT INTO campaigns (id, business_id, program_id, body, is_active, created_at, updated_at, version)
             VALUES ($1, $2, $3, $4, $5, $6, $6, 1)",
        )
        .bind(c.id)
        .bind(business_id.0)
        .bind(c.program_id)
        .bind(Json(c))
        .bind(c.is_active)
        .bind(Utc::now())
        .execute(&mut *tx)
        .await
        .map_err(error::other)?;
        commit_with(tx, audit.cloned()).await
    }

    async fn get_campaign(&self, id: Uuid) -> StoreResult<Option<Campaign>> {
        let row = sqlx::query("SELECT body, is_active, version FROM campaigns WHERE id = $1")
            .bind(id)
            .fetch_optional(self.pool())
            .await
            .map_err(error::other)?;
        row.as_ref().map(campaign_from_row).transpose().map_err(error::other)
    }

    async fn list_campaigns(&self, program_id: Uuid) -> StoreResult<Vec<Campaign>> {
        let rows = sqlx::query("SELECT body, is_active, version FROM campaigns WHERE program_id = $1 ORDER BY id")
            .bind(program_id)
            .fetch_all(self.pool())
            .await
            .map_err(error::other)?;
        rows.iter().map(campaign_from_row).collect::<Result<_, _>>().map_err(error::other)
    }

    async fn save_campaign(
        &self,
        c: &Campaign,
        expected_version: i64,
        audit: Audit<'_>,
    ) -> StoreResult<Option<Campaign>> {
        let mut tx = self.writer().begin().await.map_err(error::other)?;
        let row = sqlx::query(
            "UPDATE campaigns SET body = $3, is_active = $4, updated_at = $5, version = version + 1
             WHERE id = $1 AND version = $2 RETURNING body, is_active, version",
        )
        .bind(c.id)
        .bind(expected_version)
        .bind(Json(c))
        .bind(c.is_active)
        .bind(Utc::now())
        .fetch_optional(&mut *tx)
        .await
        .map_err(error::other)?;
        match row {
            Some(row) => {
                let saved = campaign_from_row(&row).map_err(error::other)?;
                commit_with(tx, audit.map(|e| e.written(&saved))).await?;
                Ok(Some(saved))
            }
            None => match self.get_campaign(c.id).await? {
                Some(_) => Err(StoreError::VersionMismatch),
                None => Ok(None),
            },
        }
    }
}
