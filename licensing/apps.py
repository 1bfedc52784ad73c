from django.apps import AppConfig


class LicensingConfig(AppConfig):
    name = "licensing"
    verbose_name = "Licensing catalog"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from audit.services import audit_actions_register
        from licensing.models import LicensingAction

        audit_actions_register(actions=LicensingAction.values)
