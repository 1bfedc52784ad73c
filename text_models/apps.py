from django.apps import AppConfig

#: The audit actions of the text group curation (each recorded as ``text_models.<name>``).
TEXT_MODELS_ACTIONS = (
    "aliases_set",
    "alias_added",
    "alias_removed",
    "aliases_deleted",
    "family_set",
    "family_member_added",
    "family_member_removed",
    "family_deleted",
    "name_schema_set",
    "name_schema_deleted",
    "group_common_fields_proposed",
)


class TextModelsConfig(AppConfig):
    name = "text_models"
    verbose_name = "Text model groups"

    def ready(self) -> None:
        from audit.services import audit_actions_register

        audit_actions_register(actions=[f"text_models.{action}" for action in TEXT_MODELS_ACTIONS])
