from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("courses", "0002_studio"),
    ]

    operations = [
        migrations.AddField(
            model_name="lessonversion",
            name="voice_engine",
            field=models.CharField(blank=True, max_length=40, verbose_name="speech engine"),
        ),
        migrations.AddField(
            model_name="lessonversion",
            name="voice_name",
            field=models.CharField(blank=True, max_length=80, verbose_name="voice"),
        ),
        migrations.AddField(
            model_name="lessonversion",
            name="voice_rate",
            field=models.FloatField(default=1.0, verbose_name="speaking rate"),
        ),
    ]
