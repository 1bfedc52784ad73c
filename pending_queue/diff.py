"""Field-level diffs now live in ``common.diff`` (the record history in ``references`` uses
them too, and ``references`` must not import the queue); this module keeps the queue's
imports working."""

from common.diff import (
    CONFIG_DOWNLOAD_PATH,
    ChangeDiff,
    ChangeType,
    FieldDiff,
    NetOperation,
    apply_field_diffs,
    change_diff,
    critical_fields,
    escape_key,
    field_diffs,
    is_critical_field_diff,
    join_path,
    split_path,
)

__all__ = [
    "CONFIG_DOWNLOAD_PATH",
    "ChangeDiff",
    "ChangeType",
    "FieldDiff",
    "NetOperation",
    "apply_field_diffs",
    "change_diff",
    "critical_fields",
    "escape_key",
    "field_diffs",
    "is_critical_field_diff",
    "join_path",
    "split_path",
]
