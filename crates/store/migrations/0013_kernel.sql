-- kernel: counters every app server watches. `authz_epoch` moves whenever someone's right to
-- read may have shrunk (a session ended, a post granted or ended, an account disabled, a
-- token revoked): open live-update streams then check their person again.
CREATE TABLE kernel_state (
    name TEXT PRIMARY KEY,
    value BIGINT NOT NULL
);
INSERT INTO kernel_state (name, value) VALUES ('authz_epoch', 0);
