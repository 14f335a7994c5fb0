//! Intake: a new case from every channel, located to its grid, with its first event (through the group-commit writer, or at once for a finding fixed on the spot).

use super::*;
use wuzhi_domain::cases::CaseFlow;
use wuzhi_domain::work::Workflow;
use wuzhi_store::cases::KIND;
use wuzhi_store::work::NewEvent;

/// Where a case is: the grid of its point, or the territory its address names.
pub(super) fn place(app: &App, n: &NewCase) -> Result<(String, Option<(f64, f64)>)> {
    match (n.lon, n.lat) {
        (Some(lon), Some(lat)) => {
            let crs = n.crs.as_deref().map(Crs::parse).transpose()?.unwrap_or(Crs::Wgs84);
            let (x, y) = crate::locate::point(lon, lat, crs)?;
            let loc = app.locator().locate(x, y).ok_or_else(|| {
                AppError::invalid("lon", format!("({lon}, {lat}) is outside every grid of this city"))
            })?;
            Ok((loc.grid.code, Some((x, y))))
        }
        (None, None) => {
            let addr = n.address.as_deref().unwrap_or("").trim();
            if addr.is_empty() {
                return Err(AppError::invalid(
                    "address",
                    "give lon and lat, or an address naming a community, village or street",
                ));
            }
            let t = app.locator().match_address(addr).ok_or_else(|| {
                AppError::invalid("address", "names no community, village, street or district of this city")
            })?;
            Ok((t.code, None))
        }
        _ => Err(AppError::invalid(if n.lon.is_none() { "lon" } else { "lat" }, "lon and lat come together")),
    }
}

/// Intake: validates, locates, and stores a new case with its first event, or returns the
/// case an earlier submission with the same idempotency key created. Returns the case and
/// whether it is new.
pub async fn report(app: &App, actor: &Actor, n: NewCase) -> Result<(CaseView, bool)> {
    if n.channel == Channel::Sensor {
        return Err(AppError::invalid(
            "channel",
            "sensors report through /api/devices/{id}/events, signed with their key",
        ));
    }
    if n.channel == Channel::Open311 {
        return Err(AppError::invalid(
            "channel",
            "Open311 clients post to /open311/v2/requests.json with their api_key",
        ));
    }
    report_checked(app, Caller::Person(actor), n, None).await
}

