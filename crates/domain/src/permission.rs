//! Roles and the one permission rule (权限规则): a role grants actions over a territory
//! subtree. Every handler asks [`Actor::can`] before it reads or writes, and list queries
//! filter by [`Actor::scopes_for`], so a person never sees past their own territory.

use crate::{Invalid, TerritoryCode};
use serde::{Deserialize, Serialize};

/// The posts a membership can give. The names are the workflow's own words.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// 居民: sees and acts on only their own records.
    Resident,
    /// 网格员
    GridWorker,
    /// 小巷管家/志愿者
    Steward,
    /// 社区工作者
    CommunityStaff,
    /// 街道"战区"指挥长: can summon departments (吹哨).
    StreetCommander,
    /// 部门承办人
    DepartmentHandler,
    /// 指挥中心派遣员
    Dispatcher,
    /// 区领导
    DistrictLeader,
    /// 市领导
    CityLeader,
    /// 系统管理员: keeps the system's settings — territories, organisations, categories and
    /// the calendar, imports, the detectors' parameters, keys and webhooks — but neither
    /// manages people's accounts and posts (the security administrator) nor reads the audit
    /// log (the auditor).
    Admin,
    /// 个人信息保护负责人 (PIPL art. 52): handles people's requests about their data and is
    /// warned of bulk reads.
    DataProtectionOfficer,
    /// 安全审计员 (MLPS 2.0 level 3, 三员分立): reads and verifies the audit log and nothing
    /// else; the system administrator does not read it. Appointed only from the server's
    /// command line, never by a web administrator, and never held with an administrator's post.
    Auditor,
    /// 安全保密管理员 (MLPS 2.0 level 3, 三员分立): creates people and accounts, grants and
    /// ends posts, resets passwords and second factors — the system administrator's too, an
    /// auditor's never — and changes no setting.
    SecurityAdmin,
}

