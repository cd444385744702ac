"""The host site's hours: ``[hours]`` in the config (:mod:`locker.hours.config`); the
schedule itself is :mod:`locker.domain.hours`."""
