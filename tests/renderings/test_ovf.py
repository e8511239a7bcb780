"""A compute as an OVF envelope (application/ovf+xml), and envelopes read back.

Our envelopes are valid against DMTF's schema (DSP8023, kept in ``ovf/`` with the schemas it
imports, validated offline by libxml2 through lxml) and the same bytes for the same compute;
what we write reads back as it was; envelopes VMware, VirtualBox and an appliance vendor wrote
read as they mean; and no body, however malformed or hostile, makes the reader raise anything
but BadRequest.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from occi_twisted.model.errors import BadRequest
from occi_twisted.renderings.ovf import (
    MAX_ENVELOPE,
    MEDIA_TYPE,
    RAW_FORMAT,
    OvfDisk,
    OvfNetwork,
    OvfNic,
    OvfSystem,
    parseOVF,
    renderOVF,
)

from .strategies import damages

ARTEFACTS = Path(__file__).parent / "ovf"
OVF = "http://schemas.dmtf.org/ovf/envelope/1"
RASD = "http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_ResourceAllocationSettingData"
VMDK = "http://www.vmware.com/interfaces/specifications/vmdk.html#streamOptimized"
#: Reads the schemas, and our envelopes, from disk only: no network, no entities.
_PARSER = etree.XMLParser(no_network=True, resolve_entities=False)
SCHEMA = etree.XMLSchema(etree.parse(str(ARTEFACTS / "dsp8023_1.0.0.xsd"), _PARSER))


def schemaErrors(envelope: bytes) -> list[str]:
    valid = SCHEMA.validate(etree.fromstring(envelope, _PARSER))
    return [] if valid else [str(error) for error in SCHEMA.error_log]


def bare(cores: int = 1, memoryMiB: int = 512) -> OvfSystem:
    return OvfSystem("vm1", "vm1", cores, memoryMiB)


COMPUTES = {
    "no disks, no interfaces": bare(),
    "disks and interfaces": OvfSystem(
        "c0ffee", "web server", 4, 8192, "x64", "web01",
        disks=(OvfDisk("root", 20 << 30, title="root disk"), OvfDisk("data", 100 << 30),
               OvfDisk("scratch", 1 << 20, title="scratch")),
        nics=(OvfNic("eth0", "public", "52:54:00:12:34:56"), OvfNic("eth1", "private"),
              OvfNic("eth2", "")),
        networks=(OvfNetwork("public", "The Internet"), OvfNetwork("private")),
        description="Serves the web site.\nTwo lines."),
    "non-ASCII names": OvfSystem(
        "vm-ü", "Déjà vu ☃ 虚拟机", 2, 1024, "x86", "hôte",
        disks=(OvfDisk("disque-é", 1 << 30, "disque-é.img", 1 << 30, "Données 💾"),),
        nics=(OvfNic("carte réseau", "réseau ✓", "52:54:00:aa:bb:cc"),),
        networks=(OvfNetwork("réseau ✓", "Réseau privé <interne> & sûr"),),
        description="Ça marche « très » bien"),
    "file references (an OVA)": OvfSystem(
        "vm2", "packed", 1, 256,
        disks=(OvfDisk("d0", 10 << 30, "d0.img", 123456789), OvfDisk("d1", 512, "d1.img"),
               OvfDisk("blank", 1 << 30)),
        nics=(OvfNic("nic0", "lan"),), networks=(OvfNetwork("lan"),)),
    "a disk in a format other than raw": OvfSystem(
        "vm3", "vmdk", 1, 256, disks=(OvfDisk("d0", 1 << 30, "d0.vmdk", 42, None, VMDK),)),
    "two disk controllers": OvfSystem(
        "vm4", "many disks", 8, 65536,
        disks=tuple(OvfDisk(f"disk{n}", (n + 1) << 30) for n in range(20))),
}


# -- rendering ------------------------------------------------------------------------------


def test_the_media_type() -> None:
    assert MEDIA_TYPE == "application/ovf+xml"


@pytest.mark.parametrize("name", sorted(COMPUTES))
def test_renders_are_valid_against_the_dmtf_schema(name: str) -> None:
    assert schemaErrors(renderOVF(COMPUTES[name])) == []


def test_the_schema_does_catch_an_invalid_envelope() -> None:
    """The check above checks something: an item without its required InstanceID fails."""
    envelope = renderOVF(bare()).replace(b"<rasd:InstanceID>1</rasd:InstanceID>", b"", 1)
    assert any("InstanceID" in error for error in schemaErrors(envelope))


def test_the_same_compute_gives_the_same_bytes() -> None:
    compute = COMPUTES["disks and interfaces"]
    copy = OvfSystem(**{field: getattr(compute, field)
                        for field in compute.__dataclass_fields__})
    assert renderOVF(compute) == renderOVF(copy)


def items(envelope: bytes) -> list[dict[str, list[str]]]:
    root = etree.fromstring(envelope, _PARSER)
    return [{etree.QName(child).localname: [c.text or "" for c in item
                                             if etree.QName(c).localname
                                             == etree.QName(child).localname]
             for child in item}
            for item in root.iter(f"{{{OVF}}}Item")]


def test_the_virtual_hardware() -> None:
    rendered = items(renderOVF(COMPUTES["disks and interfaces"]))
    byType: dict[str, list[dict[str, list[str]]]] = {}
    for item in rendered:
        byType.setdefault(item["ResourceType"][0], []).append(item)
    assert [i["VirtualQuantity"] for i in byType["3"]] == [["4"]]
    assert [(i["VirtualQuantity"], i["AllocationUnits"]) for i in byType["4"]] == [
        (["8192"], ["byte * 2^20"])]
    [controller] = byType["6"]
    assert [(i["HostResource"], i["Parent"], i["AddressOnParent"]) for i in byType["17"]] == [
        (["ovf:/disk/root"], controller["InstanceID"], ["0"]),
        (["ovf:/disk/data"], controller["InstanceID"], ["1"]),
        (["ovf:/disk/scratch"], controller["InstanceID"], ["2"]),
    ]
    assert [(i["ElementName"], i.get("Connection"), i.get("Address")) for i in byType["10"]] == [
        (["eth0"], ["public"], ["52:54:00:12:34:56"]), (["eth1"], ["private"], None),
        (["eth2"], None, None)]
    ids = [item["InstanceID"][0] for item in rendered]
    assert len(set(ids)) == len(ids)


def test_fifteen_disks_to_a_controller_and_unit_7_left_free() -> None:
    rendered = items(renderOVF(COMPUTES["two disk controllers"]))
    controllers = [item["InstanceID"][0] for item in rendered if item["ResourceType"] == ["6"]]
    disks = [(item["Parent"][0], item["AddressOnParent"][0]) for item in rendered
             if item["ResourceType"] == ["17"]]
    assert len(controllers) == 2
    assert [unit for parent, unit in disks if parent == controllers[0]] == [
        str(unit) for unit in range(16) if unit != 7]
    assert [unit for parent, unit in disks if parent == controllers[1]] == [
        "0", "1", "2", "3", "4"]


def test_a_packed_disk_has_a_file_reference_and_the_raw_format() -> None:
    root = etree.fromstring(renderOVF(COMPUTES["file references (an OVA)"]), _PARSER)
    files = {f.get(f"{{{OVF}}}id"): (f.get(f"{{{OVF}}}href"), f.get(f"{{{OVF}}}size"))
             for f in root.iter(f"{{{OVF}}}File")}
    disks = {d.get(f"{{{OVF}}}diskId"): d for d in root.iter(f"{{{OVF}}}Disk")}
    assert files[disks["d0"].get(f"{{{OVF}}}fileRef")] == ("d0.img", "123456789")
    assert files[disks["d1"].get(f"{{{OVF}}}fileRef")] == ("d1.img", None)
    assert disks["d0"].get(f"{{{OVF}}}format") == RAW_FORMAT
    assert disks["d0"].get(f"{{{OVF}}}capacity") == str(10 << 30)
    assert disks["blank"].get(f"{{{OVF}}}fileRef") is None
    assert disks["blank"].get(f"{{{OVF}}}format") is None
    assert len(files) == 2


def test_characters_xml_cannot_hold_are_replaced_not_written() -> None:
    envelope = renderOVF(OvfSystem("vm\x01", "a\x00b", 1, 1, description="\x1b[0m"))
    assert schemaErrors(envelope) == []
    system = parseOVF(envelope)
    assert (system.id, system.name, system.description) == ("vm\ufffd", "a\ufffdb", "\ufffd[0m")


# -- reading what we write ------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(COMPUTES))
def test_what_we_write_reads_back_as_it_was(name: str) -> None:
    assert parseOVF(renderOVF(COMPUTES[name])) == COMPUTES[name]


#: Text XML holds (any character but those XML 1.0 forbids), and optional text: absent or not
#: empty (an empty optional string is written as absent).
_TEXT = st.text(st.characters(blacklist_categories=("Cs",),
                              blacklist_characters="\x00\x01\x02\x03\x04\x05\x06\x07\x08\x0b"
                                                   "\x0c\x0e\x0f\x10\x11\x12\x13\x14\x15\x16"
                                                   "\x17\x18\x19\x1a\x1b\x1c\x1d\x1e\x1f"
                                                   "\ufffe\uffff"), max_size=30)
_OPTIONAL = st.none() | _TEXT.filter(bool)
_NAME = _TEXT.filter(bool)
_FILE = _NAME.filter(lambda name: "/" not in name and "\\" not in name
                     and name not in (".", ".."))
_COUNT = st.integers(1, (1 << 63) - 1)
_SIZE = st.integers(0, (1 << 63) - 1)


@st.composite
def disks(draw: st.DrawFn) -> tuple[OvfDisk, ...]:
    ids = draw(st.lists(_NAME, unique=True, max_size=18))
    found = []
    for diskId in ids:
        fileName = draw(st.none() | _FILE)
        packed = fileName is not None
        found.append(OvfDisk(
            diskId, draw(_SIZE), fileName, draw(st.none() | _SIZE) if packed else None,
            draw(_OPTIONAL), draw(st.none() | st.just(VMDK)) if packed else None))
    return tuple(found)


SYSTEMS = st.builds(
    OvfSystem, id=_NAME, name=_TEXT, cores=_COUNT, memoryMiB=st.integers(1, (1 << 43) - 1),
    architecture=_OPTIONAL, hostname=_OPTIONAL, disks=disks(),
    nics=st.lists(st.builds(OvfNic, _TEXT, _TEXT, _OPTIONAL), max_size=4).map(tuple),
    networks=st.lists(st.builds(OvfNetwork, _NAME, _OPTIONAL), max_size=4,
                      unique_by=lambda network: network.name).map(tuple),
    description=_OPTIONAL,
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(SYSTEMS)
def test_any_compute_reads_back_as_it_was(system: OvfSystem) -> None:
    assert parseOVF(renderOVF(system)) == system


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(SYSTEMS)
def test_any_compute_is_valid_against_the_dmtf_schema(system: OvfSystem) -> None:
    assert schemaErrors(renderOVF(system)) == []


# -- reading what others write --------------------------------------------------------------


def test_a_vmware_export() -> None:
    system = parseOVF((ARTEFACTS / "cot-vmware.ovf").read_bytes())
    assert system == OvfSystem(
        "vmw", "vmw", 2, 1536, "x64", None,
        disks=(OvfDisk("vmdisk1", 1 << 30, "input.vmdk", 152576, "Hard disk 1", VMDK),),
        nics=tuple(OvfNic(f"Network adapter {n}", "lanethernet0") for n in (1, 2, 3, 4)),
        networks=(OvfNetwork("lanethernet0", "The lanethernet0 network"),),
    )


def test_a_virtualbox_ovf_2_export() -> None:
    """OVF 2.0: StorageItem and EthernetPortItem (in namespaces VirtualBox misspells), memory
    in MegaBytes, the disk named "/disk/..." without "ovf:", a CD drive left out."""
    system = parseOVF((ARTEFACTS / "cot-ubuntu.2.0.ovf").read_bytes())
    assert system == OvfSystem(
        "ubuntu", "ubuntu", 1, 512, "x64", None,
        disks=(OvfDisk("vmdisk1", 8 << 30, "ubuntu.2.0-disk1.vmdk", None, "disk1", VMDK),),
        nics=(OvfNic("Ethernet adapter on 'NAT'", "NAT"),),
        networks=(OvfNetwork("NAT", "Logical network used by this appliance."),),
    )


def test_an_appliance_with_deployment_options_reads_its_default_option() -> None:
    system = parseOVF((ARTEFACTS / "cot-csr1000v.ovf").read_bytes())
    assert (system.id, system.name) == ("com.cisco.csr1000v",
                                        "Cisco CSR 1000V Cloud Services Router")
    assert (system.cores, system.memoryMiB) == (1, 4096)
    assert [(disk.diskId, disk.capacity, disk.fileName) for disk in system.disks] == [
        ("vmdisk1", 1 << 30, "input.vmdk")]
    assert [(nic.name, nic.network) for nic in system.nics] == [
        (f"GigabitEthernet{n}", f"GigabitEthernet{n}") for n in (1, 2, 3)]


def test_a_non_default_deployment_option_overrides_the_common_items() -> None:
    envelope = (ARTEFACTS / "cot-csr1000v.ovf").read_bytes()
    envelope = envelope.replace(b'ovf:default="true" ', b"").replace(
        b'<ovf:Configuration ovf:id="4CPU-8GB">', b'<ovf:Configuration ovf:default="true" '
                                                  b'ovf:id="4CPU-8GB">')
    system = parseOVF(envelope)
    assert (system.cores, system.memoryMiB) == (4, 8192)


def envelope(hardware: str = "", disks: str = "", files: str = "", namespace: str = OVF,
             system: str = "") -> bytes:
    """An envelope as other tools write them, with the given parts."""
    return f"""<?xml version="1.0"?>
