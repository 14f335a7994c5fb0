//! Kinds of organisation (组织类型).

use crate::Invalid;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrgKind {
    /// 党组织: party committees and branches steering each territory level.
    PartyOrganisation,
    /// 政府职能部门
    Department,
    /// 街道办事处/乡镇政府
    StreetOffice,
    /// 社区居委会/村委会
    CommunityCommittee,
    /// 社会治理指挥中心
    CommandCentre,
    /// 志愿服务队
    VolunteerTeam,
    /// 新时代文明实践中心 (district) / 所 (street) / 站 (community): where volunteer service
    /// is organised.
    PracticeCentre,
    /// 公共法律服务机构
    LegalService,
    /// 系统管理
    AdminOffice,
}

impl OrgKind {
    pub const ALL: [OrgKind; 9] = [
        OrgKind::PartyOrganisation,
        OrgKind::Department,
        OrgKind::StreetOffice,
        OrgKind::CommunityCommittee,
        OrgKind::CommandCentre,
        OrgKind::VolunteerTeam,
        OrgKind::PracticeCentre,
        OrgKind::LegalService,
        OrgKind::AdminOffice,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            OrgKind::PartyOrganisation => "party_organisation",
            OrgKind::Department => "department",
            OrgKind::StreetOffice => "street_office",
            OrgKind::CommunityCommittee => "community_committee",
            OrgKind::CommandCentre => "command_centre",
            OrgKind::VolunteerTeam => "volunteer_team",
            OrgKind::PracticeCentre => "practice_centre",
            OrgKind::LegalService => "legal_service",
            OrgKind::AdminOffice => "admin_office",
        }
    }

    pub fn parse(s: &str) -> Result<OrgKind, Invalid> {
        OrgKind::ALL.into_iter().find(|k| k.as_str() == s).ok_or_else(|| {
            let names: Vec<_> = OrgKind::ALL.iter().map(|k| k.as_str()).collect();
            Invalid::new("kind", format!("`{s}` is not one of {}", names.join(", ")))
        })
    }
}