impl Role {
    pub const ALL: [Role; 13] = [
        Role::Resident,
        Role::GridWorker,
        Role::Steward,
        Role::CommunityStaff,
        Role::StreetCommander,
        Role::DepartmentHandler,
        Role::Dispatcher,
        Role::DistrictLeader,
        Role::CityLeader,
        Role::Admin,
        Role::DataProtectionOfficer,
        Role::Auditor,
        Role::SecurityAdmin,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Resident => "resident",
            Role::GridWorker => "grid_worker",
            Role::Steward => "steward",
            Role::CommunityStaff => "community_staff",
            Role::StreetCommander => "street_commander",
            Role::DepartmentHandler => "department_handler",
            Role::Dispatcher => "dispatcher",
            Role::DistrictLeader => "district_leader",
            Role::CityLeader => "city_leader",
            Role::Admin => "admin",
            Role::DataProtectionOfficer => "data_protection_officer",
            Role::Auditor => "auditor",
            Role::SecurityAdmin => "security_admin",
        }
    }

    /// The three administrators' duties (三员分立: system, security, audit).
    pub const SEPARATED: [Role; 3] = [Role::Admin, Role::SecurityAdmin, Role::Auditor];

    /// Roles nobody holds together (三员分立): who keeps the settings neither manages the
    /// accounts nor audits, and who manages the accounts does not audit.
    pub fn excludes(self, other: Role) -> bool {
        self != other && Role::SEPARATED.contains(&self) && Role::SEPARATED.contains(&other)
    }

    pub fn parse(s: &str) -> Result<Role, Invalid> {
        Role::ALL.into_iter().find(|r| r.as_str() == s).ok_or_else(|| {
            let names: Vec<_> = Role::ALL.iter().map(|r| r.as_str()).collect();
            Invalid::new("role", format!("`{s}` is not one of {}", names.join(", ")))
        })
    }

    /// The actions this role grants over its territory subtree. Personal data (phone, ID
    /// number) is unmasked only for the roles that serve people face to face or on the phone.
    pub fn grants(self) -> &'static [Action] {
        use Action::*;
        match self {
            Role::Resident => &[],
            Role::GridWorker => &[
                ReadTerritory,
                ReadOrganisation,
                ReadPeople,
                ReadPersonalData,
                ReadCase,
                VerifyCase,
                FixOnSpot,
                ReadArchives,
                EditArchives,
                DoGridWork,
                ReadGridWork,
            ],
            Role::Steward => &[ReadTerritory, ReadOrganisation, ReadCase, DoGridWork, ReadGridWork],
            Role::CommunityStaff => &[
                ReadTerritory,
                ReadOrganisation,
                ReadPeople,
                ReadPersonalData,
                ManagePeople,
                ReadCase,
                FileCase,
                VerifyCase,
                ReadArchives,
                EditArchives,
                ImportArchives,
                ReadSpecialGroups,
                HandleDataRequests,
                DoGridWork,
                ReadGridWork,
                SuperviseGridWork,
                ReadWarnings,
                HandleWarnings,
                ReadPoints,
                ManagePoints,
                ManageVolunteering,
                ReportToResidents,
                RunCampaigns,
            ],
            Role::StreetCommander => &[
                ReadTerritory,
                ReadOrganisation,
                ReadPeople,
                ReadCase,
                FileCase,
                DispatchCase,
                ApproveCase,
                ReadArchives,
                ReadGridWork,
                SuperviseGridWork,
                ManageKeyTasks,
                ReadWarnings,
                HandleWarnings,
                ReadPoints,
                ManageVolunteering,
                ReportToResidents,
                RunCampaigns,
            ],
            Role::DepartmentHandler => &[ReadTerritory, ReadOrganisation, ReadCase],
            Role::Dispatcher => &[
                ReadTerritory,
                ReadOrganisation,
                ReadPeople,
                ReadPersonalData,
                ReadCase,
                FileCase,
                DispatchCase,
                ApproveCase,
                MergeCase,
                TakeCalls,
                ReadArchives,
                ReadGridWork,
                ReadWarnings,
                HandleWarnings,
            ],
            Role::DistrictLeader | Role::CityLeader => &[
                ReadTerritory,
                ReadOrganisation,
                ReadPeople,
                ReadCase,
                ReadArchives,
                ReadGridWork,
                ManageKeyTasks,
                ReadWarnings,
                ReportToResidents,
                RunCampaigns,
            ],
            Role::Admin => &[
                ReadTerritory,
                ManageTerritory,
                ReadOrganisation,
                ManageOrganisation,
                ReadPeople,
                ReadPersonalData,
                ReadCase,
                ManageCategories,
                ReadArchives,
                ImportArchives,
                ReadWarnings,
                ManageWarningRules,
            ],
            Role::DataProtectionOfficer => &[ReadTerritory, ReadOrganisation, HandleDataRequests],
            Role::Auditor => &[ReadTerritory, ReadOrganisation, ReadAudit],
            Role::SecurityAdmin => &[ReadTerritory, ReadOrganisation, ReadPeople, ManagePeople, ManageMemberships],
        }
    }
}

