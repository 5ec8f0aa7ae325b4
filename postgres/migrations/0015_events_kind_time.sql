-- The dashboard counts sign-ins per hour over a week: events by kind and time.
CREATE INDEX events_kind_time ON events (kind, time);
