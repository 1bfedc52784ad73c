from django.apps import AppConfig


class SyncConfig(AppConfig):
    name = "sync"
    verbose_name = "Sync and import"

    def ready(self) -> None:
        from catalogs.selectors import catalogs_export_documents
        from licensing.selectors import licensing_export_documents
        from references.exports import export_documents_provider_register
        from references.services import records_committed_hook_register
        from sync.services import records_committed
        from text_models.selectors import text_models_export_documents

        # references cannot import sync (pending_queue → references → sync would close
        # a cycle once sync queues proposals), so sync subscribes to committed changes.
        records_committed_hook_register(records_committed)
        # Every export writes the catalogs beside the records and lists them in its manifest.
        export_documents_provider_register(catalogs_export_documents)
        export_documents_provider_register(licensing_export_documents)
        export_documents_provider_register(text_models_export_documents)
