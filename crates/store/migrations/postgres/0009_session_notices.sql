-- What one page of a session leaves for the next one it redirects to (post/redirect/get): read
-- once, then gone; a new access token is shown this way exactly once.
CREATE TABLE session_notices (
    session_sha256 TEXT NOT NULL,
    kind TEXT NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (session_sha256, kind)
);