<Envelope xmlns="{namespace}" xmlns:ovf="{namespace}" xmlns:rasd="{RASD}">
  <References>{files}</References>
  <DiskSection><Info>disks</Info>{disks}</DiskSection>
  <VirtualSystem ovf:id="x"><Info>a system</Info>{system}
    <VirtualHardwareSection><Info>hardware</Info>{hardware}</VirtualHardwareSection>
  </VirtualSystem>
</Envelope>""".encode()


def item(resourceType: int, **fields: str) -> str:
    inner = "".join(f"<rasd:{name}>{value}</rasd:{name}>" for name, value in fields.items())
    return f"<Item>{inner}<rasd:ResourceType>{resourceType}</rasd:ResourceType></Item>"


CPU = item(3, VirtualQuantity="2")


@pytest.mark.parametrize(("units", "quantity", "mib"), [
    ("byte * 2^20", "2048", 2048), ("MegaBytes", "512", 512), ("GigaBytes", "4", 4096),
    ("byte * 2^30", "2", 2048), ("byte*2^10", "1048576", 1024), ("byte", "1073741824", 1024),
    ("byte * 10^6", "1000", 954),  # 10^9 bytes: 953.67 MiB, rounded up
])
def test_memory_in_any_byte_unit(units: str, quantity: str, mib: int) -> None:
    hardware = CPU + item(4, AllocationUnits=units, VirtualQuantity=quantity)
    assert parseOVF(envelope(hardware)).memoryMiB == mib


@pytest.mark.parametrize(("units", "capacity"), [
    (None, 1 << 30), ("byte", 1 << 30), ("byte * 2^30", 1 << 60), ("GigaBytes", 1 << 60),
])
def test_disk_capacity_in_its_allocation_units(units: str | None, capacity: int) -> None:
    attribute = "" if units is None else f' ovf:capacityAllocationUnits="{units}"'
    disks = f'<Disk ovf:diskId="d" ovf:capacity="{1 << 30}"{attribute}/>'
    hardware = CPU + item(4, VirtualQuantity="1") + item(17, HostResource="ovf:/disk/d")
    assert parseOVF(envelope(hardware, disks)).disks == (OvfDisk("d", capacity),)


def test_ovf_2_namespace() -> None:
    hardware = CPU + item(4, VirtualQuantity="64")
    system = parseOVF(envelope(hardware, namespace="http://schemas.dmtf.org/ovf/envelope/2"))
    assert (system.cores, system.memoryMiB) == (2, 64)


def test_the_name_falls_back_to_the_system_identifier_then_the_id() -> None:
    hardware = CPU + item(4, VirtualQuantity="64")
    assert parseOVF(envelope(hardware)).name == "x"
    vssd = ('<System xmlns:vssd="http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/'
            'CIM_VirtualSystemSettingData"><vssd:ElementName>f</vssd:ElementName>'
            '<vssd:InstanceID>0</vssd:InstanceID>'
            '<vssd:VirtualSystemIdentifier>named</vssd:VirtualSystemIdentifier></System>')
    assert parseOVF(envelope(vssd + hardware)).name == "named"


# -- refusals -------------------------------------------------------------------------------

MEMORY = item(4, VirtualQuantity="64")
DISK_D = '<Disk ovf:diskId="d" ovf:capacity="1" ovf:fileRef="f"/>'
USES_D = item(17, HostResource="ovf:/disk/d")

REFUSED = {
    "empty": (b"", "empty"),
    "not XML": (b"\x00\x01 not xml", "not well-formed"),
    "not UTF-8": (b"<Envelope>\xff</Envelope>", "UTF-8"),
    "another root": (b"<html/>", "not an OVF"),
    "OVF 0.9": (envelope(CPU + MEMORY, namespace="http://www.vmware.com/schema/ovf/1/envelope"),
                "not an OVF"),
    "no hardware": (envelope().replace(b"<VirtualHardwareSection><Info>hardware</Info>"
                                       b"</VirtualHardwareSection>", b""), "no virtual hard"),
    "no processor": (envelope(MEMORY), "no processor"),
    "no memory": (envelope(CPU), "no memory"),
    "no cores": (envelope(item(3, VirtualQuantity="0") + MEMORY), "no processor"),
    "two processors": (envelope(CPU + CPU + MEMORY), "more than one processor"),
    "memory not a number": (envelope(CPU + item(4, VirtualQuantity="lots")), "whole number"),
    "memory too large": (envelope(CPU + item(4, VirtualQuantity=str(1 << 62),
                                             AllocationUnits="GigaBytes")), "larger"),
    "a unit we do not know": (envelope(CPU + item(4, VirtualQuantity="1",
                                                  AllocationUnits="furlongs")), "unit"),
    "a capacity from a property": (envelope(CPU + MEMORY, '<Disk ovf:diskId="d" '
                                            'ovf:capacity="${size}"/>'), "whole number"),
    "a file References do not list": (envelope(CPU + MEMORY + USES_D, DISK_D), "References"),
    "a disk DiskSection does not list": (envelope(CPU + MEMORY + USES_D), "DiskSection"),
    "a disk attached twice": (envelope(CPU + MEMORY + USES_D + USES_D,
                                       '<Disk ovf:diskId="d" ovf:capacity="1"/>'), "twice"),
    "a disk listed twice": (envelope(CPU + MEMORY, '<Disk ovf:diskId="d" ovf:capacity="1"/>'
                                     * 2), "twice"),
    "a path for a file": (envelope(CPU + MEMORY, DISK_D,
                                   '<File ovf:id="f" ovf:href="../../etc/passwd"/>'),
                          "not a name beside"),
    "a URL for a file": (envelope(CPU + MEMORY, DISK_D,
                                  '<File ovf:id="f" ovf:href="http://example.com/d.img"/>'),
                         "not a name beside"),
    "a compressed file": (envelope(CPU + MEMORY, DISK_D, '<File ovf:id="f" ovf:href="d.gz" '
                                   'ovf:compression="gzip"/>'), "compressed"),
    "no system id": (envelope(CPU + MEMORY).replace(b' ovf:id="x"', b""), "id"),
    "a collection": (envelope(CPU + MEMORY).replace(b"VirtualSystem ", b"VirtualSystemCollection ")
                     .replace(b"</VirtualSystem>", b"</VirtualSystemCollection>"), "collection"),
    "two systems": (envelope(CPU + MEMORY).replace(
        b"</Envelope>", b'<VirtualSystem ovf:id="y"><Info/></VirtualSystem></Envelope>'),
        "exactly one"),
    "an entity declaration (billion laughs)": (
        b'<?xml version="1.0"?><!DOCTYPE Envelope [<!ENTITY a "aaaaaaaaaa">'
        b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]><Envelope>&b;</Envelope>',
        "document type"),
    "an external entity": (
        b'<?xml version="1.0"?><!DOCTYPE Envelope [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        b"<Envelope>&x;</Envelope>", "document type"),
    "an undeclared entity": (b"<Envelope>&x;</Envelope>", "not well-formed"),
    "another encoding": (b'<?xml version="1.0" encoding="latin-1"?><Envelope/>', "encoding"),
    "nested too deep": (b"<a>" * 40 + b"</a>" * 40, "deep"),
    "too large": (b" " * (MAX_ENVELOPE + 1), "larger than"),
}


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_refused_with_one_sentence(name: str) -> None:
    body, words = REFUSED[name]
    with pytest.raises(BadRequest) as refused:
        parseOVF(body)
    message = str(refused.value)
    assert words in message and "\n" not in message, message


def test_every_envelope_in_the_refusals_is_otherwise_readable() -> None:
    """The refusals above are about what they name: the same envelope without it reads."""
    assert parseOVF(envelope(CPU + MEMORY)).cores == 2
    readable = parseOVF(envelope(CPU + MEMORY + USES_D, DISK_D,
                                 '<File ovf:id="f" ovf:href="d.img"/>'))
    assert readable.disks == (OvfDisk("d", 1, "d.img"),)


def test_too_many_items() -> None:
    with pytest.raises(BadRequest, match="more than"):
        parseOVF(envelope(CPU + MEMORY + item(35) * 10_001))


# -- anything at all ------------------------------------------------------------------------


def refusedOrRead(body: bytes) -> None:
    try:
        system = parseOVF(body)
    except BadRequest as refused:
        assert "\n" not in str(refused)
    else:
        assert isinstance(system, OvfSystem)


@settings(max_examples=500, deadline=None)
@given(st.binary(max_size=400))
def test_any_bytes_read_or_refused(body: bytes) -> None:
    refusedOrRead(body)


SAMPLES = [renderOVF(COMPUTES["disks and interfaces"]),
           (ARTEFACTS / "cot-ubuntu.2.0.ovf").read_bytes()]
_MARKUP = b'<>/="&; :*^x0123456789\n'


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(SAMPLES).flatmap(lambda sample: damages(sample, _MARKUP)))
def test_damaged_envelopes_read_or_refused(body: bytes) -> None:
    refusedOrRead(body)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_envelopes_with_any_values_read_or_refused(data: st.DataObject) -> None:
    """Each value (attribute or text) of an envelope replaced by anything at all."""
    sample = data.draw(st.sampled_from(SAMPLES)).decode()
    values = list(re.finditer(r'"[^"<>]*"|>[^<>]+<', sample))
    chosen = data.draw(st.lists(st.sampled_from(values), min_size=1, max_size=4,
                                unique_by=lambda match: match.start()))
    for match in sorted(chosen, key=lambda m: m.start(), reverse=True):
        start, end = match.span()
        value = data.draw(st.text(max_size=12).map(
            lambda t: t.replace("&", "&amp;").replace("<", "&lt;").replace('"', "&quot;")))
        sample = sample[:start + 1] + value + sample[end - 1:]
    refusedOrRead(sample.encode("utf-8", "surrogatepass"))
