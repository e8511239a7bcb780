"""The OCCI Infrastructure extension (GFD.224), the storage operations of OCCI 1.1 that the
walkthrough needs, our own secure erase, and the templates the server offers.
"""

from __future__ import annotations

from .attributes import AttributeDefinition as Attr
from .attributes import AttributeType as T
from .categories import Action, Kind, Mixin
from .core import LINK, RESOURCE

INFRA = "http://schemas.ogf.org/occi/infrastructure#"
COMPUTE_ACTIONS = "http://schemas.ogf.org/occi/infrastructure/compute/action#"
NETWORK_ACTIONS = "http://schemas.ogf.org/occi/infrastructure/network/action#"
STORAGE_ACTIONS = "http://schemas.ogf.org/occi/infrastructure/storage/action#"
#: The scheme of the categories this server adds to the standard ones.
OWN = "http://schemas.occi-twisted.org/occi/infrastructure#"
OWN_STORAGE_ACTIONS = "http://schemas.occi-twisted.org/occi/infrastructure/storage/action#"
OWN_COMPUTE_ACTIONS = "http://schemas.occi-twisted.org/occi/infrastructure/compute/action#"
OWN_NETWORK_ACTIONS = "http://schemas.occi-twisted.org/occi/infrastructure/network/action#"
RESOURCE_TEMPLATES = "http://schemas.occi-twisted.org/occi/infrastructure/resource_tpl#"
OS_TEMPLATES = "http://schemas.occi-twisted.org/occi/infrastructure/os_tpl#"


def _state(prefix: str, *states: str, default: str) -> tuple[Attr, Attr]:
    return (
        Attr(f"{prefix}.state", T.ENUM, mutable=False, required=True, enum=states,
             default=default, description="The current state of the instance"),
        Attr(f"{prefix}.state.message", T.STRING, mutable=False,
             description="Human-readable explanation of the current state"),
    )


def _method(*methods: str, default: str) -> Attr:
    return Attr("method", T.ENUM, enum=methods, default=default,
                description="How the action is carried out")


def _migrate(scheme: str, what: str) -> Action:
    """The walkthrough's migration: the resource moves to another OCCI endpoint, keeping its
    ``occi.core.id``, and its location here answers 301 from then on."""
    return Action(scheme, "migrate", title=f"Move the {what} to another OCCI endpoint",
                  attributes=(Attr("target", T.STRING, required=True,
                                   description="The endpoint's URL, one of the server's "
                                               "peers (--peer)"),))


# -- compute -------------------------------------------------------------------------------

START = Action(COMPUTE_ACTIONS, "start", title="Start the compute instance")
STOP = Action(COMPUTE_ACTIONS, "stop", title="Stop the compute instance",
              attributes=(_method("graceful", "acpioff", "poweroff", default="graceful"),))
RESTART = Action(COMPUTE_ACTIONS, "restart", title="Restart the compute instance",
                 attributes=(_method("graceful", "warm", "cold", default="graceful"),))
SUSPEND = Action(COMPUTE_ACTIONS, "suspend", title="Suspend the compute instance",
                 attributes=(_method("hibernate", "suspend", default="suspend"),))
SAVE = Action(COMPUTE_ACTIONS, "save", title="Save the compute instance's disks",
              attributes=(_method("hot", "deferred", default="hot"),
                          Attr("name", T.STRING, description="Name of the saved image")))

MIGRATE_COMPUTE = _migrate(OWN_COMPUTE_ACTIONS, "compute, its storages and links")

COMPUTE = Kind(
    INFRA,
    "compute",
    title="Compute Resource",
    parent=RESOURCE,
    location="/compute/",
    actions=(START, STOP, RESTART, SUSPEND, SAVE, MIGRATE_COMPUTE),
    attributes=(
        # GFD.224 lists x86 and x64; clients (and the pOCCI compliance tests) name others,
        # so any architecture token is accepted.
        Attr("occi.compute.architecture", T.STRING, pattern=r"[A-Za-z0-9_.-]{1,32}",
             description="CPU architecture of the instance (x86, x64, ...)"),
        Attr("occi.compute.cores", T.INTEGER, minimum=1, maximum=4096,
             description="Number of virtual CPU cores assigned to the instance"),
        Attr("occi.compute.hostname", T.STRING,
             pattern=r"[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?",
             description="Fully Qualified DNS hostname for the instance"),
        Attr("occi.compute.share", T.INTEGER, minimum=0,
             description="Relative number of CPU shares for the instance"),
        Attr("occi.compute.speed", T.FLOAT, minimum=0,
             description="CPU clock frequency (speed) in gigahertz"),
        Attr("occi.compute.memory", T.FLOAT, minimum=0, maximum=1 << 20,
             description="Maximum RAM in gigabytes allocated to the instance"),
        *_state("occi.compute", "active", "inactive", "suspended", "error",
                default="inactive"),
    ),
)

