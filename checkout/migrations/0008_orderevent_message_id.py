# Timeline entries stored language-neutral: the gettext message id and its parameters,
# translated on display. Existing rows keep their text in ``message`` and show it as it is.

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("checkout", "0007_attempt_order_user"),
    ]

    operations = [
        migrations.AddField(
            model_name="orderevent",
            name="message_id",
            field=models.TextField(blank=True, verbose_name="message id"),
        ),
        migrations.AddField(
            model_name="orderevent",
            name="message_params",
            field=models.JSONField(blank=True, default=dict, verbose_name="message parameters"),
        ),
    ]
