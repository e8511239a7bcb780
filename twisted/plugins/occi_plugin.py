"""The ``twistd occi`` dropin: names the module that does the work, nothing more."""

from twisted.application.service import ServiceMaker

occi = ServiceMaker(
    "occi-twisted",
    "occi_twisted.tap",
    "An OCCI 1.2 server: compute, network and storage over HTTP",
    "occi",
)
