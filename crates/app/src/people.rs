//! People and memberships. Personal data (phone) is masked unless the reader's role needs
//! it and asks to reveal it; every reveal of another person's data is audited.

use crate::audit::record;
use crate::error::unique_as;
use crate::{App, AppError, Result, auth};
use serde::Serialize;
use serde_json::json;
use wuzhi_domain::work::Caller;
use wuzhi_domain::{Action, Actor, Role, Target, TerritoryCode, mask, text};
use wuzhi_store::people::PersonRow;

#[derive(Debug, Serialize, Clone, utoipa::ToSchema)]
pub struct PersonView {
    pub id: i64,
    pub name: String,
    pub phone: Option<String>,
    /// True when `phone` is shown in full.
    pub revealed: bool,
    pub home_territory: Option<String>,
    pub username: Option<String>,
}

fn masked(r: PersonRow) -> PersonView {
    PersonView {
        id: r.id,
        name: r.name,
        phone: r.phone.as_deref().map(mask::phone),
        revealed: false,
        home_territory: r.home_territory,
        username: r.username,
    }
}

pub struct NewPerson<'a> {
    pub name: &'a str,
    pub phone: Option<&'a str>,
    pub home_territory: &'a str,
    /// With a username and password the person gets an account.
    pub username: Option<&'a str>,
    pub password: Option<&'a str>,
}

/// Registers a person (and an account, when a username is given).
pub async fn create(app: &App, caller: Caller<'_>, n: NewPerson<'_>) -> Result<PersonView> {
    let actor = caller.person();
    let name = text::name("name", n.name, 50)?;
    let phone = n.phone.filter(|p| !p.trim().is_empty()).map(text::phone).transpose()?;
    let home = TerritoryCode::parse(n.home_territory).map_err(|e| AppError::invalid("home_territory", e.reason))?;
    let username = n.username.map(text::username).transpose()?;
    let hash = match (&username, n.password) {
        (Some(u), Some(p)) => {
            text::password("password", p, Some(u))?;
            Some(auth::hash_password(app, p).await?)
        }
        (Some(_), None) => {
            return Err(AppError::invalid("password", "is required with a username"));
        }
        (None, Some(_)) => {
            return Err(AppError::invalid("username", "is required with a password"));
        }
        (None, None) => None,
    };
    if let Some(a) = actor {
        a.can(Action::ManagePeople, &Target::territory(&home))?;
    }
    let now = app.now_ms();
    let mut tx = app.db.write().await?;
    if wuzhi_store::territory::get(&mut tx, home.as_str(), false).await?.is_none() {
        return Err(AppError::invalid("home_territory", format!("{home} is not in the territory tree")));
    }
    let id = wuzhi_store::people::insert_person(&mut tx, &name, phone.as_deref(), Some(home.as_str()), now).await?;
    if let (Some(u), Some(h)) = (&username, &hash) {
        wuzhi_store::people::insert_account(&mut tx, id, u, h, now)
            .await
            .map_err(|e| unique_as(e, "uq_account_username", "accounts.username", "username", "is taken"))?;
    }
    record(
        &mut tx,
        now,
        actor,
        "create_person",
        "person",
        &id.to_string(),
        json!({"home": home.as_str(), "account": username.is_some()}),
    )
    .await?;
    wuzhi_store::commit(tx).await?;
    Ok(PersonView {
        id,
        name,
        phone: phone.as_deref().map(mask::phone),
        revealed: false,
        home_territory: Some(home.to_string()),
        username,
    })
}

fn home_of(r: &PersonRow) -> Option<TerritoryCode> {
    r.home_territory.as_deref().and_then(|h| TerritoryCode::parse(h).ok())
}

/// One person. With `reveal`, the phone is shown in full if the actor's role needs it (or it
/// is their own record); a reveal of someone else's data is audited in the same transaction.
pub async fn get(app: &App, actor: &Actor, id: i64, reveal: bool) -> Result<PersonView> {
    let mut conn = app.db.read().await?;
    let row = wuzhi_store::people::get_person(&mut conn, id)
        .await?
        .ok_or_else(|| AppError::not_found(format!("person {id}")))?;
    drop(conn);
    let home = home_of(&row);
    actor.can(Action::ReadPeople, &Target::person(id, home.as_ref()))?;
    if !reveal {
        return Ok(masked(row));
    }
    actor.can(Action::ReadPersonalData, &Target::person(id, home.as_ref()))?;
    if id != actor.person_id {
        let mut tx = app.db.write().await?;
        record(
            &mut tx,
            app.now_ms(),
            Some(actor),
            "read_personal_data",
            "person",
            &id.to_string(),
            json!({"fields": ["phone"]}),
        )
        .await?;
        wuzhi_store::commit(tx).await?;
    }
    Ok(PersonView {
        id: row.id,
        name: row.name,
        phone: row.phone,
        revealed: true,
        home_territory: row.home_territory,
        username: row.username,
    })
}

