"""Property: no request, however malformed, gets a 500 or changes state when refused."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from .support import INFRA, Client, synchronously

PATHS = ["/", "/-/", "/compute/", "/storage/", "/network/", "/networkinterface/",
         "/resource_tpl/small/", "/compute/seed", "/compute/seed?action=start",
         "/compute/seed?action=nope", "/compute/?action=stop", "/nothing", "/compute/%00"]
TYPES = ["text/plain", "text/occi", "application/occi+json", "application/json",
         "application/x-www-form-urlencoded", "text/uri-list", "image/png", ""]
LINES = st.sampled_from([
    f'Category: compute; scheme="{INFRA}"; class="kind"',
    f'Category: storage; scheme="{INFRA}"; class="kind"',
    'Category: start; scheme="http://schemas.ogf.org/occi/infrastructure/compute/action#"',
    'Category: tag; scheme="http://x.example/t#"; class="mixin"; location="/tag/"',
    "X-OCCI-Attribute: occi.compute.cores=2",
    'X-OCCI-Attribute: occi.compute.cores="x"',
    "X-OCCI-Attribute: occi.storage.size=1e999",
    'X-OCCI-Attribute: occi.core.id="seed"',
    "X-OCCI-Location: /compute/seed",
    'Link: </network/none>; rel="x"',
    "compute.cores=2&compute.memory=3",
    '{"kind": "' + INFRA + 'compute", "attributes": {"occi.compute.cores": "many"}}',
])
BODIES = st.one_of(
    st.binary(max_size=300),
    st.text(max_size=300).map(str.encode),
    st.lists(st.one_of(LINES, st.text(max_size=40)), max_size=6).map(
        lambda lines: "\n".join(lines).encode()),
)


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(method=st.sampled_from(["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH"]),
       path=st.sampled_from(PATHS), contentType=st.sampled_from(TYPES),
       accept=st.sampled_from([*TYPES, "*/*", "text/*;q=0.5, bogus"]),
       body=BODIES,
       category=st.one_of(st.none(), st.text(max_size=60)))
def test_no_500_and_refusals_change_nothing(method: str, path: str, contentType: str,
                                             accept: str, body: bytes,
                                             category: str | None) -> None:
    synchronously(_oneRequest(method, path, contentType, accept, body, category))


async def _oneRequest(method: str, path: str, contentType: str, accept: str, body: bytes,
                      category: str | None) -> None:
    client = Client()
    await client.request("PUT", "/compute/seed",
                         f'Category: compute; scheme="{INFRA}"; class="kind"\n',
                         Content_Type="text/plain")
    before = await client.everything()
    headers = {"Accept": accept}
    if contentType:
        headers["Content_Type"] = contentType
    if category is not None:
        headers["Category"] = category.replace("\n", " ").replace("\r", " ")
    answer = await client.request(method, path, body, **headers)
    assert answer.code < 500, (answer.code, answer.text)
    if answer.code >= 400:
        assert await client.everything() == before
        assert "Traceback" not in answer.text
