-- Alerts and the notices sent about them (energy_ingest.health.alerts, .outbox).
--
-- An alert is one condition on one subject (a series, a point, a building, a rule's point):
-- pending when first found, firing once it has held long enough, resolved when it has been clear
-- long enough (hysteresis). At most one alert per (kind, subject) is not resolved.
CREATE TABLE alerts (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind          text NOT NULL,                 -- overdue, stale, building_stale, flat,
                                                 -- out_of_range, spike, rule
    subject       text NOT NULL,                 -- e.g. 'series:3', 'point:42', 'rule:2:point:42'
    priority      text NOT NULL CHECK (priority IN ('high', 'normal')),
    state         text NOT NULL CHECK (state IN ('pending', 'firing', 'resolved')),
    summary       text NOT NULL,                 -- one line, for mail subjects and logs
    details       jsonb NOT NULL DEFAULT '{}',
    link          text,                          -- where to look (an API path or the rule's url)
    series_id     integer REFERENCES report_series (id),
    point_id      integer REFERENCES points (id),
    building_id   integer REFERENCES buildings (id),
    rule_id       integer REFERENCES rules (id),
    opened_at     timestamptz NOT NULL,          -- first found (pending from then)
    fired_at      timestamptz,                   -- became firing
    last_seen     timestamptz NOT NULL,          -- the last evaluation that found it
    clear_since   timestamptz,                   -- first evaluation since then that did not
    resolved_at   timestamptz,
    notified_at   timestamptz,                   -- last notice about it (firing or reminder)
    suppressed_by bigint REFERENCES alerts (id)  -- inhibited by this alert (no notices); a
                  ON DELETE SET NULL             -- pending alert no longer found is deleted
);
CREATE UNIQUE INDEX alerts_open_key ON alerts (kind, subject) WHERE state <> 'resolved';
CREATE INDEX alerts_state_idx ON alerts (state, opened_at DESC);

-- The outbox: each notice is stored, in the evaluation's transaction, before it is sent, and
-- marked sent once the mail server or webhook accepted it; a failed send is retried later.
CREATE TABLE notices (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    channel    text NOT NULL CHECK (channel IN ('mail', 'webhook')),
    kind       text NOT NULL CHECK (kind IN ('immediate', 'digest')),
    created_at timestamptz NOT NULL,
    subject    text NOT NULL,
    body       text NOT NULL,                    -- the mail's text
    payload    jsonb NOT NULL,                   -- the webhook's JSON (alerts new, resolved, still open)
    attempts   integer NOT NULL DEFAULT 0,
    next_try   timestamptz NOT NULL,
    last_error text,
    sent_at    timestamptz
);
CREATE INDEX notices_unsent_idx ON notices (id) WHERE sent_at IS NULL;  -- oldest first

DO $$
BEGIN
    IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'energy_reader') THEN
        GRANT SELECT ON alerts TO energy_reader;
    END IF;
END
$$;
