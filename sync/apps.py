from django.apps import AppConfig


class SyncConfig(AppConfig):
    name = "sync"
    verbose_name = "Sync and import"

    def ready(self) -> None:
        from references.services import records_committed_hook_register
        from sync.services import records_committed

        # references cannot import sync (pending_queue → references → sync would close
        # a cycle once sync queues proposals), so sync subscribes to committed changes.
        records_committed_hook_register(records_committed)

        from references.exports import export_documents_register
        from text_models.selectors import text_models_export_documents
        from text_models.services import curation_committed_hook_register

        # Text group curation data is exported beside the records, and its changes
        # publish an export like record changes do.
        export_documents_register("text_models", text_models_export_documents)
        curation_committed_hook_register(records_committed)
