from django.apps import AppConfig


class CatalogsConfig(AppConfig):
    name = "catalogs"
    verbose_name = "Catalogs (text guidance, image baselines)"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from audit.services import audit_actions_register
        from catalogs.models import CatalogAction
        from catalogs.selectors import published_guidance
        from references.exports import published_guidance_provider_register

        audit_actions_register(actions=CatalogAction.values)
        # Text records are served with the assignments this catalog publishes.
        published_guidance_provider_register(published_guidance)
