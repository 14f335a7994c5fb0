//! Rule of virtue (德治): volunteer service, points, ratings, officials reporting to
//! residents. This round holds its own small kernel, the points ledger (`ledger`).

pub mod ledger;
