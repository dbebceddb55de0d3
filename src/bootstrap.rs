//! First start: when no staff account exists, create the configured business and
//! its owner with a one-time password, and say once how to log in.

use stampede_domain::business::NewBusiness;
use stampede_domain::email::Email;
use stampede_domain::ports::Store;
use stampede_domain::staff::NewStaff;
use stampede_domain::text::Name;

use crate::configuration::BootstrapSettings;
use crate::password::{PasswordHasher, one_time_password};

/// The owner created at first start, with the password to show once.
pub struct FirstOwner {
    pub email: String,
    pub password: String,
    pub business_name: String,
}

/// Create the first owner if there is no staff account yet. `None` when one
/// exists (every start after the first).
pub async fn ensure_first_owner(
    store: &dyn Store,
    passwords: &PasswordHasher,
    settings: &BootstrapSettings,
) -> anyhow::Result<Option<FirstOwner>> {
    if store.count_staff().await? > 0 {
        return Ok(None);
    }
    let email = Email::parse(&settings.owner_email).map_err(|e| anyhow::anyhow!("bootstrap.owner_email {e}"))?;
    let name = Name::parse(&settings.owner_name).map_err(|e| anyhow::anyhow!("bootstrap.owner_name {e}"))?;
    let business_name =
        Name::parse(&settings.business_name).map_err(|e| anyhow::anyhow!("bootstrap.business_name {e}"))?;
    let password = one_time_password();
    let hash = passwords.hash(password.clone()).await?;
    let business = NewBusiness { name: business_name, description: None, tax_id: None, website: None };
    let owner = NewStaff { id: None, email, name, password_hash: Some(hash), must_change_password: true };
    // Another process may have won the race since the count; then we say nothing.
    Ok(store.create_first_owner(business, owner).await?.map(|(business, staff)| FirstOwner {
        email: staff.email,
        password,
        business_name: business.name,
    }))
}