/// Intake after the caller is known: a person (`actor`), or a device that proved its key
/// (`device`: its territory, which the report must lie in).
pub(crate) async fn report_checked(
    app: &App,
    caller: Caller<'_>,
    n: NewCase,
    device: Option<&TerritoryCode>,
) -> Result<(CaseView, bool)> {
    // People report on their channels; a device and an Open311 client on theirs, as themselves.
    let person = match (n.channel, caller) {
        (Channel::App | Channel::Hotline | Channel::Grid, Caller::Person(a)) => Some(a),
        (Channel::Sensor, Caller::System(System::Device))
        | (Channel::Open311, Caller::System(System::Open311Client)) => None,
        _ => return Err(AppError::Internal("a report's channel does not fit its caller".into())),
    };
    let pid = caller.person_id();
    let forbidden = |what: &str| AppError::Forbidden { action: what.into() };
    if !KINDS.contains(&n.kind.as_str()) {
        return Err(AppError::invalid("kind", format!("`{}` is not one of {}", n.kind, KINDS.join(", "))));
    }
    let subject = text::required("subject", &n.subject)?;
    let description = text::optional("description", &n.description)?;
    if description.is_empty() {
        return Err(AppError::invalid("description", "is empty"));
    }
    let key = match &n.idempotency_key {
        Some(k) if k.is_empty() || k.len() > 100 => {
            return Err(AppError::invalid("idempotency_key", "must be 1 to 100 characters"));
        }
        // A system's keys are its own (`0`: no person), as they were when they were written.
        Some(k) => Some(format!("{}:{}:{k}", n.channel.as_str(), pid.unwrap_or(0))),
        None => None,
    };
    // A retry is recognised by the unique key at insert time (one query fewer on the common
    // path than looking it up first).
    let (code, point) = place(app, &n)?;
    let tcode = TerritoryCode::parse(&code)?;
    let (reporter_id, reporter_name, reporter_phone) = match n.channel {
        Channel::App => (pid, None, None),
        Channel::Hotline => {
            person.ok_or_else(|| forbidden("take calls"))?.can(Action::TakeCalls, &Target::territory(&tcode))?;
            let name = n.reporter_name.as_deref().map(|s| text::name("reporter_name", s, 50)).transpose()?;
            let phone = n.reporter_phone.as_deref().map(text::phone).transpose()?;
            (None, name, phone)
        }
        Channel::Open311 => {
            // The client's key was checked by the caller; the reporter is whoever it names.
            let name = n.reporter_name.as_deref().map(|s| text::name("first_name", s, 100)).transpose()?;
            let phone = n.reporter_phone.as_deref().map(text::phone).transpose()?;
            (None, name, phone)
        }
        Channel::Sensor => {
            let inside = device.is_some_and(|d| d.contains(&tcode));
            if !inside {
                return Err(AppError::invalid("lon", "the point is outside the device's territory"));
            }
            (None, None, None)
        }
        Channel::Grid => {
            person
                .and_then(|a| a.can(Action::ReadCase, &Target::territory(&tcode)).ok())
                .ok_or_else(|| forbidden("report a patrol finding outside one's own grid"))?;
            (pid, None, None)
        }
    };
    let now = app.now_ms();
    let cal = app.calendar();
    let mut conn = app.db.read().await?;
    let cat = match &n.category {
        Some(c) => Some(leaf_category(&mut conn, c).await?),
        None => None,
    };
    drop(conn);
    let fixed = match (&n.fixed_on_spot, n.channel) {
        (Some(_), ch) if ch != Channel::Grid => {
            return Err(AppError::invalid(
                "fixed_on_spot",
                "only a grid worker's patrol finding can be fixed on the spot",
            ));
        }
        (Some(_), _) if cat.is_none() => {
            return Err(AppError::invalid("category", "a case fixed on the spot needs its category"));
        }
        (Some(r), _) => Some(r.clone()),
        (None, _) => None,
    };
    let due = cal.due(now, limit(cat.as_ref(), "accept"));
    // The fast track: words that signal danger to life, gas or fire flag the case at once.
    let flagged = crate::warnings::fast_track(app, &subject, &description).await?;
    // 就地解决: decided before anything is written; owned by the worker's own unit of the grid.
    let fixed = match (fixed, &cat) {
        (Some(result), Some(cat)) => {
            let actor = person.ok_or_else(|| forbid("fix on the spot"))?;
            let org = actor
                .grants
                .iter()
                .find(|g| g.role.grants().contains(&Action::FixOnSpot) && g.scope.contains(&tcode))
                .and_then(|g| g.org)
                .ok_or_else(|| forbid("fix on the spot"))?;
            let fix = FixOnSpot {
                category: cat.code.clone(),
                priority: cat.priority.clone().unwrap_or_else(|| "normal".into()),
                org,
                result,
                due_ms: due,
            };
            let rel = Relation::of(Caller::Person(actor), &tcode, None, Some(actor.person_id));
            CaseState::reported(due).fix_on_spot(&rel, &fix).map_err(|e| crate::work::refusal(KIND.name, e))?
        }
        _ => Vec::new(),
    };
    let mut row = CaseRow {
        channel: n.channel.as_str().into(),
        kind: n.kind.clone(),
        subject,
        description,
        // The reporter's choice, kept as a suggestion until the case is filed.
        category_code: cat.as_ref().map(|c| c.code.clone()),
        priority: flagged.map(str::to_owned),
        status: Status::Reported.as_str().into(),
        lon: point.map(|p| p.0),
        lat: point.map(|p| p.1),
        address: n.address.clone().filter(|a| !a.trim().is_empty()),
        territory_code: code,
        reporter_id,
        reporter_name,
        reporter_phone,
        reporter_email: n.reporter_email.clone(),
        attributes: n.attributes.clone(),
        anonymous: n.anonymous,
        public: wuzhi_domain::cases::public::at_intake(n.channel.as_str(), n.anonymous, n.public),
        due_at_ms: Some(due),
        created_at_ms: now,
        updated_at_ms: now,
        version: 1,
        ..Default::default()
    };
    let first = Event::Reported { due_ms: due, suggested: cat.as_ref().map(|c| c.code.clone()) };
    let first_data = event_json(&first, None);
    let reported = CaseState::reported(0).apply(&first, now);
    if fixed.is_empty() {
        // The common path: through the group-commit writer.
        let (reply, answer) = tokio::sync::oneshot::channel();
        let job = crate::cases::writer::Job {
            row: row.clone(),
            key: key.clone(),
            head: CaseFlow::head(&reported),
            first_kind: first.kind(),
            first_data: first_data.clone(),
            actor: pid,
            reply,
        };
        app.intake.send(job).await.map_err(|_| AppError::Internal("the intake writer has stopped".into()))?;
        let written = answer.await.map_err(|_| AppError::Internal("the intake writer dropped a case".into()))?;
        return match written.map_err(AppError::Internal)? {
            Some(id) => {
                row.id = id;
                // The answer is built from what was just written: no second read.
                let timeline = vec![TimelineEntry {
                    seq: 1,
                    at_ms: now,
                    at: format_local(now),
                    actor_id: pid,
                    kind: first.kind().to_owned(),
                    data: serde_json::from_str(&first_data).unwrap_or(serde_json::Value::Null),
                }];
                Ok((view(caller, row, false, Some(timeline))?, true))
            }
            None => {
                let mut conn = app.db.read().await?;
                let id = wuzhi_store::cases::by_idempotency_key(&mut conn, key.as_deref().unwrap_or(""))
                    .await?
                    .ok_or(AppError::not_found("case"))?;
                drop(conn);
                Ok((get_as(app, caller, id).await?, false))
            }
        };
    }
    let mut tx = app.db.write().await?;
    let Some(id) = wuzhi_store::cases::insert_counted(&mut tx, &row, key.as_deref()).await? else {
        // A retry of a case already written: answer with it.
        drop(tx);
        let mut conn = app.db.read().await?;
        let id = wuzhi_store::cases::by_idempotency_key(&mut conn, key.as_deref().unwrap_or(""))
            .await?
            .ok_or(AppError::not_found("case"))?;
        drop(conn);
        return Ok((get_as(app, caller, id).await?, false));
    };
    row.id = id;
    // Fixed on the spot: the report and the steps that settled it, in one creation of the
    // case's head and timeline.
    let mut state = reported;
    let mut datas = vec![first_data];
    for e in &fixed {
        if let Some((org, d, r)) = wuzhi_domain::kpi::unit_tally(&state, e) {
            wuzhi_store::cases::add_unit_tally(&mut tx, id, org, d, r).await?;
        }
        state = state.apply(e, now);
        datas.push(event_json(e, None));
    }
    let names = std::iter::once(first.kind()).chain(fixed.iter().map(Event::kind));
    let events: Vec<NewEvent<'_>> = names
        .zip(&datas)
        .map(|(name, data)| NewEvent { at_ms: now, written_ms: now, actor: pid, name, data })
        .collect();
    let before = row.clone();
    project(&mut row, &state, now);
    wuzhi_store::work::create(
        &mut tx,
        &KIND,
        id,
        row.version,
        &crate::work::head_of::<CaseFlow>(&state, &row.territory_code),
        &events,
        now,
    )
    .await?;
    wuzhi_store::cases::update(&mut tx, &before, &row).await?;
    wuzhi_store::commit(tx).await?;
    Ok((get_as(app, caller, id).await?, true))
}

/// A case event as its timeline stores it (see `crate::work::event_data`).
pub(super) fn event_json(e: &Event, extra: Option<serde_json::Value>) -> String {
    crate::work::event_data(e, extra, None)
}
