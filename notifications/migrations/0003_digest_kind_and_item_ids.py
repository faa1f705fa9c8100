from django.db import migrations, models


class Migration(migrations.Migration):
    """Digests name what they cover generically (the composer's `kind` and row ids), so the
    notifications app knows nothing of stock changes."""

    dependencies = [
        ("notifications", "0002_telegram_delivery"),
    ]

    operations = [
        migrations.AlterModelOptions(
            name="digest",
            options={
                "ordering": ["-created_at", "-id"],
                "verbose_name": "digest",
                "verbose_name_plural": "digests",
            },
        ),
        migrations.RenameField(model_name="digest", old_name="change_ids", new_name="item_ids"),
        migrations.AlterField(
            model_name="digest",
            name="item_ids",
            field=models.JSONField(default=list, verbose_name="covered row ids"),
        ),
        migrations.AddField(
            model_name="digest",
            name="kind",
            field=models.CharField(default="stock_changes", max_length=50, verbose_name="kind"),
            preserve_default=False,
        ),
    ]
