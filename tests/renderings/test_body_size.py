"""How large a body may be is one limit, the operator's ``--max-body``, enforced by the HTTP
layer before a parser sees the body: no parser has a size limit of its own, so each reads
whatever that layer lets through (here 3 MiB, beyond the 1 MiB and 2 MiB the renderings
once had), while their limits on lines, values and nesting still bound the work."""

from __future__ import annotations

import pytest

from occi_twisted.renderings import form, standard
from occi_twisted.renderings.document import EntityView

from .support import CONTEXT, compute

SIZE = 3 * 1024 * 1024
#: Padding each rendering reads as nothing: lines of blanks, within the longest line.
BLANK_LINES = (b" " * 200_000 + b"\n") * (SIZE // 200_000 + 1)


@pytest.mark.parametrize("mediaType", [t for t in standard.inputTypes()
                                       if t != form.MEDIA_TYPE])
def test_a_body_of_any_size_is_read_by_what_it_says(mediaType: str) -> None:
    written = standard.renderer("text/plain" if mediaType == "text/occi" else mediaType)
    rendered = written.entity(EntityView(compute()), CONTEXT).body
    parser = standard.parser(mediaType)
    assert parser is not None
    padded = rendered + b"\n" + BLANK_LINES
    assert len(padded) > SIZE
    assert parser(padded, {}) == parser(rendered, {})


def test_a_form_of_any_size_is_read_by_what_it_says() -> None:
    fields = b"kind=compute&compute.cores=2"
    assert form.parse(fields + b"&" * SIZE) == form.parse(fields)
