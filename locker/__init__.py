"""Smart parcel-locker controller for conciergeries de territoire."""

__version__ = "0.1.0"
