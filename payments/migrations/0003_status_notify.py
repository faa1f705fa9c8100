"""PostgreSQL announces every change of what a status document holds on `vk_payment_intent`
(payments/status_cache.py): the intent's id on UPDATE of those columns and on DELETE, `*` on
TRUNCATE. `pg_notify` is transactional: the notice goes out when the change commits."""

from django.db import migrations

FORWARD = """
CREATE FUNCTION payments_intent_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'TRUNCATE' THEN
        PERFORM pg_notify('vk_payment_intent', '*');
        RETURN NULL;
    END IF;
    PERFORM pg_notify('vk_payment_intent', OLD.id::text);
    RETURN NULL;
END
$$;
CREATE TRIGGER payments_intent_status_changed
    AFTER UPDATE ON payments_paymentintent FOR EACH ROW
    WHEN (
        (OLD.id, OLD.session_id, OLD.status, OLD.amount, OLD.currency, OLD.qr_code_data,
         OLD.expires_at)
        IS DISTINCT FROM
        (NEW.id, NEW.session_id, NEW.status, NEW.amount, NEW.currency, NEW.qr_code_data,
         NEW.expires_at)
    )
    EXECUTE FUNCTION payments_intent_notify();
CREATE TRIGGER payments_intent_deleted
    AFTER DELETE ON payments_paymentintent FOR EACH ROW
    EXECUTE FUNCTION payments_intent_notify();
CREATE TRIGGER payments_intent_truncated
    AFTER TRUNCATE ON payments_paymentintent FOR EACH STATEMENT
    EXECUTE FUNCTION payments_intent_notify();
"""

BACKWARD = """
DROP TRIGGER IF EXISTS payments_intent_truncated ON payments_paymentintent;
DROP TRIGGER IF EXISTS payments_intent_deleted ON payments_paymentintent;
DROP TRIGGER IF EXISTS payments_intent_status_changed ON payments_paymentintent;
DROP FUNCTION IF EXISTS payments_intent_notify();
"""


class Migration(migrations.Migration):
    dependencies = [("payments", "0002_hold_capture_receipts_prices")]

    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
