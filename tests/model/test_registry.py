"""The registry: categories by identifier and location, and how they relate."""

from __future__ import annotations

from occi_twisted.model import Category, Mixin, Registry
from occi_twisted.model.infrastructure import (
    COMPUTE,
    DEBIAN,
    INFRA,
    OS_TPL,
    RESOURCE_TPL,
    SMALL,
    START,
    STOP,
    STORAGE,
    UP,
)


def _terms(registry: Registry, category: Category) -> set[str]:
    return {found.term for found in registry.related(category)}


def test_a_kind_is_related_to_its_actions_and_the_mixins_that_name_it() -> None:
    registry = Registry.standard()
    tag = registry.defineUserMixin(Mixin("http://example.com/tags#", "tag",
                                         location="/tag/", owner="alice"))
    related = _terms(registry, COMPUTE)
    assert {"compute", START.term, STOP.term, OS_TPL.term, SMALL.term, DEBIAN.term} <= related
    # Another kind, another kind's action, and a tag that applies to anything are not.
    assert not {STORAGE.term, "resource", UP.term, tag.term} & related


def test_a_mixin_is_related_to_what_it_depends_on_applies_to_and_what_depends_on_it() -> None:
    registry = Registry.standard()
    assert _terms(registry, SMALL) == {"small", RESOURCE_TPL.term, "compute"}
    assert _terms(registry, OS_TPL) == {"compute", "os_tpl", "debian-12", "ubuntu-24.04",
                                        "alpine-3.20"}


def test_an_action_is_related_to_the_categories_that_define_it() -> None:
    assert _terms(Registry.standard(), START) == {"compute", "start"}


def test_an_identifier_the_documents_misspell_names_what_they_mean() -> None:
    """GFD.225 Appendix A.5 depends on ``infrastructure#resourcetpl`` (GFD.224:
    ``resource_tpl``)."""
    registry = Registry.standard()
    assert registry.get(INFRA + "resourcetpl") is RESOURCE_TPL
    assert registry.get(INFRA + "ostpl") is None
