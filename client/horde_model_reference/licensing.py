"""Licensing conclusions carried by every record (``record.licensing``).

The models live with the other record models (:mod:`model_reference_records`);
this module gives them the import path the established package uses
(``from horde_model_reference.licensing import ModelLicensing``).
"""

from horde_model_reference.model_reference_records import (
    NOASSERTION,
    UNKNOWN_LICENSING_NOTE,
    LicenseAssignment,
    LicenseEvidence,
    LicenseObligation,
    ModelLicensing,
    PermissionStatus,
    unknown_model_licensing,
)

__all__ = [
    "NOASSERTION",
    "UNKNOWN_LICENSING_NOTE",
    "LicenseAssignment",
    "LicenseEvidence",
    "LicenseObligation",
    "ModelLicensing",
    "PermissionStatus",
    "unknown_model_licensing",
]
