"""ECGrid REST v2.6 on the shared core: ``from as2gw_async import ecgrid``.

>>> async with ecgrid.Session(api_key=key) as s:  # doctest: +SKIP
...     async for p in s.parcels.pending():
...         await s.parcels.download(p.parcel_id, "in/")
...         await s.parcels.confirm(p.parcel_id)
"""

from .envelope import ERROR_CLASSES, RETRY_POLICY
from .models import Interchange, ManifestEntry, Parcel, ParcelStatus
from .session import DEFAULT_BASE_URL, Session

__all__ = [
    "DEFAULT_BASE_URL",
    "ERROR_CLASSES",
    "RETRY_POLICY",
    "Interchange",
    "ManifestEntry",
    "Parcel",
    "ParcelStatus",
    "Session",
]