/// What someone wants to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    ReadTerritory,
    ManageTerritory,
    ReadOrganisation,
    ManageOrganisation,
    /// Read people's records with personal data masked.
    ReadPeople,
    /// Read phone and ID numbers in full (every such read is audited).
    ReadPersonalData,
    /// Create people and accounts, reset passwords.
    ManagePeople,
    /// Grant and end memberships (posts with roles).
    ManageMemberships,
    ReadAudit,
    /// Read cases located in the territory.
    ReadCase,
    /// 立案 or refuse to file.
    FileCase,
    /// 派遣: send a case to a unit, or assign an owner after returns.
    DispatchCase,
    /// 核查: verify the handling on site, or send it back for rework.
    VerifyCase,
    /// Approve extensions and parking.
    ApproveCase,
    /// Merge duplicates into a main case.
    MergeCase,
    /// Take hotline calls: report cases on a caller's behalf.
    TakeCalls,
    /// Edit the category taxonomy and the working calendar.
    ManageCategories,
    /// 就地解决: fix a patrol finding on the spot in one's own grid (filed, handled and
    /// verified at once, so it counts as closed on time).
    FixOnSpot,
    /// Read the archives (房车人物) of the territory: public fields in clear, personal ones
    /// masked (in clear with `read_personal_data` and a stated purpose).
    ReadArchives,
    /// Update records from the field (each change kept in the record's history).
    EditArchives,
    /// Import archives from files.
    ImportArchives,
    /// See the special groups (社区矫正, 严重精神障碍, 重点人员), with a purpose.
    ReadSpecialGroups,
    /// Handle people's requests to correct or delete their data (PIPL).
    HandleDataRequests,
    /// Grid work in the field: patrols, quick records, visits (with `read_archives` for the
    /// households), progress on key tasks.
    DoGridWork,
    /// See the grid work of the territory: rosters, coverage, records, key-task progress and
    /// the indicators (aggregated; never a ranking of people).
    ReadGridWork,
    /// 督导: keep the rosters and visit rules, review records, see a patrol's track.
    SuperviseGridWork,
    /// 重点工作: send a key task down to every community or grid of the territory.
    ManageKeyTasks,
    /// See the risk warnings of the territory, their evidence and the digest.
    ReadWarnings,
    /// Acknowledge, assign, resolve or dismiss a warning.
    HandleWarnings,
    /// Edit the detectors' parameters and the sensitive-word lexicon.
    ManageWarningRules,
    /// See the points accounts and statements of the territory's residents (积分制); one's
    /// own always.
    ReadPoints,
    /// Keep the points of the territory: earning rules, awards, deductions by a recorded
    /// decision, decisions on objections, corrections, the points shop's items.
    ManagePoints,
    /// 志愿服务: publish the territory's volunteer activities, decide sign-ups, confirm at the
    /// activity who served and for how long, see volunteers' records.
    ManageVolunteering,
    /// 向群众汇报: report to the territory's residents, publish the commitments, record their
    /// progress, and see the residents' ratings of the territory (aggregated).
    ReportToResidents,
    /// 文明评选: run the territory's civilised-rating campaigns — review nominations, open
    /// the vote and the publicity period, answer objections, award.
    RunCampaigns,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::ReadTerritory => "read_territory",
            Action::ManageTerritory => "manage_territory",
            Action::ReadOrganisation => "read_organisation",
            Action::ManageOrganisation => "manage_organisation",
            Action::ReadPeople => "read_people",
            Action::ReadPersonalData => "read_personal_data",
            Action::ManagePeople => "manage_people",
            Action::ManageMemberships => "manage_memberships",
            Action::ReadAudit => "read_audit",
            Action::ReadCase => "read_case",
            Action::FileCase => "file_case",
            Action::DispatchCase => "dispatch_case",
            Action::VerifyCase => "verify_case",
            Action::ApproveCase => "approve_case",
            Action::MergeCase => "merge_case",
            Action::TakeCalls => "take_calls",
            Action::ManageCategories => "manage_categories",
            Action::FixOnSpot => "fix_on_spot",
            Action::ReadArchives => "read_archives",
            Action::EditArchives => "edit_archives",
            Action::ImportArchives => "import_archives",
            Action::ReadSpecialGroups => "read_special_groups",
            Action::HandleDataRequests => "handle_data_requests",
            Action::DoGridWork => "do_grid_work",
            Action::ReadGridWork => "read_grid_work",
            Action::SuperviseGridWork => "supervise_grid_work",
            Action::ManageKeyTasks => "manage_key_tasks",
            Action::ReadWarnings => "read_warnings",
            Action::HandleWarnings => "handle_warnings",
            Action::ManageWarningRules => "manage_warning_rules",
            Action::ReadPoints => "read_points",
            Action::ManagePoints => "manage_points",
            Action::ManageVolunteering => "manage_volunteering",
            Action::ReportToResidents => "report_to_residents",
            Action::RunCampaigns => "run_campaigns",
        }
    }

    /// Actions a person may always take on their own record.
    fn allowed_on_self(self) -> bool {
        matches!(self, Action::ReadPeople | Action::ReadPersonalData | Action::ReadPoints)
    }
}

/// One role held over one territory subtree (from a membership).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Grant {
    pub role: Role,
    pub scope: TerritoryCode,
    /// The organisation the post is in (absent for grants made by the system itself).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub org: Option<i64>,
}

