-- The change feed behind the RPC procedure WatchTasks: one row per created, updated or deleted
-- task, written by a trigger in the same transaction as the change, so every path (REST, RPC,
-- a cascade from a deleted user, a manual fix in psql) is recorded, and a rolled-back change is
-- not. Watchers poll it by (user_id, id > cursor); it lives in PostgreSQL, not process memory, so
-- every instance sees every change (and nothing relies on LISTEN, which poolers do not carry).
--
-- Ordering: ids come from a sequence, which hands them out before commit. Two concurrent
-- transactions on one user's tasks could commit out of id order, and a watcher that had moved its
-- cursor past the later id would never see the earlier one. The trigger therefore takes a
-- per-user transaction-scoped advisory lock before taking an id: a user's changes get their ids
-- in commit order. (Other users' changes interleave freely; a watcher only reads its own user's.)
--
-- Retention: rows older than 7 days are deleted by the service (TASK_CHANGE_RETENTION); the
-- highest id deleted per user is kept in task_change_horizon, so a watcher resuming from an older
-- cursor is told that changes were dropped (CursorExpired) instead of silently missing them.
--
-- No foreign key to "user": deleting a user cascades to its tasks, whose trigger rows must still
-- be insertable while the user row goes away; the rows age out like any other.
CREATE TABLE task_change (
    id bigserial PRIMARY KEY,
    user_id text NOT NULL,
    task_id text NOT NULL,
    kind text NOT NULL CHECK (kind IN ('created', 'updated', 'deleted')),
    -- the task as the API answers it (same fields, instants as ISO 8601 in UTC); null when deleted
    task jsonb,
    changed_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX task_change_user_idx ON task_change (user_id, id);
CREATE INDEX task_change_changed_at_idx ON task_change (changed_at);

CREATE TABLE task_change_horizon (
    user_id text PRIMARY KEY,
    -- every change of this user with an id at or below this one may have been deleted
    pruned_through bigint NOT NULL
);

-- An instant as JavaScript's toISOString writes it, which is what the REST API answers.
CREATE FUNCTION task_change_instant(value timestamptz) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT to_char(value AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')
$$;

CREATE FUNCTION task_change_snapshot(t task) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object(
        'id', t.id,
        'user_id', t.user_id,
        'title', t.title,
        'description', t.description,
        'due_datetime', task_change_instant(t.due_datetime),
        'priority', t.priority,
        'is_completed', t.is_completed,
        'created_at', task_change_instant(t.created_at),
        'updated_at', task_change_instant(t.updated_at)
    )
$$;

-- Arbitrary, fixed: the first key of the two-key advisory locks that order one user's changes.
-- (The two-key space does not overlap the one-key space of the migration lock.)
CREATE FUNCTION task_change_append(owner text, changed_task text, change_kind text, snapshot jsonb) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_advisory_xact_lock(726100, hashtext(owner));
    INSERT INTO task_change (user_id, task_id, kind, task) VALUES (owner, changed_task, change_kind, snapshot);
END
$$;

CREATE FUNCTION task_change_record() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM task_change_append(NEW.user_id, NEW.id, 'created', task_change_snapshot(NEW));
    ELSIF TG_OP = 'DELETE' THEN
        PERFORM task_change_append(OLD.user_id, OLD.id, 'deleted', NULL);
    ELSIF NEW.user_id IS DISTINCT FROM OLD.user_id OR NEW.id IS DISTINCT FROM OLD.id THEN
        -- Never done by the API. Should it happen, the old owner must lose the task (not be shown
        -- its new state), and the new owner gain it.
        PERFORM task_change_append(OLD.user_id, OLD.id, 'deleted', NULL);
        PERFORM task_change_append(NEW.user_id, NEW.id, 'created', task_change_snapshot(NEW));
    ELSE
        PERFORM task_change_append(NEW.user_id, NEW.id, 'updated', task_change_snapshot(NEW));
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER task_change_record
AFTER INSERT OR UPDATE OR DELETE ON task
FOR EACH ROW EXECUTE FUNCTION task_change_record();
