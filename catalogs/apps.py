from django.apps import AppConfig


class CatalogsConfig(AppConfig):
    name = "catalogs"
    verbose_name = "Catalogs (text guidance, image baselines)"
    default_auto_field = "django.db.models.BigAutoField"
