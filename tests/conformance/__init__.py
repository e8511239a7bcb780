"""Conformance to the standards, checked with validators nobody here wrote: GFD.225's JSON
Schema, rOCCI-core's, GFD.229's ABNF, RFC 4287's RELAX NG schema (see data/README.md)."""
