//! The demo city's rule of virtue, made through the use cases as the demo's people would:
//! 花园路社区 keeps an earning rule for volunteer hours and stocks its points shop; its
//! practice station recruits for two activities next week (one approves its volunteers); the
//! resident has signed up for the first; the community has posted a small wish from a
//! household visit, with the resident's consent; its 文明家庭 campaign takes nominations, the
//! resident's among them.

use super::campaigns::{NewCampaign, NewNomination, create as open_campaign, nominate};
use super::volunteers::{NewActivity, create_activity, sign_up};
use super::wishes::{NewWish, post};
use super::{NewItem, NewRule, create_item, create_rule};
use crate::demo::actor_of;
use crate::{App, AppError, Result};

const COMMUNITY: &str = "120101001001";
const DAY: i64 = 86_400_000;
const HOUR: i64 = 3_600_000;

/// Seeds it; returns how many records were made.
pub async fn seed(app: &App) -> Result<usize> {
    let staff = actor_of(app, "community").await?;
    let resident = actor_of(app, "resident").await?;
    let rule = create_rule(
        app,
        &staff,
        NewRule {
            territory_code: COMMUNITY.into(),
            code: "volunteer_hour".into(),
            name: "志愿服务每小时".into(),
            points: 5,
            publicity_days: 3,
            valid_days: Some(365),
        },
    )
    .await?;
    for (name, price, stock) in [("洗衣液", 30, 20), ("大米 5 斤", 50, 10), ("理发券", 20, 30)] {
        create_item(app, &staff, NewItem { territory_code: COMMUNITY.into(), name: name.into(), price, stock }).await?;
    }
    let station = {
        let mut conn = app.db.read().await?;
        wuzhi_store::org::find(&mut conn, COMMUNITY, "花园路社区新时代文明实践站")
            .await?
            .ok_or_else(|| AppError::not_found("the demo's practice station"))?
    };
    // Next week, at 09:00 in the city's time.
    let now = app.now_ms();
    let morning = (now + 8 * HOUR) / DAY * DAY - 8 * HOUR + 9 * HOUR;
    let activities = [
        (
            "关爱独居老人上门服务",
            "为辖区独居老人打扫卫生、陪伴聊天、检查用电安全",
            "花园路社区党群服务中心集合",
            2,
            10,
            "陪伴、保洁、电工",
            true,
        ),
        ("垃圾分类桶前值守", "早高峰在小区垃圾投放点引导居民分类投放", "花园路小区东门投放点", 3, 6, "", false),
    ];
    let mut made = 4;
    for (i, (title, description, place, days, capacity, skills, approval)) in activities.into_iter().enumerate() {
        let starts = morning + days * DAY;
        let a = create_activity(
            app,
            &staff,
            NewActivity {
                organiser_org_id: station,
                territory_code: None,
                title: title.into(),
                description: description.into(),
                place: place.into(),
                starts_at_ms: starts,
                ends_at_ms: starts + 2 * HOUR,
                capacity,
                skills: skills.into(),
                approval,
                rule_id: Some(rule.id),
            },
        )
        .await?;
        made += 1;
        if i == 1 {
            sign_up(app, &resident, a.id, "").await?;
            made += 1;
        }
    }
    post(
        app,
        &staff,
        NewWish {
            territory_code: "120101001001002".into(),
            title: "为独居老人添置一台电暖器".into(),
            description: "老人家中取暖设备损坏，希望添置一台小型电暖器过冬".into(),
            value_yuan: 200,
            beneficiary_person_id: None,
            consent: "入户走访时本人同意发布".into(),
        },
    )
    .await?;
    let campaign = open_campaign(
        app,
        &staff,
        NewCampaign {
            territory_code: COMMUNITY.into(),
            kind: "person".into(),
            honour: "最美邻里".into(),
            title: "花园路社区“最美邻里”评选".into(),
            criteria: "热心助人、邻里和睦、积极参与社区公益和志愿服务".into(),
            places: 5,
            nominations_close_ms: morning + 14 * DAY,
            vote_days: Some(7),
            publicity_days: Some(7),
            rule_id: None,
        },
    )
    .await?;
    nominate(
        app,
        &resident,
        campaign.id,
        NewNomination {
            by: "self".into(),
            nominee_phone: None,
            nominee_name: None,
            nominee_person_id: None,
            nominee_territory: None,
            deeds: "连续三年参加楼门垃圾分类值守，帮助独居老人代购生活用品".into(),
        },
    )
    .await?;
    Ok(made + 3)
}
