"""The image of a storage on its page: a link that downloads it, and a form that uploads one.

A browser downloads by following the storage's own ``?format=image`` URL, which the server
answers with 303 to a signed URL; the file comes as an attachment.  Uploading is harder: a
browser cannot ``PUT``, and a form that posted the file to the storage itself would be sent
on by a 307 after the browser had sent all of it once already.  So the form posts
``multipart/form-data`` straight to a signed URL that the server made for this page (and this
person) and that takes a form: it streams the file field to the image as it arrives, then
sends the browser back to the page.  The form needs no script.  Its URL expires as every
signed URL does; the page says so (a reload gives a fresh one) and is never cached.

What the page offers comes from the HTTP layer, which holds the keys, as a :class:`Transfers`
in the page's context; without one the page shows no image section.
"""

from __future__ import annotations

from dataclasses import dataclass

from twisted.web.template import Tag, slot, tags

from ..values import byteSize
from .markup import Markup, compiled, dashed
from .words import duration

#: The name of the form's file field (what the server's form reader writes to the image).
IMAGE_FIELD = "image"


@dataclass(frozen=True)
class Transfers:
    """What a storage's page offers to move: the URL that downloads the image, the signed
    URL the upload form posts to (None while the storage is not offline), the image's size
    in bytes (None when it has none), and for how many seconds the signed URL holds."""

    download: str
    upload: str | None
    size: int | None
    validity: float


def _section(form: Tag | slot) -> Tag:
    return tags.section(
        tags.h2("Image"),
        tags.p(tags.a("Download the image", id="download", href=slot("download")),
               slot("size"), " (application/octet-stream, resumable)."),
        form, id="image-section")


_UPLOAD = compiled(_section(tags.form(
    tags.p(tags.label("New image", **dashed(for_="upload-image")), " ",
           tags.input(type="file", id="upload-image", name=IMAGE_FIELD, required="required"),
           " ", tags.button("Upload", type="submit"), class_="field"),
    tags.p("Replaces the whole image: ", slot("limit"), "a shorter file is followed by zeros. "
           "This form is good for ", slot("validity"), "; reload the page for a fresh one.",
           class_="muted"),
    id="upload", method="post", action=slot("upload"), enctype="multipart/form-data",
    **dashed(accept_charset="utf-8"))), "download", "size", "upload", "limit", "validity")

_NO_UPLOAD = compiled(_section(tags.p(slot("why"), id="no-upload", class_="muted")),
                      "download", "size", "why")


def transfersSection(transfers: Transfers) -> Markup:
    """The image section of a storage's page."""
    size = f" ({byteSize(transfers.size)})" if transfers.size is not None else ""
    if transfers.upload is not None:
        limit = f"at most {byteSize(transfers.size)}; " if transfers.size is not None else ""
        return _UPLOAD(download=transfers.download, size=size, upload=transfers.upload,
                       limit=limit, validity=duration(transfers.validity))
    why = ("To upload an image, take the storage offline first (action offline), so that "
           "nothing uses it while it is replaced.")
    return _NO_UPLOAD(download=transfers.download, size=size, why=why)
