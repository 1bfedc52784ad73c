from django.apps import AppConfig


class CatalogsConfig(AppConfig):
    name = "catalogs"
    verbose_name = "Catalogs (text guidance, image baselines)"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from audit.services import audit_actions_register
        from catalogs.models import CatalogAction

        audit_actions_register(actions=CatalogAction.values)