/// The person acting, with every grant of their active memberships.
#[derive(Debug, Clone, Serialize)]
pub struct Actor {
    pub person_id: i64,
    pub grants: Vec<Grant>,
}

/// What an action is aimed at: the territory it lies in, and the person it belongs to
/// when it is a personal record.
#[derive(Debug, Clone, Default)]
pub struct Target<'a> {
    pub territory: Option<&'a TerritoryCode>,
    pub owner: Option<i64>,
}

impl<'a> Target<'a> {
    pub fn territory(code: &'a TerritoryCode) -> Self {
        Target { territory: Some(code), owner: None }
    }
    pub fn person(id: i64, territory: Option<&'a TerritoryCode>) -> Self {
        Target { territory, owner: Some(id) }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not allowed to {}", action.as_str())]
pub struct Denied {
    pub action: Action,
}

impl Actor {
    /// The permission rule: allowed when the target is the actor's own record and the action
    /// is one a person may take on themselves, or when some grant's role gives the action and
    /// the grant's territory contains the target's territory.
    pub fn can(&self, action: Action, target: &Target<'_>) -> Result<(), Denied> {
        if target.owner == Some(self.person_id) && action.allowed_on_self() {
            return Ok(());
        }
        let Some(code) = target.territory else {
            return Err(Denied { action });
        };
        if self.grants.iter().any(|g| g.role.grants().contains(&action) && g.scope.contains(code)) {
            Ok(())
        } else {
            Err(Denied { action })
        }
    }

    /// The territory subtrees in which the actor may take `action`, with nested ones removed:
    /// list queries filter on these. Empty means nothing.
    pub fn scopes_for(&self, action: Action) -> Vec<TerritoryCode> {
        let mut scopes: Vec<TerritoryCode> =
            self.grants.iter().filter(|g| g.role.grants().contains(&action)).map(|g| g.scope.clone()).collect();
        scopes.sort_by_key(|c| c.as_str().len());
        let mut kept: Vec<TerritoryCode> = Vec::new();
        for s in scopes {
            if !kept.iter().any(|k| k.contains(&s)) {
                kept.push(s);
            }
        }
        kept
    }

    /// 市级系统管理员: holds the administrator's post over a whole city. The one rule for every
    /// city-wide administrative act (categories, keys, webhooks, imports).
    pub fn is_city_admin(&self) -> bool {
        self.holds_over_city(Role::Admin)
    }

    /// Holds a post of this role over a whole city (the audit log: a city's auditor).
    pub fn holds_over_city(&self, role: Role) -> bool {
        self.grants.iter().any(|g| g.role == role && g.scope.level() == crate::Level::City)
    }

    pub fn has_role(&self, role: Role) -> bool {
        self.grants.iter().any(|g| g.role == role)
    }

    /// True when one of the actor's staff posts is in this organisation (a unit's own work:
    /// accepting, returning and handling its cases). A resident registered with a community
    /// committee is not its staff.
    pub fn member_of(&self, org: i64) -> bool {
        self.grants.iter().any(|g| g.org == Some(org) && g.role != Role::Resident)
    }

    /// Whether the actor may manage the account of person `person` (disable or enable it, set
    /// its password, edit the record), who lives in `home` and holds `posts` (their active
    /// grants). The actor needs `manage_people` over the home, and for every staff post the
    /// person holds, a security administrator's post of their own whose territory contains
    /// it: so a community's staff manage its residents' accounts, a district's security
    /// administrator the staff inside the district, and nobody an account with more power
    /// than their own (a city-wide post is managed only by a city security administrator). Nobody disables or resets their own
    /// account here: that is `change_password`.
    pub fn may_manage_account(&self, person: i64, home: Option<&TerritoryCode>, posts: &[Grant]) -> Result<(), Denied> {
        let denied = Err(Denied { action: Action::ManagePeople });
        if person == self.person_id {
            return denied;
        }
        self.can(Action::ManagePeople, &Target { territory: home, owner: None })?;
        // An auditor's account is kept from the command line only: a security administrator
        // who could set its password could read the log that audits them.
        let covered = |post: &Grant| {
            post.role == Role::Resident
                || (post.role != Role::Auditor
                    && self.grants.iter().any(|g| g.role == Role::SecurityAdmin && g.scope.contains(&post.scope)))
        };
        if posts.iter().all(covered) { Ok(()) } else { denied }
    }

    /// The organisations the actor holds staff posts in.
    pub fn orgs(&self) -> Vec<i64> {
        let mut v: Vec<i64> = self.grants.iter().filter(|g| g.role != Role::Resident).filter_map(|g| g.org).collect();
        v.sort_unstable();
        v.dedup();
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(s: &str) -> TerritoryCode {
        TerritoryCode::parse(s).unwrap()
    }

    fn actor(role: Role, scope: &str) -> Actor {
        Actor { person_id: 7, grants: vec![Grant { role, scope: code(scope), org: Some(3) }] }
    }

    #[test]
    fn grid_worker_reads_only_inside_the_grid() {
        let gw = actor(Role::GridWorker, "120101001001001");
        assert!(gw.can(Action::ReadTerritory, &Target::territory(&code("120101001001001"))).is_ok());
        assert!(gw.can(Action::ReadTerritory, &Target::territory(&code("120101001001002"))).is_err());
        assert!(gw.can(Action::ReadTerritory, &Target::territory(&code("120101001001"))).is_err());
        assert!(gw.can(Action::ManageTerritory, &Target::territory(&code("120101001001001"))).is_err());
    }

    #[test]
    fn resident_only_on_self() {
        let r = actor(Role::Resident, "120101001001");
        assert!(r.can(Action::ReadPersonalData, &Target::person(7, None)).is_ok());
        assert!(r.can(Action::ReadPeople, &Target::person(8, Some(&code("120101001001")))).is_err());
        assert!(r.can(Action::ReadTerritory, &Target::territory(&code("120101001001"))).is_err());
        assert!(r.can(Action::ManagePeople, &Target::person(7, None)).is_err());
        assert!(r.scopes_for(Action::ReadTerritory).is_empty());
    }

    #[test]
    fn every_role_is_confined_to_its_subtree() {
        let inside = code("120101001001001");
        let outside = code("120102001001001");
        for role in Role::ALL {
            let a = actor(role, "120101");
            for &action in role.grants() {
                assert!(a.can(action, &Target::territory(&inside)).is_ok(), "{role:?} {action:?}");
                assert!(a.can(action, &Target::territory(&outside)).is_err(), "{role:?} {action:?}");
            }
        }
    }

    #[test]
    fn nested_scopes_collapse() {
        let a = Actor {
            person_id: 1,
            grants: vec![
                Grant { role: Role::CommunityStaff, scope: code("120101001001"), org: None },
                Grant { role: Role::Admin, scope: code("120000"), org: None },
                Grant { role: Role::GridWorker, scope: code("120102001001001"), org: Some(4) },
            ],
        };
        assert_eq!(a.scopes_for(Action::ReadPeople), vec![code("120000")]);
        assert_eq!(a.scopes_for(Action::ManageTerritory), vec![code("120000")]);
    }

    #[test]
    fn a_resident_of_a_committee_is_not_its_staff() {
        let resident = actor(Role::Resident, "120101001001001");
        assert!(!resident.member_of(3));
        assert!(resident.orgs().is_empty());
        assert!(actor(Role::CommunityStaff, "120101001001").member_of(3));
    }

    #[test]
    fn nobody_manages_an_account_with_more_power_than_their_own() {
        let grant = |role, scope: &str| Grant { role, scope: code(scope), org: Some(3) };
        let home = code("120101001001");
        let community = actor(Role::CommunityStaff, "120101001001");
        // A resident of the community: yes. Someone outside it: no.
        assert!(community.may_manage_account(9, Some(&home), &[grant(Role::Resident, "120101001001")]).is_ok());
        assert!(community.may_manage_account(9, Some(&code("120101001002")), &[]).is_err());
        // Living in the community but holding a city-wide post, or any staff post: no.
        for post in [
            grant(Role::Dispatcher, "120000"),
            grant(Role::GridWorker, "120101001001001"),
            grant(Role::Steward, "120101001001"),
        ] {
            assert!(community.may_manage_account(9, Some(&home), &[post.clone()]).is_err(), "{post:?}");
        }
        // A district security administrator: staff inside the district, not a city-wide
        // post, nor a post in another district.
        let district = actor(Role::SecurityAdmin, "120101");
        assert!(district.may_manage_account(9, Some(&home), &[grant(Role::GridWorker, "120101001001001")]).is_ok());
        assert!(district.may_manage_account(9, Some(&home), &[grant(Role::Dispatcher, "120000")]).is_err());
        assert!(
            district
                .may_manage_account(
                    9,
                    Some(&home),
                    &[grant(Role::GridWorker, "120101001001001"), grant(Role::Admin, "120102")]
                )
                .is_err(),
            "every post counts, not only the first"
        );
        // A city security administrator: anyone in the city, the system administrator too;
        // nobody their own account.
        let city = actor(Role::SecurityAdmin, "120000");
        assert!(city.may_manage_account(9, Some(&home), &[grant(Role::Admin, "120000")]).is_ok());
        assert!(city.may_manage_account(9, Some(&home), &[grant(Role::SecurityAdmin, "120000")]).is_ok());
        assert!(city.may_manage_account(7, Some(&home), &[]).is_err());
        // … except an auditor's, which only the command line keeps.
        assert!(city.may_manage_account(9, Some(&home), &[grant(Role::Auditor, "120000")]).is_err());
        // The system administrator manages no account at all.
        let admin = actor(Role::Admin, "120000");
        assert!(admin.may_manage_account(9, Some(&home), &[grant(Role::Resident, "120101001001")]).is_err());
        assert!(admin.may_manage_account(9, Some(&home), &[grant(Role::GridWorker, "120101001001001")]).is_err());
    }

    #[test]
    fn the_three_administrators_have_separate_duties() {
        let city = code("120000");
        let admin = actor(Role::Admin, "120000");
        let security = actor(Role::SecurityAdmin, "120000");
        let auditor = actor(Role::Auditor, "120000");
        assert!(admin.can(Action::ReadAudit, &Target::territory(&city)).is_err());
        assert!(security.can(Action::ReadAudit, &Target::territory(&city)).is_err());
        // Who keeps the settings grants no post and manages no account; who does changes no
        // setting.
        for a in [Action::ManagePeople, Action::ManageMemberships] {
            assert!(admin.can(a, &Target::territory(&city)).is_err(), "{a:?}");
            assert!(security.can(a, &Target::territory(&city)).is_ok(), "{a:?}");
        }
        for a in
            [Action::ManageTerritory, Action::ManageOrganisation, Action::ManageCategories, Action::ManageWarningRules]
        {
            assert!(admin.can(a, &Target::territory(&city)).is_ok(), "{a:?}");
            assert!(security.can(a, &Target::territory(&city)).is_err(), "{a:?}");
        }
        assert!(!security.is_city_admin());
        assert!(auditor.can(Action::ReadAudit, &Target::territory(&city)).is_ok());
        assert!(auditor.holds_over_city(Role::Auditor) && !auditor.is_city_admin());
        // The auditor's only power beyond reading the tree: the log.
        assert_eq!(Role::Auditor.grants(), &[Action::ReadTerritory, Action::ReadOrganisation, Action::ReadAudit]);
        for (a, b) in
            [(Role::Admin, Role::Auditor), (Role::Admin, Role::SecurityAdmin), (Role::SecurityAdmin, Role::Auditor)]
        {
            assert!(a.excludes(b) && b.excludes(a), "{a:?} {b:?}");
        }
        assert!(!Role::Admin.excludes(Role::Dispatcher) && !Role::Auditor.excludes(Role::Auditor));
        assert!(
            !Role::SecurityAdmin.excludes(Role::SecurityAdmin) && !Role::SecurityAdmin.excludes(Role::CommunityStaff)
        );
    }

    #[test]
    fn role_names_round_trip() {
        for r in Role::ALL {
            assert_eq!(Role::parse(r.as_str()).unwrap(), r);
        }
        assert_eq!(Role::parse("mayor").unwrap_err().field, "role");
    }
}