# -- network -------------------------------------------------------------------------------

UP = Action(NETWORK_ACTIONS, "up", title="Bring the network up")
DOWN = Action(NETWORK_ACTIONS, "down", title="Take the network down")
MIGRATE_NETWORK = _migrate(OWN_NETWORK_ACTIONS, "network")

NETWORK = Kind(
    INFRA,
    "network",
    title="Network Resource",
    parent=RESOURCE,
    location="/network/",
    actions=(UP, DOWN, MIGRATE_NETWORK),
    attributes=(
        Attr("occi.network.vlan", T.INTEGER, minimum=0, maximum=4095,
             description="802.1q VLAN identifier"),
        Attr("occi.network.label", T.STRING, pattern=r"[A-Za-z0-9._~-]{1,128}",
             description="Tag based VLANs"),
        *_state("occi.network", "active", "inactive", "error", default="inactive"),
    ),
)

IPNETWORK = Mixin(
    "http://schemas.ogf.org/occi/infrastructure/network#",
    "ipnetwork",
    title="IP Networking Mixin",
    applies=(NETWORK,),
    location="/ipnetwork/",
    attributes=(
        Attr("occi.network.address", T.CIDR, description="Internet Protocol (IP) network address"),
        Attr("occi.network.gateway", T.IP, description="Internet Protocol (IP) network gateway"),
        Attr("occi.network.allocation", T.ENUM, enum=("dynamic", "static"),
             description="Address allocation mechanism"),
    ),
)

# -- storage -------------------------------------------------------------------------------

ONLINE = Action(STORAGE_ACTIONS, "online", title="Bring the storage online")
OFFLINE = Action(STORAGE_ACTIONS, "offline", title="Take the storage offline")
BACKUP = Action(STORAGE_ACTIONS, "backup", title="Back the storage up")
SNAPSHOT = Action(STORAGE_ACTIONS, "snapshot", title="Take a snapshot of the storage")
RESIZE = Action(STORAGE_ACTIONS, "resize", title="Resize the storage",
                attributes=(Attr("size", T.FLOAT, required=True, minimum=0,
                                 description="The new size in gigabytes"),))
SECURE_ERASE = Action(
    OWN_STORAGE_ACTIONS,
    "secure_erase",
    title="Overwrite every byte of the storage, pass after pass",
    attributes=(
        Attr("passes", T.INTEGER, minimum=1, maximum=35, default=3,
             description="How many times every byte is overwritten"),
        Attr("pattern", T.ENUM, enum=("zeros", "ones", "random", "dod3"), default="dod3",
             description="What each pass writes; dod3 is zeros, ones, then random"),
    ),
)

RESTORE = Action(
    OWN_STORAGE_ACTIONS,
    "restore",
    title="Put a backup's bytes back on the storage",
    attributes=(
        Attr("backup", T.STRING, pattern=r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}",
             description="The backup to restore (as the backup listed it); the newest if "
                         "not given"),
    ),
)

MIGRATE_STORAGE = _migrate(OWN_STORAGE_ACTIONS, "storage and its image")
#: The actions that move a resource to a peer (:mod:`occi_twisted.migration`).
MIGRATIONS = frozenset(a.identifier for a in (MIGRATE_COMPUTE, MIGRATE_NETWORK, MIGRATE_STORAGE))

STORAGE = Kind(
    INFRA,
    "storage",
    title="Storage Resource",
    parent=RESOURCE,
    location="/storage/",
    actions=(ONLINE, OFFLINE, BACKUP, SNAPSHOT, RESIZE, SECURE_ERASE, RESTORE,
             MIGRATE_STORAGE),
    attributes=(
        Attr("occi.storage.size", T.FLOAT, required=True, minimum=0, maximum=1 << 20,
             description="Storage size of the instance in gigabytes"),
        *_state("occi.storage", "online", "offline", "error", default="offline"),
    ),
)

# -- links ---------------------------------------------------------------------------------

NETWORKINTERFACE = Kind(
    INFRA,
    "networkinterface",
    title="NetworkInterface Link",
    parent=LINK,
    location="/networkinterface/",
    attributes=(
        Attr("occi.networkinterface.interface", T.STRING, mutable=False,
             description="Identifier that relates the link to the link's device interface"),
        Attr("occi.networkinterface.mac", T.STRING,
             pattern=r"([0-9a-fA-F]{2}:){5}[0-9a-fA-F]{2}",
             description="MAC address associated with the link's device interface"),
        *_state("occi.networkinterface", "active", "inactive", "error", default="inactive"),
    ),
)

