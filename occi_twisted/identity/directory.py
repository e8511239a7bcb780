"""The current users, read from the htpasswd file and the config, and read again on SIGHUP."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path

from twisted.logger import Logger

from .principal import Principal
from .users import User, UsersError, dummyHash, readUsers

log = Logger()


class _Generation:
    """One reading of the files, replaced whole by a reload: a request that looked up a
    user never sees half of the old users and half of the new."""

    def __init__(self, users: Mapping[str, User]) -> None:
        self.users = users
        self.byJID = {user.principal.jid: user.principal for user in users.values()
                      if user.principal.jid is not None}
        self.dummyHash = dummyHash(user.hash for user in users.values())


class UserDirectory:
    """Who may log in and as whom.  Built from the files at start-up, where a mistake is a
    :class:`UsersError` (the one line the launcher prints); reloaded from them later,
    where a mistake is logged and the users already known stay, because a typo in the
    config must not lock everyone out of a running server."""

    def __init__(self, usersFile: Path, configFile: Path | None = None) -> None:
        self.usersFile = usersFile
        self.configFile = configFile
        self._current = _Generation(readUsers(usersFile, configFile))
        self._watchers: list[Callable[[frozenset[str]], object]] = []

    @property
    def names(self) -> frozenset[str]:
        return frozenset(self._current.users)

    @property
    def dummyHash(self) -> bytes:
        """What unknown names are checked against (see :func:`.users.dummyHash`)."""
        return self._current.dummyHash

    def hashOf(self, name: str) -> bytes | None:
        user = self._current.users.get(name)
        return user.hash if user is not None else None

    def principalOf(self, name: str) -> Principal | None:
        user = self._current.users.get(name)
        return user.principal if user is not None else None

    def principalOfJID(self, jid: str) -> Principal | None:
        """The user an XMPP subscriber's bare JID belongs to (``[users.NAME] jid``)."""
        return self._current.byJID.get(jid.lower())

    def whenChanged(self, watcher: Callable[[frozenset[str]], object]) -> None:
        """Call ``watcher`` after each reload with the names whose password changed or
        who are gone, so that what was remembered about them (verified passwords) goes."""
        self._watchers.append(watcher)

    def reload(self) -> bool:
        """Read both files again.  True when the new users are in place; False when a file
        could not be used, which is logged, and the users stay as they were."""
        try:
            users = readUsers(self.usersFile, self.configFile)
        except UsersError as error:
            log.error("The users were not reloaded, the {count} known stay: {error}",
                      count=len(self._current.users), error=str(error))
            return False
        old = self._current.users
        changed = frozenset(name for name, user in old.items()
                            if name not in users or users[name].hash != user.hash)
        self._current = _Generation(users)
        log.info("Reloaded {count} users", count=len(users))
        for watcher in self._watchers:
            watcher(changed)
        return True
