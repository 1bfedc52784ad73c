from django.apps import AppConfig


class TextModelsConfig(AppConfig):
    name = "text_models"
    verbose_name = "Text model groups"
