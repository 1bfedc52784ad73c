"""Records are served in the 2.1 shape (``licensing`` on every record, ``guidance`` on text).

The served bytes changed without any record changing, so every category gets a new
revision and ETag token: a client's cached ETag (or disk cache) from before must not
match, or it would keep the 2.0 document until the next edit.
"""

import uuid

from django.db import migrations


def new_revisions(apps, schema_editor):
    CategoryState = apps.get_model("references", "CategoryState")
    for state in CategoryState.objects.all():
        state.revision += 1
        state.etag = f"{state.revision}-{uuid.uuid4().hex[:16]}"
        state.save(update_fields=["revision", "etag"])


class Migration(migrations.Migration):
    dependencies = [
        ("references", "0002_category_metadata"),
    ]

    operations = [
        migrations.RunPython(new_revisions, migrations.RunPython.noop),
    ]
