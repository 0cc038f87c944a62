-- One index per sort order of the list endpoint, each ending in id (the tie-breaker), so a
-- user's page is an index scan whatever sort_by is, in either direction.
CREATE INDEX IF NOT EXISTS task_user_created_idx ON task (user_id, created_at, id);
CREATE INDEX IF NOT EXISTS task_user_updated_idx ON task (user_id, updated_at, id);
CREATE INDEX IF NOT EXISTS task_user_due_idx ON task (user_id, due_datetime, id);
CREATE INDEX IF NOT EXISTS task_user_priority_idx ON task (user_id, priority, id);
CREATE INDEX IF NOT EXISTS task_user_title_idx ON task (user_id, title, id);
