from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class LearningConfig(AppConfig):
    name = "learning"
    verbose_name = _("Learning")

    def ready(self) -> None:
        from learning.receivers import prepare_class_variants_on_publish
        from moderation.signals import version_published

        version_published.connect(
            prepare_class_variants_on_publish, dispatch_uid="learning-class-variants"
        )