IPNETWORKINTERFACE = Mixin(
    "http://schemas.ogf.org/occi/infrastructure/networkinterface#",
    "ipnetworkinterface",
    title="IP Network Interface Mixin",
    applies=(NETWORKINTERFACE,),
    location="/ipnetworkinterface/",
    attributes=(
        Attr("occi.networkinterface.address", T.IP,
             description="Internet Protocol (IP) network address of the link"),
        Attr("occi.networkinterface.gateway", T.IP,
             description="Internet Protocol (IP) network gateway"),
        Attr("occi.networkinterface.allocation", T.ENUM, enum=("dynamic", "static"),
             description="Address allocation mechanism"),
    ),
)

STORAGELINK = Kind(
    INFRA,
    "storagelink",
    title="StorageLink Link",
    parent=LINK,
    location="/storagelink/",
    attributes=(
        Attr("occi.storagelink.deviceid", T.STRING, required=True,
             description="Device identifier as defined by the OCCI service provider"),
        Attr("occi.storagelink.mountpoint", T.STRING,
             description="Point to where the storage is mounted in the guest OS"),
        *_state("occi.storagelink", "active", "inactive", "error", default="inactive"),
    ),
)

# -- templates and contextualisation -------------------------------------------------------

OS_TPL = Mixin(INFRA, "os_tpl", title="OS Template", applies=(COMPUTE,), location="/os_tpl/")
RESOURCE_TPL = Mixin(INFRA, "resource_tpl", title="Resource Template", applies=(COMPUTE,),
                     location="/resource_tpl/")

USER_DATA = Mixin(
    "http://schemas.ogf.org/occi/infrastructure/compute#",
    "user_data",
    title="Contextualization: user data",
    applies=(COMPUTE,),
    location="/user_data/",
    attributes=(Attr("occi.compute.userdata", T.STRING,
                     description="Contextualization data (e.g. script, executable) for the "
                                 "client, base64 encoded"),),
)

SSH_KEY = Mixin(
    "http://schemas.ogf.org/occi/infrastructure/credentials#",
    "ssh_key",
    title="Credentials: SSH public key",
    applies=(COMPUTE,),
    location="/ssh_key/",
    attributes=(Attr("occi.credentials.ssh.publickey", T.STRING,
                     description="The contents of the public key file to be injected"),),
)

BACKUP_POLICY = Mixin(
    OWN,
    "backup_policy",
    title="Back this storage up in every daily window",
    applies=(STORAGE,),
    location="/backup_policy/",
    attributes=(Attr("occi-twisted.backup.keep", T.INTEGER, minimum=1, maximum=365, default=7,
                     description="How many backups to keep"),),
)


def _resourceTemplate(term: str, title: str, cores: int, memory: float) -> Mixin:
    return Mixin(
        RESOURCE_TEMPLATES,
        term,
        title=title,
        depends=(RESOURCE_TPL,),
        applies=(COMPUTE,),
        location=f"/resource_tpl/{term}/",
        attributes=(
            Attr("occi.compute.cores", T.INTEGER, minimum=1, maximum=4096, default=cores,
                 description="Number of virtual CPU cores assigned to the instance"),
            Attr("occi.compute.memory", T.FLOAT, minimum=0, maximum=1 << 20, default=memory,
                 description="Maximum RAM in gigabytes allocated to the instance"),
        ),
    )


def osTemplate(term: str, title: str, architecture: str) -> Mixin:
    return Mixin(
        OS_TEMPLATES,
        term,
        title=title,
        depends=(OS_TPL,),
        applies=(COMPUTE,),
        location=f"/os_tpl/{term}/",
        attributes=(
            Attr("occi.compute.architecture", T.STRING, pattern=r"[A-Za-z0-9_.-]{1,32}",
                 default=architecture, description="CPU architecture of the instance"),
        ),
    )


SMALL = _resourceTemplate("small", "Small instance: 1 core, 1 GiB", 1, 1.0)
MEDIUM = _resourceTemplate("medium", "Medium instance: 2 cores, 4 GiB", 2, 4.0)
LARGE = _resourceTemplate("large", "Large instance: 4 cores, 16 GiB", 4, 16.0)
XLARGE = _resourceTemplate("xlarge", "Extra large instance: 8 cores, 32 GiB", 8, 32.0)

DEBIAN = osTemplate("debian-12", "Debian GNU/Linux 12", "x64")
UBUNTU = osTemplate("ubuntu-24.04", "Ubuntu 24.04 LTS", "x64")
ALPINE = osTemplate("alpine-3.20", "Alpine Linux 3.20", "x64")

KINDS = (COMPUTE, NETWORK, STORAGE, NETWORKINTERFACE, STORAGELINK)
MIXINS = (IPNETWORK, IPNETWORKINTERFACE, OS_TPL, RESOURCE_TPL, USER_DATA, SSH_KEY,
          BACKUP_POLICY, SMALL, MEDIUM, LARGE, XLARGE, DEBIAN, UBUNTU, ALPINE)