/// People whose home lies in the actor's territory, masked.
pub async fn list(app: &App, actor: &Actor, after: i64, limit: Option<i64>) -> Result<Vec<PersonView>> {
    let limit = crate::page_limit(limit)?;
    let scopes = actor.scopes_for(Action::ReadPeople);
    if scopes.is_empty() {
        return Err(AppError::Forbidden { action: Action::ReadPeople.as_str().into() });
    }
    let prefixes: Vec<&str> = scopes.iter().map(|s| s.scope_prefix()).collect();
    let mut conn = app.db.read().await?;
    Ok(wuzhi_store::people::list_people(&mut conn, &prefixes, after, limit).await?.into_iter().map(masked).collect())
}

#[derive(Debug, Serialize, Clone, utoipa::ToSchema)]
pub struct MembershipView {
    pub id: i64,
    pub organisation_id: i64,
    pub organisation_name: String,
    pub role: String,
    pub scope_code: String,
    pub post: String,
    pub start_ms: i64,
}

pub async fn memberships(app: &App, actor: &Actor, person_id: i64) -> Result<Vec<MembershipView>> {
    let mut conn = app.db.read().await?;
    let row = wuzhi_store::people::get_person(&mut conn, person_id)
        .await?
        .ok_or_else(|| AppError::not_found(format!("person {person_id}")))?;
    actor.can(Action::ReadPeople, &Target::person(person_id, home_of(&row).as_ref()))?;
    let rows = wuzhi_store::people::active_memberships(&mut conn, person_id, app.now_ms()).await?;
    Ok(rows
        .into_iter()
        .map(|m| MembershipView {
            id: m.id,
            organisation_id: m.organisation_id,
            organisation_name: m.organisation_name,
            role: m.role,
            scope_code: m.scope_code,
            post: m.post,
            start_ms: m.start_ms,
        })
        .collect())
}

pub struct NewMembership<'a> {
    pub person_id: i64,
    pub organisation_id: i64,
    pub role: &'a str,
    pub scope_code: &'a str,
    pub post: &'a str,
}

/// Gives a person a post with a role over a territory subtree inside the organisation's
/// territory. The granting administrator's own scope must contain it.
pub async fn grant(app: &App, caller: Caller<'_>, n: NewMembership<'_>) -> Result<MembershipView> {
    let actor = caller.person();
    let role = Role::parse(n.role)?;
    let scope = TerritoryCode::parse(n.scope_code).map_err(|e| AppError::invalid("scope_code", e.reason))?;
    let post = text::name("post", n.post, 50)?;
    if let Some(a) = actor {
        a.can(Action::ManageMemberships, &Target::territory(&scope))?;
        // An auditor is appointed at the server's console (`wuzhi user create`), so that no
        // web administrator chooses who audits them.
        if role == Role::Auditor {
            return Err(AppError::Forbidden { action: "grant an auditor's post (from the command line only)".into() });
        }
        // Nobody widens their own power: one's posts come from another security
        // administrator (or the command line).
        if n.person_id == a.person_id {
            return Err(AppError::Forbidden { action: "grant oneself a post".into() });
        }
    }
    let now = app.now_ms();
    let mut tx = app.db.write().await?;
    if wuzhi_store::people::get_person(&mut tx, n.person_id).await?.is_none() {
        return Err(AppError::invalid("person_id", format!("person {} does not exist", n.person_id)));
    }
    if let Some(held) = posts_of(&mut tx, n.person_id, now).await?.iter().find(|g| g.role.excludes(role)) {
        return Err(AppError::Conflict {
            field: "role".into(),
            reason: format!(
                "the person holds a post as {}, which nobody holds together with {} (separation of duties)",
                held.role.as_str(),
                role.as_str()
            ),
        });
    }
    let org = wuzhi_store::org::get(&mut tx, n.organisation_id).await?.ok_or_else(|| {
        AppError::invalid("organisation_id", format!("organisation {} does not exist", n.organisation_id))
    })?;
    let org_t = TerritoryCode::parse(&org.territory_code)?;
    if !org_t.contains(&scope) {
        return Err(AppError::invalid(
            "scope_code",
            format!("{scope} is outside the organisation's territory {org_t}"),
        ));
    }
    if wuzhi_store::territory::get(&mut tx, scope.as_str(), false).await?.is_none() {
        return Err(AppError::invalid("scope_code", format!("{scope} is not in the territory tree")));
    }
    let id = wuzhi_store::people::insert_membership(
        &mut tx,
        n.person_id,
        n.organisation_id,
        role.as_str(),
        scope.as_str(),
        &post,
        now,
    )
    .await?;
    record(
        &mut tx,
        now,
        actor,
        "grant_membership",
        "person",
        &n.person_id.to_string(),
        json!({"membership": id, "role": role.as_str(), "scope": scope.as_str(), "organisation": org.id}),
    )
    .await?;
    wuzhi_store::commit(tx).await?;
    Ok(MembershipView {
        id,
        organisation_id: org.id,
        organisation_name: org.name,
        role: role.as_str().into(),
        scope_code: scope.to_string(),
        post,
        start_ms: now,
    })
}

