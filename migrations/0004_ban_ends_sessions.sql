-- Banning a user ends all their sessions, however the ban is applied (an admin tool, SQL): the
-- database does it, so no code path can forget. Their access tokens stop working at once, since
-- every request checks that its session is active.
CREATE FUNCTION tasks_api_end_sessions_of_banned_user() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.banned IS TRUE AND OLD.banned IS DISTINCT FROM TRUE THEN
        UPDATE auth_session SET revoked_at = now(), revoked_reason = 'user_banned'
        WHERE user_id = NEW.id AND revoked_at IS NULL;
    END IF;
    RETURN NEW;
END
$$;

CREATE TRIGGER user_banned_ends_sessions
    AFTER UPDATE OF banned ON "user"
    FOR EACH ROW EXECUTE FUNCTION tasks_api_end_sessions_of_banned_user();
