"""Files as representations: a storage's image, a compute's OVF envelope and OVA archive.

A large representation is never rendered into memory: it is a :class:`.body.Body` (a row of
parts -- file regions, bytes, zeros, bytes made on first need) read in slices off the reactor
thread, handed to clients through signed URLs (:mod:`.signing`) that need no credentials, with
``Range`` served by :mod:`.serve`.  :mod:`.ova` lays a compute's files out as a tar without a
temporary copy, and unpacks one that is sent.
"""