pub async fn end_membership(app: &App, actor: &Actor, membership_id: i64) -> Result<()> {
    let now = app.now_ms();
    let mut tx = app.db.write().await?;
    let (person_id, scope_code, role) = wuzhi_store::people::get_membership(&mut tx, membership_id)
        .await?
        .ok_or_else(|| AppError::not_found(format!("membership {membership_id}")))?;
    let scope = TerritoryCode::parse(&scope_code)?;
    actor.can(Action::ManageMemberships, &Target::territory(&scope))?;
    if role == Role::Auditor.as_str() {
        return Err(AppError::Forbidden { action: "end an auditor's post (from the command line only)".into() });
    }
    // The city always keeps a system administrator and a security administrator who can sign
    // in (without the second, nobody could grant a post but the command line).
    if (role == Role::Admin.as_str() || role == Role::SecurityAdmin.as_str())
        && scope.level() == wuzhi_domain::Level::City
        && wuzhi_store::people::count_other_posts(&mut tx, &role, &scope_code, membership_id, now).await? == 0
    {
        return Err(AppError::Conflict {
            field: "membership".into(),
            reason: format!("this is the city's last {} post; grant another first", role.replace('_', " ")),
        });
    }
    wuzhi_store::people::end_membership(&mut tx, membership_id, now).await?;
    record(
        &mut tx,
        now,
        Some(actor),
        "end_membership",
        "person",
        &person_id.to_string(),
        json!({"membership": membership_id}),
    )
    .await?;
    wuzhi_store::commit(tx).await?;
    Ok(())
}

/// The posts a person holds now, as grants (what `Actor::may_manage_account` weighs).
async fn posts_of(conn: &mut wuzhi_store::Conn, person: i64, now: i64) -> Result<Vec<wuzhi_domain::Grant>> {
    Ok(crate::actor_on(conn, person, now).await?.grants)
}

/// Changes to a person's record; absent fields stay as they are.
#[derive(Debug, Default, serde::Deserialize, utoipa::ToSchema)]
pub struct PersonPatch {
    pub name: Option<String>,
    /// An empty string removes the phone number.
    pub phone: Option<String>,
    pub home_territory: Option<String>,
}

/// Edits a person. The actor needs `manage_people` over the person's home, and over the new
/// home when it moves.
pub async fn update(app: &App, actor: &Actor, id: i64, patch: PersonPatch) -> Result<PersonView> {
    let name = patch.name.as_deref().map(|n| text::name("name", n, 50)).transpose()?;
    let phone = match patch.phone.as_deref().map(str::trim) {
        None => None,
        Some("") => Some(None),
        Some(p) => Some(Some(text::phone(p)?)),
    };
    let home = patch
        .home_territory
        .as_deref()
        .map(|h| TerritoryCode::parse(h).map_err(|e| AppError::invalid("home_territory", e.reason)))
        .transpose()?;
    let now = app.now_ms();
    let mut tx = app.db.write().await?;
    let row = wuzhi_store::people::get_person(&mut tx, id)
        .await?
        .ok_or_else(|| AppError::not_found(format!("person {id}")))?;
    let old_home = home_of(&row);
    if id == actor.person_id {
        // One's own record (not one's account): as before, within one's own authority.
        actor.can(Action::ManagePeople, &Target { territory: old_home.as_ref(), owner: None })?;
    } else {
        let posts = posts_of(&mut tx, id, now).await?;
        actor.may_manage_account(id, old_home.as_ref(), &posts)?;
    }
    if let Some(h) = &home {
        actor.can(Action::ManagePeople, &Target::territory(h))?;
        if wuzhi_store::territory::get(&mut tx, h.as_str(), false).await?.is_none() {
            return Err(AppError::invalid("home_territory", format!("{h} is not in the territory tree")));
        }
    }
    let new_name = name.unwrap_or(row.name.clone());
    let new_phone = phone.unwrap_or(row.phone.clone());
    let new_home = home.map(|h| h.to_string()).or(row.home_territory.clone());
    wuzhi_store::people::update_person(&mut tx, id, &new_name, new_phone.as_deref(), new_home.as_deref()).await?;
    let changed: Vec<&str> = [
        ("name", patch.name.is_some()),
        ("phone", patch.phone.is_some()),
        ("home_territory", patch.home_territory.is_some()),
    ]
    .iter()
    .filter(|(_, c)| *c)
    .map(|(f, _)| *f)
    .collect();
    record(&mut tx, now, Some(actor), "update_person", "person", &id.to_string(), json!({"fields": changed})).await?;
    wuzhi_store::commit(tx).await?;
    Ok(masked(PersonRow { name: new_name, phone: new_phone, home_territory: new_home, ..row }))
}

