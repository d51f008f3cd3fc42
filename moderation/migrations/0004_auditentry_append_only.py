"""On PostgreSQL, the database itself refuses to change or delete an audit entry: only the
SET NULL of its actor, when that user is deleted, may touch a row (the name stays)."""

from django.db import migrations

CREATE = """
CREATE OR REPLACE FUNCTION moderation_auditentry_append_only() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND OLD.actor_id IS NOT NULL AND NEW.actor_id IS NULL
       AND (NEW.id, NEW.created_at, NEW.actor_name, NEW.action, NEW.detail, NEW.target,
            NEW.subject_ids, NEW.path, NEW.note)
           IS NOT DISTINCT FROM
           (OLD.id, OLD.created_at, OLD.actor_name, OLD.action, OLD.detail, OLD.target,
            OLD.subject_ids, OLD.path, OLD.note) THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'audit entries are append-only (% refused)', TG_OP;
END
$$ LANGUAGE plpgsql;
CREATE TRIGGER moderation_auditentry_append_only
    BEFORE UPDATE OR DELETE ON moderation_auditentry
    FOR EACH ROW EXECUTE FUNCTION moderation_auditentry_append_only();
"""
DROP = """
DROP TRIGGER IF EXISTS moderation_auditentry_append_only ON moderation_auditentry;
DROP FUNCTION IF EXISTS moderation_auditentry_append_only();
"""


def _on_postgresql(sql: str):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(sql, params=None)  # no placeholders: % is plpgsql

    return run


class Migration(migrations.Migration):
    dependencies = [("moderation", "0003_auditentry_unlabelled_export")]

    operations = [
        migrations.RunPython(_on_postgresql(CREATE), _on_postgresql(DROP)),
    ]
