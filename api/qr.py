"""QR images of a payload, as SVG or PNG, through the qrcode package."""

from __future__ import annotations

import io


def svg(payload: str) -> bytes:
    import qrcode
    from qrcode.image.svg import SvgPathImage

    image = qrcode.make(payload, image_factory=SvgPathImage, box_size=10, border=4)
    out = io.BytesIO()
    image.save(out)
    return out.getvalue()


def png(payload: str) -> bytes:
    # Imported on demand: PNG rendering is rare and the module is not small.
    import qrcode
    from qrcode.image.pure import PyPNGImage

    image = qrcode.make(payload, image_factory=PyPNGImage, box_size=10, border=4)
    out = io.BytesIO()
    image.save(out)
    return out.getvalue()
