//! Rule of virtue (德治): volunteer service, points, ratings, officials reporting to
//! residents. It holds its own small kernel, the points ledger (`ledger`), and the volunteer
//! service whose verified hours earn points (`volunteer`), and party members who register
//! with the community where they live (`party`, 双报到), and civilised-rating campaigns
//! (`campaigns`, 文明评选).

pub mod campaigns;
pub mod ledger;
pub mod party;
pub mod reports;
pub mod volunteer;