/// An administrator's change to someone's account: disable or enable it, set a new
/// password, or reset the second factor (a lost phone: they enrol again at the next sign-in).
/// Each ends the person's sessions.
#[derive(Debug, Default, serde::Deserialize, utoipa::ToSchema)]
pub struct AccountPatch {
    pub disabled: Option<bool>,
    pub password: Option<String>,
    /// `true` removes the person's second factor.
    pub reset_second_factor: Option<bool>,
}

pub async fn manage_account(app: &App, actor: &Actor, id: i64, patch: AccountPatch) -> Result<()> {
    let reset_second_factor = patch.reset_second_factor == Some(true);
    if patch.disabled.is_none() && patch.password.is_none() && !reset_second_factor {
        return Err(AppError::invalid("body", "give disabled, password or reset_second_factor"));
    }
    // Authority over the account first (checked again in the write), so nobody learns from
    // the password rules (which name the username) about an account they may not manage; the
    // hash is made before the write begins.
    let hash = match &patch.password {
        Some(p) => {
            let mut conn = app.db.read().await?;
            let row = wuzhi_store::people::get_person(&mut conn, id)
                .await?
                .ok_or_else(|| AppError::not_found(format!("person {id}")))?;
            let posts = posts_of(&mut conn, id, app.now_ms()).await?;
            actor.may_manage_account(id, home_of(&row).as_ref(), &posts)?;
            let username = wuzhi_store::people::account_by_person(&mut conn, id).await?.map(|a| a.username);
            drop(conn);
            text::password("password", p, username.as_deref())?;
            Some(auth::hash_password(app, p).await?)
        }
        None => None,
    };
    let now = app.now_ms();
    let mut tx = app.db.write().await?;
    let row = wuzhi_store::people::get_person(&mut tx, id)
        .await?
        .ok_or_else(|| AppError::not_found(format!("person {id}")))?;
    let posts = posts_of(&mut tx, id, now).await?;
    actor.may_manage_account(id, home_of(&row).as_ref(), &posts)?;
    let Some(account) = wuzhi_store::people::account_by_person(&mut tx, id).await? else {
        return Err(AppError::not_found(format!("account of person {id}")));
    };
    if let Some(d) = patch.disabled {
        wuzhi_store::people::set_disabled(&mut tx, id, d).await?;
    }
    if let Some(h) = &hash {
        wuzhi_store::people::set_password(&mut tx, id, h, now).await?;
        // A reset lifts the locks on the username from every source.
        wuzhi_store::people::forget_attempts(&mut tx, &account.username.to_lowercase()).await?;
    }
    if reset_second_factor {
        crate::second_factor::forget(&mut tx, id, now).await?;
    }
    wuzhi_store::people::delete_sessions_of(&mut tx, id).await?;
    record(
        &mut tx,
        now,
        Some(actor),
        "manage_account",
        "person",
        &id.to_string(),
        json!({"disabled": patch.disabled, "password_reset": hash.is_some(), "second_factor_reset": reset_second_factor}),
    )
    .await?;
    wuzhi_store::commit(tx).await?;
    Ok(())
}

/// One person on duty in a territory.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct OnDuty {
    pub name: String,
    pub role: String,
    pub post: String,
    pub organisation_name: String,
}

/// Who is on duty in a territory (the posts covering exactly it), for those who may read
/// the territory; names are masked unless the viewer may read people there.
pub async fn on_duty(app: &App, actor: &Actor, code: &str) -> Result<Vec<OnDuty>> {
    let code = TerritoryCode::parse(code)?;
    actor.can(Action::ReadTerritory, &Target::territory(&code))?;
    let full = actor.can(Action::ReadPeople, &Target::territory(&code)).is_ok();
    let mut conn = app.db.read().await?;
    let rows = wuzhi_store::people::on_duty(&mut conn, code.as_str(), app.now_ms()).await?;
    Ok(rows
        .into_iter()
        .map(|(name, role, post, org)| OnDuty {
            name: if full { name } else { wuzhi_domain::mask::name(&name) },
            role,
            post,
            organisation_name: org,
        })
        .collect())
}
