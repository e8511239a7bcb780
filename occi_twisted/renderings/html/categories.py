"""The query interface as a page: every kind, mixin and action, with its attributes."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from twisted.web.template import Flattenable, Tag, slot, tags

from ...model import Action, AttributeDefinition, Category, Kind, Mixin
from ..document import RenderContext
from .layout import page
from .markup import Markup, Memo, compiled, dashed, flattened
from .shapes import queryLink
from .words import number, slug, uri, valueText

_SECTIONS = (("kind", "Kinds"), ("mixin", "Mixins"), ("action", "Actions"))
_COLUMNS = ("Attribute", "Type", "Mutable", "Required", "Default", "Constraints", "Description")


def _yesNo(value: bool) -> str:
    return "yes" if value else "no"


def _definitionsTable(definitions: Iterable[AttributeDefinition]) -> Tag:
    rows = []
    for d in definitions:
        constraints = []
        if d.enum:
            constraints.append("one of " + ", ".join(d.enum))
        if d.minimum is not None:
            constraints.append(f"at least {number(d.minimum)}")
        if d.maximum is not None:
            constraints.append(f"at most {number(d.maximum)}")
        if d.pattern is not None:
            constraints.append(f"matches {d.pattern}")
        rows.append(tags.tr(
            tags.th(d.name, scope="row"), tags.td(d.type.value), tags.td(_yesNo(d.mutable)),
            tags.td(_yesNo(d.required)),
            tags.td(valueText(d.default) if d.default is not None else ""),
            tags.td("; ".join(constraints)), tags.td(d.description),
            **dashed(data_attribute=d.name)))
    return tags.table(tags.thead(tags.tr([tags.th(name, scope="col") for name in _COLUMNS])),
                      tags.tbody(rows), class_="definitions")


def _categoryLinks(categories: Iterable[Kind | Mixin | Action]) -> list[Flattenable]:
    links: list[Flattenable] = []
    for category in categories:
        links += [", ", queryLink(category)] if links else [queryLink(category)]
    return links


def _fact(term: str, *definition: Flattenable) -> list[Tag]:
    return [tags.dt(term), tags.dd(*definition)]


_articles: Memo[Markup] = Memo()


def _categoryArticle(category: Category) -> Markup:
    return _articles.get((category,), lambda: flattened(_article(category)))


def _article(category: Category) -> Tag:
    facts = _fact("Identifier", tags.code(category.identifier))
    if isinstance(category, (Kind, Mixin)):
        if category.location:
            facts += _fact("Collection", tags.a(uri(category.location),
                                                href=uri(category.location)))
        if isinstance(category, Kind) and category.parent is not None:
            facts += _fact("Parent", _categoryLinks([category.parent]))
        if isinstance(category, Mixin):
            if category.depends:
                facts += _fact("Depends on", _categoryLinks(category.depends))
            if category.applies:
                facts += _fact("Applies to", _categoryLinks(category.applies))
        if category.actions:
            facts += _fact("Actions", _categoryLinks(category.actions))
    return tags.article(
        tags.h3(category.term),
        tags.p(category.title) if category.title else "",
        tags.dl(facts),
        _definitionsTable(category.attributes) if category.attributes else "",
        class_=f"category {category.categoryClass}", id=slug(category),
        **dashed(data_identifier=category.identifier))


def categoriesPage(categories: Sequence[Category], context: RenderContext) -> bytes:
    groups: dict[str, list[Markup]] = {cls: [] for cls, _ in _SECTIONS}
    for category in categories:
        group = groups.get(category.categoryClass)
        if group is not None:
            group.append(_categoryArticle(category))
    intro = flattened([
        tags.h1("Query interface", id="title"),
        tags.p("Every kind, mixin and action this server knows, with their attributes: ",
               tags.a("kinds", href="#kinds"), ", ", tags.a("mixins", href="#mixins"), ", ",
               tags.a("actions", href="#actions"), "."),
    ])
    sections = [
        compiled(tags.section(tags.h2(f"{heading} ({len(groups[cls])})"), slot("articles"),
                              id=f"{cls}s"), "articles")(articles=Markup(b"".join(groups[cls])))
        for cls, heading in _SECTIONS
    ]
    return page("Query interface", context, intro, *sections)
