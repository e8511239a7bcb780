"""One rule for entity ids (``model/ids.py``): the model, the HTTP create and PUT paths and
the disk engine take the same ids, so every storage the model accepts gets its image."""

from __future__ import annotations

from pathlib import Path

import pytest
import pytest_twisted as pt
from hypothesis import example, given
from hypothesis import strategies as st
from twisted.internet import reactor

from occi_twisted.drivers.disks import DiskDriver
from occi_twisted.drivers.storage import DiskImages
from occi_twisted.drivers.storage.errors import InvalidStorageArgument
from occi_twisted.model import Description, newEntity
from occi_twisted.model.errors import InvalidAttribute
from occi_twisted.model.ids import isEntityId
from occi_twisted.model.infrastructure import STORAGE

from ..http.support import INFRA, Client

#: Ids as clients write them: what a path segment, a file name or a shell make special.
IDS = st.text(st.sampled_from("aZ09._~:@-/\\ %?#+=!$&'()*,;[]\x00\u00e9"), max_size=140) | \
    st.sampled_from(["a~b", "vol:1", "me@host", "~a", ".a", "..", "-a", "a" * 128, "a" * 129,
                     "a/b", "a\\b", "", "A.b_c-d~e:f@g"])


def modelTakes(storageId: str) -> bool:
    try:
        newEntity(Description(kind=STORAGE, attributes={"occi.storage.size": 1}),
                  entityId=storageId, kind=STORAGE)
    except InvalidAttribute:
        return False
    return True


def diskTakes(images: DiskImages, storageId: str) -> bool:
    try:
        images.imagePath(storageId)
    except InvalidStorageArgument:
        return False
    return True


@given(IDS)
@example("a~b")
def test_the_model_and_the_disk_engine_take_the_same_ids(storageId: str) -> None:
    images = DiskImages("/nonexistent")
    assert modelTakes(storageId) == diskTakes(images, storageId) == isEntityId(storageId)
    if isEntityId(storageId):  # and its files stay where they belong
        for path in (images.imagePath(storageId), images.snapshotPath(storageId, "s"),
                     images.backupPath(storageId, "b")):
            assert path.resolve().is_relative_to(Path("/nonexistent").resolve())
            assert path.parent.name in ("storage", storageId)


@pytest.mark.parametrize("storageId", ["vol~1", "vol:1", "me@host"])
@pt.ensureDeferred
async def test_a_storage_put_at_any_id_the_model_takes_gets_its_image(
        tmp_path: Path, storageId: str) -> None:
    client = Client(clock=reactor, disks=DiskDriver(DiskImages(tmp_path), reactor))
    client.driver.start()
    try:
        made = await client.request(
            "PUT", f"/storage/{storageId}",
            f'Category: storage; scheme="{INFRA}"; class="kind"\n'
            "X-OCCI-Attribute: occi.storage.size=0.001\n",
            Content_Type="text/plain", Accept="text/plain")
        assert made.code == 201, made.text
        assert (tmp_path / "storage" / f"{storageId}.img").exists()
    finally:
        await client.driver.stop()


@pt.ensureDeferred
async def test_an_id_outside_the_rule_is_refused_with_the_rule() -> None:
    client = Client()
    refused = await client.request("PUT", "/compute/-a",
                                   f'Category: compute; scheme="{INFRA}"; class="kind"\n',
                                   Content_Type="text/plain", Accept="text/plain")
    assert refused.code == 400
    assert "1-128 letters, digits" in refused.text and "'-a'" in refused.text


def test_an_id_written_as_a_number_is_its_text() -> None:
    """JSON and the text renderings may spell an id as a number; the rule is for its text."""
    for written, id_ in ((123, "123"), (2.5, "2.5")):
        entity = newEntity(Description(kind=STORAGE, attributes={
            "occi.core.id": written, "occi.storage.size": 1}), kind=STORAGE)
        assert entity.id == id_
    with pytest.raises(InvalidAttribute, match="1-128 letters"):
        newEntity(Description(kind=STORAGE, attributes={"occi.core.id": "-1",
                                                        "occi.storage.size": 1}))
